// Batch normalization over the channels of x viewed as [batch, channels, spatial]
// ([N, C] is spatial = 1; [N, C, H, W] is spatial = H*W), optionally fused with what follows
// it in a ResNet: the residual add and the ReLU.
//
// Why fuse. Unfused, a block's ending "bn2 -> add shortcut -> relu" writes and re-reads three
// full-size tensors (the BN output, the sum, the ReLU output) and keeps two of them alive for
// the backward pass. Fused, the training forward reads x for the statistics, reads x and the
// residual once more and writes y; the backward reads dy, y and x and writes dx and the
// residual's gradient. Batch norm is memory-bound, so bytes moved are its time.
//
// Reference: tests/reference/batch_norm.cpp, the double-precision loop written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md). The fused residual and ReLU are checked against the unfused ops.
#pragma once

#include <cstdint>

#include "minidl/kernels/elementwise.h"
#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

struct BatchNormShape {
  int64_t batch = 0, channels = 0, spatial = 1;
  MINIDL_HOST_DEVICE int64_t count() const { return batch * spatial; }  // values per channel
};

// What the forward applies after the normalization, in the same pass:
//   y = relu(gamma * xhat + beta + residual)   (each part optional)
// residual has x's shape (null: none); relu false leaves the sum as it is.
struct BatchNormEpilogue {
  const float* residual = nullptr;
  bool relu = false;
};

// The per-value math that the CPU loops and the CUDA kernels share (one definition): with
// scale = gamma * invstd, y = (x - mean) * scale + beta, then the epilogue. (Folding the mean
// into the shift, x * scale + (beta - mean * scale), saves one subtraction but cancels
// catastrophically when the mean is large compared to the spread.)
MINIDL_HOST_DEVICE inline float batch_norm_output(float x, float mean, float scale, float beta,
                                                  float residual, bool relu) {
  const float v = (x - mean) * scale + beta + residual;
  return relu ? relu_value(v) : v;
}

// The gradient that reaches the normalization: relu_grad(y, dy) after a ReLU; without one,
// dy. This is also the residual's gradient.
MINIDL_HOST_DEVICE inline float batch_norm_masked_grad(float dy, const float* relu_output,
                                                       int64_t i) {
  return relu_output ? relu_grad(relu_output[i], dy) : dy;
}

namespace cpu {
// Floats of scratch memory that batch_norm_forward_train, batch_norm_backward and
// batch_norm_backward_eval need (CPU: two sums per (image, channel) plane; CUDA: two partial
// sums per chunk of a channel, which backward_eval does not use).
int64_t batch_norm_workspace(const BatchNormShape& s);

// Training: normalizes with the batch statistics (mean and biased variance) and saves mean
// and 1/sqrt(var + eps) for the backward pass. Updates running_mean / running_var in place
// when they are not null (momentum, unbiased variance). gamma and beta may both be null (no
// affine transform). y may alias x.
void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, const BatchNormEpilogue& epilogue, float eps,
                              float momentum, float* y, float* save_mean, float* save_invstd,
                              float* running_mean, float* running_var, float* workspace);
void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const BatchNormEpilogue& epilogue,
                             const float* running_mean, const float* running_var, float eps,
                             float* y);
// Backward of the training forward. relu_output: the forward's y when it applied a ReLU (dy
// is masked with it first), else null. residual_grad, dgamma and dbeta may be null.
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         const float* relu_output, float* dx, float* residual_grad, float* dgamma,
                         float* dbeta, float* workspace);
// Backward of the eval forward without epilogue (statistics are constants):
// dx = dy * gamma * invstd.
void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta, float* workspace);
}  // namespace cpu

namespace cuda {  // the same contracts as cpu::; every pointer is device memory
int64_t batch_norm_workspace(const BatchNormShape& s);
void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, const BatchNormEpilogue& epilogue, float eps,
                              float momentum, float* y, float* save_mean, float* save_invstd,
                              float* running_mean, float* running_var, float* workspace);
void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const BatchNormEpilogue& epilogue,
                             const float* running_mean, const float* running_var, float eps,
                             float* y);
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         const float* relu_output, float* dx, float* residual_grad, float* dgamma,
                         float* dbeta, float* workspace);
void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta, float* workspace);
}  // namespace cuda

MINIDL_SAME_KERNEL(batch_norm_workspace);
MINIDL_SAME_KERNEL(batch_norm_forward_train);
MINIDL_SAME_KERNEL(batch_norm_forward_eval);
MINIDL_SAME_KERNEL(batch_norm_backward);
MINIDL_SAME_KERNEL(batch_norm_backward_eval);

}  // namespace minidl::kernels
