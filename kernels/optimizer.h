// Parameter update rules on raw arrays. They follow PyTorch's torch.optim definitions exactly,
// so results can be compared 1:1. SGD updates a list of tensors that share hyperparameters in
// one call (on CUDA, one launch for up to 32 of them: the reference ResNet has 38 parameter
// tensors, and 38 launches of a few microseconds each were 5% of a GPU step); Adam takes one
// tensor per call.
//
// Reference: tests/reference/optimizer.cpp, the double-precision loop written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cmath>
#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

struct SgdHyper {
  float lr, momentum, weight_decay;
  bool nesterov;
};

// One parameter tensor of n floats, its gradient and its momentum buffer (null when
// momentum is 0).
struct SgdTensor {
  int64_t n;
  float* param;
  const float* grad;
  float* momentum_buf;
};

// The update of element i, shared by the CPU loop and the CUDA kernel:
// d = g + wd * p;  buf = momentum * buf + d;  p -= lr * (nesterov ? d + momentum * buf : buf)
// (buf starts at zero, so the first step sets buf = d as PyTorch does; with momentum 0 there
// is no buffer: p -= lr * d).
MINIDL_HOST_DEVICE inline void sgd_update_element(const SgdHyper& h, const SgdTensor& t,
                                                  int64_t i) {
  const float p = t.param[i];
  const float d = t.grad[i] + h.weight_decay * p;
  if (h.momentum == 0.f) {
    t.param[i] = p - h.lr * d;
    return;
  }
  const float buf = h.momentum * t.momentum_buf[i] + d;
  t.momentum_buf[i] = buf;
  t.param[i] = p - h.lr * (h.nesterov ? d + h.momentum * buf : buf);
}

struct AdamHyper {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay;  // AdamW: p -= lr * wd * p; Adam: g += wd * p
  int64_t step;                 // 1 on the first update (for bias correction)
};

// What one Adam update shares across elements: the bias corrections of step h.step folded
// into the step size, computed once on the host.
struct AdamStep {
  float step_size;             // lr / (1 - beta1^t)
  float inv_sqrt_correction2;  // 1 / sqrt(1 - beta2^t)
};
inline AdamStep adam_step(const AdamHyper& h) {
  const float correction1 = 1.f - std::pow(h.beta1, float(h.step));
  const float correction2 = 1.f - std::pow(h.beta2, float(h.step));
  return {h.lr / correction1, 1.f / std::sqrt(correction2)};
}

// One element of Adam / AdamW, the same on both devices:
//   g = grad (+ wd p for Adam; AdamW decays p itself);  m = b1 m + (1 - b1) g;
//   v = b2 v + (1 - b2) g^2;  p -= step_size m / (sqrt(v) / sqrt(1 - b2^t) + eps)
MINIDL_HOST_DEVICE inline void adam_update_element(const AdamHyper& h, const AdamStep& c,
                                                   float* param, const float* grad, float* m,
                                                   float* v, int64_t i) {
  float p = param[i], g = grad[i];
  if (h.decoupled_weight_decay) {
    p -= h.lr * h.weight_decay * p;
  } else {
    g += h.weight_decay * p;
  }
  const float m_i = h.beta1 * m[i] + (1.f - h.beta1) * g;
  const float v_i = h.beta2 * v[i] + (1.f - h.beta2) * g * g;
  m[i] = m_i;
  v[i] = v_i;
  param[i] = p - c.step_size * m_i / (sqrtf(v_i) * c.inv_sqrt_correction2 + h.eps);
}

namespace cpu {
// sgd_update_element over every element of tensors[0 .. count).
void sgd_update(const SgdHyper& h, const SgdTensor* tensors, int count);
// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v);
}  // namespace cpu

namespace cuda {  // the same contracts as cpu::; every pointer is device memory (the list
                  // of tensors itself is host memory)
void sgd_update(const SgdHyper& h, const SgdTensor* tensors, int count);
void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v);
}  // namespace cuda

MINIDL_SAME_KERNEL(sgd_update);
MINIDL_SAME_KERNEL(adam_update);

}  // namespace minidl::kernels
