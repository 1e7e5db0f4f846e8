// Datasets: anything with a size and a way to get one example, as LibTorch's Dataset. The
// DataLoader (data/loader.h) batches, shuffles, transforms and prefetches any of them.
//
//   TensorDataset      examples already in memory: inputs [N, ...] with N labels, or with
//                      targets [N, ...] (regression)
//   Cifar10Dataset     the CIFAR-10 images, normalized and optionally augmented
//                      (data/cifar10_dataset.h)
//   your own           derive from Dataset and implement size() and get()
#pragma once

#include <cstdint>
#include <vector>

#include "minidl/core/random.h"
#include "minidl/core/tensor.h"

namespace minidl {

// One example, on the CPU. Classification sets `label` (a class index) and leaves `target`
// undefined; anything else (regression, reconstruction) sets `target` and leaves label -1.
// Every example of a dataset has the same input shape, and the same kind and shape of target.
struct Example {
  Tensor input;
  int label = -1;
  Tensor target;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index`, 0 <= index < size(). `gen` is seeded by the loader for this epoch and
  // batch: a random transform that draws from it (and from nothing else) makes a resumed run
  // see exactly the examples the uninterrupted one saw. Called on the loader's worker thread,
  // so it must not change shared state.
  virtual Example get(int64_t index, Generator& gen) const = 0;

  // What the loader calls to fill a batch: example `index`'s input into `input` (as many
  // floats as an input has) and its target, if the dataset has targets, into `target`; returns
  // its label (-1 without labels). This version calls get() and copies; a dataset that can
  // write an example where it goes, without a tensor of its own, overrides it (the simple
  // version beside the fast one: TensorDataset and Cifar10Dataset do).
  virtual int write(int64_t index, Generator& gen, float* input, float* target) const;
};

// Examples held in tensors: example i is row i of `inputs` ([N, ...] on the CPU) with label
// labels[i], or with row i of `targets`. Errors: tensors not on the CPU, or counts that differ.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor inputs, std::vector<int> labels);
  TensorDataset(Tensor inputs, Tensor targets);
  int64_t size() const override { return inputs_.size(0); }
  Example get(int64_t index, Generator& gen) const override;
  int write(int64_t index, Generator& gen, float* input, float* target) const override;

 private:
  Tensor inputs_, targets_;
  std::vector<int> labels_;
};

}  // namespace minidl
