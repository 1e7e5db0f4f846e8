// The losses that compare an input with a target element by element, mean reduction:
// mse_loss, l1_loss, binary_cross_entropy_with_logits. One kernel pair for the three
// (kernels/pointwise_loss.h), told apart by kernels::PointwiseLoss.
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/pointwise_loss.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

namespace {

using kernels::PointwiseLoss;

Tensor pointwise_loss(const char* op, const char* backward_op, PointwiseLoss loss,
                      const Tensor& input, const Tensor& target) {
  checks::nonempty(op, "input", input);
  checks::nonempty(op, "target", target);
  checks::same_device(op, {input, target});
  MINIDL_CHECK(input.shape() == target.shape(), op, "input ", input.shape_str(), " and target ",
               target.shape_str(), " must have the same shape");
  const int64_t n = input.numel();
  Tensor out = Tensor::empty({}, input.device());
  MINIDL_DISPATCH(input, op,
                  pointwise_loss_forward(loss, n, input.data(), target.data(), out.data()));
  const Tensor x = input.detach(), y = target.detach();
  // Both gradients come from one kernel; autograd drops the target's when it needs none.
  record(op, out, {input, target}, [loss, n, x, y, backward_op](const Tensor& g) {
    Tensor dx = Tensor::empty(x.shape(), x.device()), dy = Tensor::empty(y.shape(), y.device());
    MINIDL_DISPATCH(
        g, backward_op,
        pointwise_loss_backward(loss, n, x.data(), y.data(), g.data(), dx.data(), dy.data()));
    return std::vector<Tensor>{dx, dy};
  });
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss("mse_loss", "mse_loss backward", PointwiseLoss::Mse, input, target);
}

Tensor l1_loss(const Tensor& input, const Tensor& target) {
  return pointwise_loss("l1_loss", "l1_loss backward", PointwiseLoss::L1, input, target);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  return pointwise_loss("binary_cross_entropy_with_logits",
                        "binary_cross_entropy_with_logits backward", PointwiseLoss::BceWithLogits,
                        logits, targets);
}

}  // namespace minidl::ops
