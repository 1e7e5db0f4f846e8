// Fused softmax + cross-entropy over logits [batch, classes] and integer labels, with label
// smoothing: the target of row n is (1 - eps) * one_hot(label[n]) + eps / classes.
// Per row: loss_n = logsumexp(z_n) - sum_k target_nk * z_nk (since the targets sum to 1), with
// the log-sum-exp taken around the row maximum so large logits do not overflow.
//
// Reference: tests/reference/softmax_cross_entropy.cpp, the double-precision loop written to be
// obviously right. The CPU kernels here are tested against it, the CUDA kernels against the CPU
// ones (docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

namespace cpu {
// Writes softmax(logits) to probs (for the backward pass), each row's loss to row_loss
// [batch], and their mean to loss[0].
void softmax_cross_entropy_forward(int batch, int classes, const float* logits,
                                   const int32_t* labels, float smoothing, float* probs,
                                   float* row_loss, float* loss);
// dlogits = grad_loss[0] / batch * (probs - target)
void softmax_cross_entropy_backward(int batch, int classes, const float* probs,
                                    const int32_t* labels, float smoothing, const float* grad_loss,
                                    float* dlogits);
// correct[0] = the number of rows whose first maximum is in the label's column (a float: it
// is summed with other tensors on the device; exact up to 2^24 rows).
void count_correct(int batch, int classes, const float* logits, const int32_t* labels,
                   float* correct);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void softmax_cross_entropy_forward(int batch, int classes, const float* logits,
                                   const int32_t* labels, float smoothing, float* probs,
                                   float* row_loss, float* loss);
void softmax_cross_entropy_backward(int batch, int classes, const float* probs,
                                    const int32_t* labels, float smoothing, const float* grad_loss,
                                    float* dlogits);
void count_correct(int batch, int classes, const float* logits, const int32_t* labels,
                   float* correct);
}  // namespace cuda

MINIDL_SAME_KERNEL(softmax_cross_entropy_forward);
MINIDL_SAME_KERNEL(softmax_cross_entropy_backward);
MINIDL_SAME_KERNEL(count_correct);

}  // namespace minidl::kernels
