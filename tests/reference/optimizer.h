// Double-precision references for kernels/optimizer.h: one step of SGD and of Adam / AdamW,
// as PyTorch's torch.optim defines them, element by element and in place. Conventions:
// reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

struct SgdHyper {
  double lr, momentum, weight_decay;
  bool nesterov;
};
// Per element: d = g + wd * p;  buf = momentum * buf + d;
//   p -= lr * (nesterov ? d + momentum * buf : buf).
// buf starts at zero (the first step sets buf = d, as PyTorch does); with momentum 0 there
// is no buffer (momentum_buf may be empty) and p -= lr * d.
void sgd_step(const SgdHyper& h, Vec& param, const Vec& grad, Vec& momentum_buf);

struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW: p -= lr * wd * p first; Adam: g += wd * p
};
// Step t (1 on the first update), per element, after the weight decay:
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2;
//   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).
// m and v start at zero.
void adam_step(const AdamHyper& h, int64_t t, Vec& param, const Vec& grad, Vec& m, Vec& v);

}  // namespace ref
