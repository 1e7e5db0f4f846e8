// Fused softmax + cross-entropy over logits [batch, classes] and integer labels, with label
// smoothing: the target of row n is (1 - eps) * one_hot(label[n]) + eps / classes.
#pragma once

#include <cstdint>

namespace minidl::kernels {

namespace cpu {
// Writes softmax(logits) to probs (needed by backward) and returns the mean loss over the batch.
// log-sum-exp is taken around the row maximum so large logits do not overflow.
float softmax_cross_entropy_forward(int batch, int classes, const float* logits,
                                    const int32_t* labels, float smoothing, float* probs);
// dlogits = grad_loss / batch * (probs - target)
void softmax_cross_entropy_backward(int batch, int classes, const float* probs,
                                    const int32_t* labels, float smoothing, float grad_loss,
                                    float* dlogits);
}  // namespace cpu

}  // namespace minidl::kernels
