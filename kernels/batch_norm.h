// Batch normalization over the channels of x viewed as [batch, channels, spatial]
// ([N, C] is spatial = 1; [N, C, H, W] is spatial = H*W).
#pragma once

#include <cstdint>

namespace minidl::kernels {

struct BatchNormShape {
  int64_t batch = 0, channels = 0, spatial = 1;
  int64_t count() const { return batch * spatial; }  // values per channel
};

namespace cpu {
// Training: normalizes with the batch statistics and saves mean and 1/sqrt(var + eps) for the
// backward pass. Updates running_mean / running_var in place when they are not null
// (momentum, unbiased variance). gamma and beta may both be null (no affine transform).
void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, float eps, float momentum, float* y,
                              float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var);
void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const float* running_mean,
                             const float* running_var, float eps, float* y);
// Backward of the training forward. dgamma and dbeta may be null.
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         float* dx, float* dgamma, float* dbeta);
// Backward of the eval forward (statistics are constants): dx = dy * gamma * invstd.
void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta);
}  // namespace cpu

namespace cuda {  // the same contracts as cpu::; every pointer is device memory
void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, float eps, float momentum, float* y,
                              float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var);
void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const float* running_mean,
                             const float* running_var, float eps, float* y);
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         float* dx, float* dgamma, float* dbeta);
void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta);
}  // namespace cuda

}  // namespace minidl::kernels
