// Double-precision references for kernels/batch_norm.h: batch normalization in training mode
// (batch statistics) and eval mode (running statistics), forward and backward, and the
// running-statistics update. The kernels' fused residual add and ReLU are checked against the
// unfused ops (tests/test_ops_fused.cpp), which these and reference/elementwise.h cover.
// Conventions: reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

// x is [N, C, L...] given as N, C and L = product of the dimensions after C (1 for [N, C]).
// gamma/beta [C] or both empty (no affine transform). Per channel c, over its M = N * L values:
//   mean = sum x / M,  var = sum (x - mean)^2 / M,  xhat = (x - mean) / sqrt(var + eps),
//   y = gamma * xhat + beta   (y = xhat without affine).
struct BatchNormForward {
  Vec y;
  Vec mean;          // per channel, over N * L values
  Vec var;           // biased (divides by N * L): what normalizes
  Vec var_unbiased;  // divides by N * L - 1: what enters the running variance
};
BatchNormForward batch_norm_train(const Vec& x, const Vec& gamma, const Vec& beta, int64_t N,
                                  int64_t C, int64_t L, double eps);
struct BatchNormGrads {
  Vec dx, dgamma, dbeta;
};  // dgamma/dbeta empty without affine
// Through the batch mean and variance, with dxhat = g * gamma:
//   dx = inv_std / M * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)),
//   dgamma = sum(g * xhat), dbeta = sum(g).
BatchNormGrads batch_norm_train_backward(const Vec& x, const Vec& gamma, const Vec& g, int64_t N,
                                         int64_t C, int64_t L, double eps);
// Eval mode: the running statistics are constants,
//   y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
Vec batch_norm_eval(const Vec& x, const Vec& gamma, const Vec& beta, const Vec& running_mean,
                    const Vec& running_var, int64_t N, int64_t C, int64_t L, double eps);
// dx = g * gamma / sqrt(running_var + eps); dgamma = sum(g * xhat), dbeta = sum(g).
BatchNormGrads batch_norm_eval_backward(const Vec& x, const Vec& gamma, const Vec& running_mean,
                                        const Vec& running_var, const Vec& g, int64_t N, int64_t C,
                                        int64_t L, double eps);
// running = (1 - momentum) * running + momentum * batch statistic.
Vec running_update(const Vec& running, const Vec& batch, double momentum);

}  // namespace ref
