// CIFAR-10 as a Dataset: each example is one image as floats [3, 32, 32], normalized with
// `stats`, and, for training, augmented (random crop, flip and cutout: data/transforms.h),
// with its label. The images stay bytes in the Cifar10 until a batch needs them.
#pragma once

#include "minidl/data/cifar10.h"
#include "minidl/data/dataset.h"
#include "minidl/data/transforms.h"

namespace minidl {

struct Cifar10Transform {
  bool augment = false;  // the training transform (crop, flip, cutout) when true
  AugmentOptions augment_options{};
  ChannelStats stats = cifar10_published_stats();
};

class Cifar10Dataset : public Dataset {
 public:
  // `data` must outlive the dataset (and the loaders that read it).
  explicit Cifar10Dataset(const Cifar10& data, const Cifar10Transform& transform = {});
  int64_t size() const override { return data_.size(); }
  Example get(int64_t index, Generator& gen) const override;
  // Normalizes (and augments) the image's bytes straight into the batch: no tensor per image.
  int write(int64_t index, Generator& gen, float* input, float* target) const override;

 private:
  const Cifar10& data_;
  Cifar10Transform transform_;
};

}  // namespace minidl
