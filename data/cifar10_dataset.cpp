#include "minidl/data/cifar10_dataset.h"

namespace minidl {

Cifar10Dataset::Cifar10Dataset(const Cifar10& data, const Cifar10Transform& transform)
    : data_(data), transform_(transform) {}

Example Cifar10Dataset::get(int64_t index, Generator& gen) const {
  Example e;
  e.input = Tensor::empty({Cifar10::kChannels, Cifar10::kHeight, Cifar10::kWidth});
  e.label = write(index, gen, e.input.data(), nullptr);
  return e;
}

int Cifar10Dataset::write(int64_t index, Generator& gen, float* input, float*) const {
  if (transform_.augment) {
    augment(data_.image(index), transform_.augment_options, transform_.stats, gen, input);
  } else {
    normalize(data_.image(index), transform_.stats, input);
  }
  return data_.labels[size_t(index)];
}

}  // namespace minidl
