// Losses that compare an input with a target of the same shape element by element, averaged
// over all n elements (PyTorch's reduction='mean'): mean squared error, mean absolute error and
// binary cross-entropy on logits. One kernel pair for the three, told apart by `PointwiseLoss`:
// they differ only in the formula of one element, which lives once, here, for both devices.
//
// Reference: tests/reference/pointwise_loss.cpp, the double-precision loop written to be
// obviously right. The CPU kernels here are tested against it, the CUDA kernels against the CPU
// ones (docs/testing.md).
#pragma once

#include <cmath>
#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

enum class PointwiseLoss { Mse, L1, BceWithLogits };

// The loss of one element, x the input (a logit for BCE) and y its target.
// BCE with logits: -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), rewritten as
//   max(x, 0) - x y + log(1 + exp(-|x|)),
// which never takes the log of 0 or the exponential of a large number: the direct form gives
// log(1 - sigmoid(x)) = log(0) = -inf as soon as sigmoid(x) rounds to 1 (x > 17 in float).
// log1p keeps the last term accurate when exp(-|x|) is tiny.
MINIDL_HOST_DEVICE inline float pointwise_loss_value(PointwiseLoss loss, float x, float y) {
  switch (loss) {
    case PointwiseLoss::Mse: return (x - y) * (x - y);
    case PointwiseLoss::L1: return fabsf(x - y);
    case PointwiseLoss::BceWithLogits: return fmaxf(x, 0.f) - x * y + log1pf(expf(-fabsf(x)));
  }
  return 0.f;  // unreachable
}

// d loss / d x for one element: 2 (x - y); sign(x - y) (0 where x == y, as PyTorch);
// sigmoid(x) - y.
MINIDL_HOST_DEVICE inline float pointwise_loss_grad_input(PointwiseLoss loss, float x, float y) {
  switch (loss) {
    case PointwiseLoss::Mse: return 2.f * (x - y);
    case PointwiseLoss::L1: return x > y ? 1.f : (x < y ? -1.f : 0.f);
    case PointwiseLoss::BceWithLogits: {
      // The sigmoid in the form that never overflows (as activation_value in activation.h).
      const float e = expf(-fabsf(x));
      return (x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e)) - y;
    }
  }
  return 0.f;  // unreachable
}

// d loss / d y for one element: -2 (x - y); -sign(x - y); -x.
MINIDL_HOST_DEVICE inline float pointwise_loss_grad_target(PointwiseLoss loss, float x, float y) {
  return loss == PointwiseLoss::BceWithLogits ? -x : -pointwise_loss_grad_input(loss, x, y);
}

namespace cpu {
// loss[0] = the mean over i < n of pointwise_loss_value(input[i], target[i]).
void pointwise_loss_forward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                            float* mean_loss);
// grad_input[i] = grad_loss[0] / n * d loss / d input[i], grad_target likewise. grad_loss is
// read where it lives (device memory for CUDA), so the host never waits for it.
void pointwise_loss_backward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                             const float* grad_loss, float* grad_input, float* grad_target);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void pointwise_loss_forward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                            float* mean_loss);
void pointwise_loss_backward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                             const float* grad_loss, float* grad_input, float* grad_target);
}  // namespace cuda

MINIDL_SAME_KERNEL(pointwise_loss_forward);
MINIDL_SAME_KERNEL(pointwise_loss_backward);

}  // namespace minidl::kernels
