// Naive double-precision references for kernels/pointwise_loss.h (see pointwise_loss.h).
#include "reference/pointwise_loss.h"

#include <cassert>
#include <cmath>

namespace ref {

double mse_loss(const Vec& x, const Vec& y) {
  assert(x.size() == y.size());
  double total = 0;
  for (size_t i = 0; i < x.size(); ++i) total += (x[i] - y[i]) * (x[i] - y[i]);
  return total / double(x.size());
}

LossGrads mse_loss_backward(const Vec& x, const Vec& y, double g) {
  LossGrads r{Vec(x.size()), Vec(x.size())};
  for (size_t i = 0; i < x.size(); ++i) {
    r.dinput[i] = g * 2.0 * (x[i] - y[i]) / double(x.size());
    r.dtarget[i] = -r.dinput[i];
  }
  return r;
}

double l1_loss(const Vec& x, const Vec& y) {
  assert(x.size() == y.size());
  double total = 0;
  for (size_t i = 0; i < x.size(); ++i) total += std::abs(x[i] - y[i]);
  return total / double(x.size());
}

LossGrads l1_loss_backward(const Vec& x, const Vec& y, double g) {
  LossGrads r{Vec(x.size()), Vec(x.size())};
  for (size_t i = 0; i < x.size(); ++i) {
    const double sign = x[i] > y[i] ? 1.0 : (x[i] < y[i] ? -1.0 : 0.0);
    r.dinput[i] = g * sign / double(x.size());
    r.dtarget[i] = -r.dinput[i];
  }
  return r;
}

double bce_with_logits(const Vec& x, const Vec& y) {
  assert(x.size() == y.size());
  double total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-x[i]));
    total += -(y[i] * std::log(s) + (1.0 - y[i]) * std::log(1.0 - s));
  }
  return total / double(x.size());
}

LossGrads bce_with_logits_backward(const Vec& x, const Vec& y, double g) {
  LossGrads r{Vec(x.size()), Vec(x.size())};
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-x[i]));
    r.dinput[i] = g * (s - y[i]) / double(x.size());
    r.dtarget[i] = -g * x[i] / double(x.size());
  }
  return r;
}

}  // namespace ref
