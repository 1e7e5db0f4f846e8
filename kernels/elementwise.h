// Elementwise kernels over n contiguous floats. Outputs may alias inputs (in place is fine).
// The CUDA versions take device pointers and run on the library's stream.
//
// Reference: tests/reference/elementwise.cpp, the double-precision loop written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

// ReLU and its gradient, as PyTorch defines them for NaN: a NaN input stays NaN (x > 0 ? x : 0
// would turn it into 0 and hide it from the loss), and the gradient is blocked only where the
// output is <= 0. Shared by the ReLU kernels and the fused batch norm.
MINIDL_HOST_DEVICE inline float relu_value(float x) { return x <= 0.f ? 0.f : x; }
MINIDL_HOST_DEVICE inline float relu_grad(float y, float dy) { return y <= 0.f ? 0.f : dy; }

namespace cpu {
void fill(int64_t n, float value, float* out);
void add(int64_t n, const float* a, const float* b, float* out);  // a + b
void sub(int64_t n, const float* a, const float* b, float* out);  // a - b
void mul(int64_t n, const float* a, const float* b, float* out);  // a * b
void scale(int64_t n, const float* a, float factor, float* out);  // a * factor
void axpy(int64_t n, float alpha, const float* x, float* y);      // y += alpha * x
// x viewed as [outer, channels, inner]: out = x + bias[c] (the bias broadcast of add()).
void add_channel_bias(int64_t outer, int64_t channels, int64_t inner, const float* x,
                      const float* bias, float* out);
// Gradient of that bias: bias_grad[c] = sum over outer and inner of grad[:, c, :].
void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* grad,
                 float* bias_grad);
void sum(int64_t n, const float* a, float* out);  // out[0] = the sum, accumulated in double
void broadcast(int64_t n, const float* scalar, float* out);  // out[i] = scalar[0]
void relu_forward(int64_t n, const float* x, float* y);      // y = relu_value(x)
// dx = relu_grad(y, dy) from the forward output y (rather than x, so x can be freed).
void relu_backward(int64_t n, const float* y, const float* dy, float* dx);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void fill(int64_t n, float value, float* out);
void add(int64_t n, const float* a, const float* b, float* out);
void sub(int64_t n, const float* a, const float* b, float* out);
void mul(int64_t n, const float* a, const float* b, float* out);
void scale(int64_t n, const float* a, float factor, float* out);
void axpy(int64_t n, float alpha, const float* x, float* y);
void add_channel_bias(int64_t outer, int64_t channels, int64_t inner, const float* x,
                      const float* bias, float* out);
void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* grad,
                 float* bias_grad);
void sum(int64_t n, const float* a, float* out);  // out[0] = sum, in a fixed order
void broadcast(int64_t n, const float* scalar, float* out);
void relu_forward(int64_t n, const float* x, float* y);
void relu_backward(int64_t n, const float* y, const float* dy, float* dx);
}  // namespace cuda

MINIDL_SAME_KERNEL(fill);
MINIDL_SAME_KERNEL(add);
MINIDL_SAME_KERNEL(sub);
MINIDL_SAME_KERNEL(mul);
MINIDL_SAME_KERNEL(scale);
MINIDL_SAME_KERNEL(axpy);
MINIDL_SAME_KERNEL(add_channel_bias);
MINIDL_SAME_KERNEL(channel_sum);
MINIDL_SAME_KERNEL(sum);
MINIDL_SAME_KERNEL(broadcast);
MINIDL_SAME_KERNEL(relu_forward);
MINIDL_SAME_KERNEL(relu_backward);

}  // namespace minidl::kernels
