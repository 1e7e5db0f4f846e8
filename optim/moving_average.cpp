#include "minidl/optim/moving_average.h"

#include <utility>

#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/core/error.h"
#include "minidl/kernels/elementwise.h"

namespace minidl {

ExponentialMovingAverage::ExponentialMovingAverage(std::vector<Tensor> tensors)
    : tensors_(std::move(tensors)) {
  averages_.reserve(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    MINIDL_CHECK(tensors_[i].defined(), "ExponentialMovingAverage", "tensor ", i, " is undefined");
    Tensor average = Tensor::empty(tensors_[i].shape(), tensors_[i].device());
    average.copy_(tensors_[i]);
    averages_.push_back(average);
  }
}

void ExponentialMovingAverage::check_devices(const char* op) const {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    MINIDL_CHECK(tensors_[i].device() == averages_[i].device(), op, "tensor ", i, " is on ",
                 device_name(tensors_[i].device()), " but its average on ",
                 device_name(averages_[i].device()),
                 " (the model moved after the average was made: make it after the move)");
  }
}

void ExponentialMovingAverage::update(float decay) {
  const char* op = "ExponentialMovingAverage::update";
  MINIDL_CHECK(decay >= 0.f && decay <= 1.f, op, "decay must be in [0, 1], got ", decay);
  check_devices(op);
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    // average = decay * average, then += (1 - decay) * tensor: two passes, no temporary.
    Tensor& average = averages_[i];
    const int64_t n = average.numel();
    MINIDL_DISPATCH(average, op, scale(n, average.data(), decay, average.data()));
    MINIDL_DISPATCH(average, op, axpy(n, 1.f - decay, tensors_[i].data(), average.data()));
    average.bump_version();  // written in place (core/storage.h)
  }
}

void ExponentialMovingAverage::copy_to_tensors() {
  check_devices("ExponentialMovingAverage::copy_to_tensors");
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) tensors_[i].copy_(averages_[i]);
}

void ExponentialMovingAverage::swap() {
  check_devices("ExponentialMovingAverage::swap");
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    // Through a copy: the tensors are the model's own (an optimizer holds the same handles),
    // so their storage must stay where it is.
    Tensor held = Tensor::empty(tensors_[i].shape(), tensors_[i].device());
    held.copy_(tensors_[i]);
    tensors_[i].copy_(averages_[i]);
    averages_[i].copy_(held);
  }
}

Lookahead::Lookahead(std::vector<Tensor> tensors, int k, float alpha)
    : slow_(std::move(tensors)), k_(k), alpha_(alpha) {
  MINIDL_CHECK(k >= 1, "Lookahead", "k (steps between pull-backs) must be at least 1, got ", k);
  set_alpha(alpha);
}

void Lookahead::set_alpha(float alpha) {
  MINIDL_CHECK(alpha >= 0.f && alpha <= 1.f, "Lookahead", "alpha must be in [0, 1], got ", alpha);
  alpha_ = alpha;
}

void Lookahead::step() {
  ++steps_;
  if (steps_ % k_ != 0) return;
  slow_.update(1.f - alpha_);  // slow + alpha (fast - slow)
  slow_.copy_to_tensors();
}

}  // namespace minidl
