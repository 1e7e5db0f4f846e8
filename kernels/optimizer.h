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

#include <cstdint>

#include "kernels/host_device.h"

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
