// Softmax and log-softmax along one dimension of a contiguous tensor, forward and backward.
// The tensor is viewed as [outer, size, inner] around that dimension: each of the outer * inner
// rows has `size` elements, `inner` floats apart (1 for the last dimension), and is normalized
// on its own. Both are taken around the row's maximum m, so no exponential overflows:
//   softmax(x)_k     = exp(x_k - m) / sum_j exp(x_j - m)
//   log_softmax(x)_k = x_k - m - log(sum_j exp(x_j - m))
// (a row holding +inf gives NaN, as in PyTorch). log_softmax is its own kernel rather than
// log(softmax(x)): a probability that rounds to 0 would give -inf where x_k - m - log(...) is
// finite.
//
// Reference: tests/reference/softmax.cpp, the double-precision loop written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

namespace cpu {
// y = softmax(x), or log_softmax(x) when `log`, along the middle dimension of [outer, size, inner].
void softmax_forward(int64_t outer, int64_t size, int64_t inner, bool log, const float* x,
                     float* y);
// From the forward output y (so x can be freed), per row:
//   softmax:     dx_k = y_k (dy_k - sum_j dy_j y_j)
//   log_softmax: dx_k = dy_k - exp(y_k) sum_j dy_j
void softmax_backward(int64_t outer, int64_t size, int64_t inner, bool log, const float* y,
                      const float* dy, float* dx);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void softmax_forward(int64_t outer, int64_t size, int64_t inner, bool log, const float* x,
                     float* y);
void softmax_backward(int64_t outer, int64_t size, int64_t inner, bool log, const float* y,
                      const float* dy, float* dx);
}  // namespace cuda

MINIDL_SAME_KERNEL(softmax_forward);
MINIDL_SAME_KERNEL(softmax_backward);

}  // namespace minidl::kernels
