// CUDA parameter updates (SGD with momentum / Nesterov, Adam / AdamW), one launch per
// parameter tensor of n floats, with exactly the formulas of kernels/cpu/optimizer.cpp.
//
// Decomposition. Elementwise: a 1-D grid of 256-thread blocks walks the n parameters with a
// grid-stride loop (thread t of the grid updates t, t + G, t + 2G, ...), as in elementwise.cu.
// Every parameter is independent, so there is no communication between threads.
//
// Memory access. Consecutive threads touch consecutive floats of every array, so each warp
// access is one coalesced 128-byte transaction. The work is a handful of flops per element:
// SGD reads param, grad and the momentum buffer and writes two of them; Adam reads four arrays
// and writes three. Each value is loaded into a register once and stored once.
//
// Whatever does not depend on the element (Adam's bias corrections 1 - beta^t) is computed once
// on the host in the entry function, the same way as the CPU version, and passed in.
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/optimizer.h"

namespace minidl::kernels::cuda {

namespace {


// d = g + wd * p;  buf = momentum * buf + d;  p -= lr * (nesterov ? d + momentum * buf : buf).
// With momentum == 0 the buffer is not used (and may be null): p -= lr * d.
__global__ void sgd_kernel(int64_t n, float lr, float momentum, float weight_decay,
                           bool nesterov, float* param, const float* grad, float* momentum_buf) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const float p = param[i];
    const float d = grad[i] + weight_decay * p;
    if (momentum == 0.f) {
      param[i] = p - lr * d;
      continue;
    }
    const float buf = momentum * momentum_buf[i] + d;
    momentum_buf[i] = buf;
    param[i] = p - lr * (nesterov ? d + momentum * buf : buf);
  }
}

// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// p -= step_size * m / (sqrt(v) / sqrt(1 - b2^t) + eps),  step_size = lr / (1 - b1^t).
// AdamW decays the parameter itself first; Adam adds the decay to the gradient.
__global__ void adam_kernel(int64_t n, float lr, float beta1, float beta2, float eps,
                            float weight_decay, bool decoupled_weight_decay, float step_size,
                            float inv_sqrt_correction2, float* param, const float* grad,
                            float* m, float* v) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    float p = param[i], g = grad[i];
    if (decoupled_weight_decay) {
      p -= lr * weight_decay * p;
    } else {
      g += weight_decay * p;
    }
    const float m_i = beta1 * m[i] + (1.f - beta1) * g;
    const float v_i = beta2 * v[i] + (1.f - beta2) * g * g;
    m[i] = m_i;
    v[i] = v_i;
    param[i] = p - step_size * m_i / (sqrtf(v_i) * inv_sqrt_correction2 + eps);
  }
}

}  // namespace

void sgd_update(int64_t n, const SgdHyper& h, float* param, const float* grad,
                float* momentum_buf) {
  launch("sgd_update", sgd_kernel, grid_for(n), kBlockSize, n, h.lr, h.momentum, h.weight_decay,
         h.nesterov, param, grad, momentum_buf);
}

void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v) {
  const float correction1 = 1.f - std::pow(h.beta1, float(h.step));
  const float correction2 = 1.f - std::pow(h.beta2, float(h.step));
  const float step_size = h.lr / correction1;
  const float inv_sqrt_correction2 = 1.f / std::sqrt(correction2);
  launch("adam_update", adam_kernel, grid_for(n), kBlockSize, n, h.lr, h.beta1, h.beta2, h.eps,
         h.weight_decay, h.decoupled_weight_decay, step_size, inv_sqrt_correction2, param, grad,
         m, v);
}

}  // namespace minidl::kernels::cuda
