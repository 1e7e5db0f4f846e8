#include "minidl/kernels/softmax_cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace minidl::kernels::cpu {

void softmax_cross_entropy_forward(int batch, int classes, const float* logits,
                                   const int32_t* labels, float smoothing, float* probs,
                                   float* row_loss, float* loss) {
#pragma omp parallel for if (batch * classes > (1 << 14))
  for (int n = 0; n < batch; ++n) {
    const float* z = logits + int64_t(n) * classes;
    float* p = probs + int64_t(n) * classes;
    const float max_z = *std::max_element(z, z + classes);
    double exp_sum = 0.0, z_sum = 0.0;
    for (int k = 0; k < classes; ++k) {
      p[k] = std::exp(z[k] - max_z);
      exp_sum += p[k];
      z_sum += z[k];
    }
    const double log_sum_exp = max_z + std::log(exp_sum);
    for (int k = 0; k < classes; ++k) p[k] = static_cast<float>(p[k] / exp_sum);
    const double target_dot_z = (1.0 - smoothing) * z[labels[n]] + smoothing * z_sum / classes;
    row_loss[n] = static_cast<float>(log_sum_exp - target_dot_z);
  }
  double total = 0.0;  // in row order, so the result does not depend on the thread count
  for (int n = 0; n < batch; ++n) total += row_loss[n];
  loss[0] = static_cast<float>(total / batch);
}

void softmax_cross_entropy_backward(int batch, int classes, const float* probs,
                                    const int32_t* labels, float smoothing, const float* grad_loss,
                                    float* dlogits) {
  const float per_row = grad_loss[0] / batch;
  const float off_target = smoothing / classes;
#pragma omp parallel for if (batch * classes > (1 << 14))
  for (int n = 0; n < batch; ++n) {
    for (int k = 0; k < classes; ++k) {
      const float target = off_target + (k == labels[n] ? 1.f - smoothing : 0.f);
      dlogits[int64_t(n) * classes + k] = per_row * (probs[int64_t(n) * classes + k] - target);
    }
  }
}

void count_correct(int batch, int classes, const float* logits, const int32_t* labels,
                   float* correct) {
  int64_t count = 0;
  for (int n = 0; n < batch; ++n) {
    const float* row = logits + int64_t(n) * classes;
    int best = 0;
    for (int k = 1; k < classes; ++k) best = row[k] > row[best] ? k : best;
    count += best == labels[n];
  }
  correct[0] = float(count);
}

}  // namespace minidl::kernels::cpu
