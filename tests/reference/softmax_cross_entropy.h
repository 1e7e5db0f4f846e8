// Double-precision references for kernels/softmax_cross_entropy.h: softmax + cross-entropy with
// label smoothing over logits [N, K], forward and backward. Conventions: reference/common.h.
#pragma once

#include <vector>

#include "reference/common.h"

namespace ref {

// target row n = (1 - eps) * one_hot(labels[n]) + eps / K;
// loss = (1 / N) * sum_n -sum_k target_nk * log softmax(logits_n)_k.
double softmax_cross_entropy(const Vec& logits, const std::vector<int>& labels, int64_t N,
                             int64_t K, double eps);
// dlogits[n, k] = g / N * (softmax(logits_n)_k - target_nk), g the gradient of the loss.
Vec softmax_cross_entropy_backward(const Vec& logits, const std::vector<int>& labels, int64_t N,
                                   int64_t K, double eps, double g);

}  // namespace ref
