#include "minidl/ops/scratch.h"

#include "minidl/core/tensor.h"

namespace minidl::ops {

float* scratch(int64_t floats, Device device) {
  if (floats <= 0) return nullptr;
  // Never destroyed, like the allocators: a CUDA buffer freed after main() returns would
  // outlive the CUDA runtime.
  static Tensor* buffers = new Tensor[2];
  Tensor& buffer = buffers[device == Device::CPU ? 0 : 1];
  if (!buffer.defined() || buffer.numel() < floats) {
    buffer = Tensor();  // the smaller block goes back to the allocator before the new one
    buffer = Tensor::empty({floats}, device);
  }
  return buffer.data();
}

}  // namespace minidl::ops
