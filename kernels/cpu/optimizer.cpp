#include <cmath>

#include "kernels/optimizer.h"

namespace minidl::kernels::cpu {

void sgd_update(const SgdHyper& h, const SgdTensor* tensors, int count) {
  for (int k = 0; k < count; ++k) {
    const SgdTensor t = tensors[k];
#pragma omp parallel for simd if (t.n > (1 << 16))
    for (int64_t i = 0; i < t.n; ++i) sgd_update_element(h, t, i);
  }
}

void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v) {
  const float correction1 = 1.f - std::pow(h.beta1, float(h.step));
  const float correction2 = 1.f - std::pow(h.beta2, float(h.step));
  const float step_size = h.lr / correction1;
  const float inv_sqrt_correction2 = 1.f / std::sqrt(correction2);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (h.decoupled_weight_decay) {
      param[i] -= h.lr * h.weight_decay * param[i];
    } else {
      g += h.weight_decay * param[i];
    }
    m[i] = h.beta1 * m[i] + (1.f - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1.f - h.beta2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_correction2 + h.eps);
  }
}

}  // namespace minidl::kernels::cpu
