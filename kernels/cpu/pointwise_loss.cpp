#include "minidl/kernels/pointwise_loss.h"

namespace minidl::kernels::cpu {

constexpr int64_t kParallelThreshold = 1 << 15;

void pointwise_loss_forward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                            float* mean_loss) {
  // Accumulated in double, as sum() does: a float running sum of a million terms drifts.
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) total += pointwise_loss_value(loss, input[i], target[i]);
  mean_loss[0] = static_cast<float>(total / static_cast<double>(n));
}

void pointwise_loss_backward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                             const float* grad_loss, float* grad_input, float* grad_target) {
  const float per_element = grad_loss[0] / static_cast<float>(n);
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    grad_input[i] = per_element * pointwise_loss_grad_input(loss, input[i], target[i]);
    grad_target[i] = per_element * pointwise_loss_grad_target(loss, input[i], target[i]);
  }
}

}  // namespace minidl::kernels::cpu
