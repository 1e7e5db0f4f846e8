// Parameter update rules on raw arrays, one call per parameter tensor of n floats.
// They follow PyTorch's torch.optim definitions exactly, so results can be compared 1:1.
#pragma once

#include <cstdint>

namespace minidl::kernels {

struct SgdHyper {
  float lr, momentum, weight_decay;
  bool nesterov;
};

struct AdamHyper {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW: p -= lr * wd * p; Adam: g += wd * p
  int64_t step;                 // 1 on the first update (for bias correction)
};

namespace cpu {
// d = g + wd * p;  buf = momentum * buf + d;  p -= lr * (nesterov ? d + momentum * buf : buf)
// (buf starts at zero, so the first step sets buf = d as PyTorch does.)
void sgd_update(int64_t n, const SgdHyper& h, float* param, const float* grad, float* momentum_buf);
// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v);
}  // namespace cpu

namespace cuda {  // the same contracts as cpu::; every pointer is device memory
void sgd_update(int64_t n, const SgdHyper& h, float* param, const float* grad, float* momentum_buf);
void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v);
}  // namespace cuda

}  // namespace minidl::kernels
