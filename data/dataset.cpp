#include "minidl/data/dataset.h"

#include <algorithm>
#include <utility>

#include "minidl/core/error.h"

namespace minidl {

namespace {
// Row `index` of a [N, ...] CPU tensor, as a tensor of its own.
Tensor row(const Tensor& t, int64_t index) {
  Shape shape(t.shape().begin() + 1, t.shape().end());
  Tensor out = Tensor::empty(shape);
  const int64_t n = out.numel();
  std::copy_n(t.data() + index * n, n, out.data());
  return out;
}

void check_rows(const char* op, const Tensor& inputs, int64_t count, const char* what) {
  MINIDL_CHECK(inputs.defined() && inputs.dim() >= 1, op, "inputs must be [N, ...], got ",
               inputs.shape_str());
  MINIDL_CHECK(inputs.device() == Device::CPU, op, "inputs must be on the CPU, got ",
               device_name(inputs.device()), " (the loader moves batches; see BatchUploader)");
  MINIDL_CHECK(count == inputs.size(0), op, "inputs ", inputs.shape_str(), " hold ", inputs.size(0),
               " examples but there are ", count, " ", what);
}
}  // namespace

int Dataset::write(int64_t index, Generator& gen, float* input, float* target) const {
  const Example e = get(index, gen);
  std::copy_n(e.input.data(), e.input.numel(), input);
  if (e.target.defined()) std::copy_n(e.target.data(), e.target.numel(), target);
  return e.label;
}

TensorDataset::TensorDataset(Tensor inputs, std::vector<int> labels)
    : inputs_(std::move(inputs)), labels_(std::move(labels)) {
  check_rows("TensorDataset", inputs_, int64_t(labels_.size()), "labels");
  for (size_t i = 0; i < labels_.size(); ++i) {
    MINIDL_CHECK(labels_[i] >= 0, "TensorDataset", "label ", labels_[i], " at index ", i,
                 " is negative");
  }
}

TensorDataset::TensorDataset(Tensor inputs, Tensor targets)
    : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  MINIDL_CHECK(targets_.defined() && targets_.dim() >= 1 && targets_.device() == Device::CPU,
               "TensorDataset", "targets must be a [N, ...] CPU tensor, got ",
               targets_.shape_str());
  check_rows("TensorDataset", inputs_, targets_.size(0), "targets");
}

Example TensorDataset::get(int64_t index, Generator&) const {
  Example e;
  e.input = row(inputs_, index);
  if (targets_.defined()) {
    e.target = row(targets_, index);
  } else {
    e.label = labels_[size_t(index)];
  }
  return e;
}

int TensorDataset::write(int64_t index, Generator&, float* input, float* target) const {
  const int64_t n = inputs_.numel() / inputs_.size(0);
  std::copy_n(inputs_.data() + index * n, n, input);
  if (!targets_.defined()) return labels_[size_t(index)];
  const int64_t m = targets_.numel() / targets_.size(0);
  std::copy_n(targets_.data() + index * m, m, target);
  return -1;
}

}  // namespace minidl
