#include <cmath>

#include "minidl/kernels/optimizer.h"

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
  const AdamStep c = adam_step(h);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) adam_update_element(h, c, param, grad, m, v, i);
}

}  // namespace minidl::kernels::cpu
