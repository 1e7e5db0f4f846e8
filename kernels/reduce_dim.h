// The sum along one dimension of a contiguous tensor, and its backward, the broadcast back.
// The tensor is viewed as [outer, size, inner] around that dimension: the sum has outer * inner
// elements, [outer, inner], each the sum of `size` floats `inner` apart (1 for the last
// dimension). ops::sum(x, dim) and ops::mean(x, dim) are built on it.
//
// Reference: tests/reference/reduce_dim.cpp, the double-precision loop written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

namespace cpu {
// out[o, i] = sum over k of x[o, k, i]
void sum_dim(int64_t outer, int64_t size, int64_t inner, const float* x, float* out);
// dx[o, k, i] = g[o, i]: each sum's gradient reaches every element it summed.
void broadcast_dim(int64_t outer, int64_t size, int64_t inner, const float* g, float* dx);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void sum_dim(int64_t outer, int64_t size, int64_t inner, const float* x, float* out);
void broadcast_dim(int64_t outer, int64_t size, int64_t inner, const float* g, float* dx);
}  // namespace cuda

MINIDL_SAME_KERNEL(sum_dim);
MINIDL_SAME_KERNEL(broadcast_dim);

}  // namespace minidl::kernels
