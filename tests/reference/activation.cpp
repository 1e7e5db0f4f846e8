// Naive double-precision references for kernels/activation.h (see activation.h): the textbook
// formulas, one element at a time, without the kernels' overflow-safe forms.
#include "reference/activation.h"

#include <cmath>

namespace ref {

Vec sigmoid(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = 1.0 / (1.0 + std::exp(-x[i]));
  return y;
}

Vec sigmoid_backward(const Vec& x, const Vec& g) {
  const Vec s = sigmoid(x);
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = g[i] * s[i] * (1.0 - s[i]);
  return dx;
}

Vec tanh(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::tanh(x[i]);
  return y;
}

Vec tanh_backward(const Vec& x, const Vec& g) {
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = g[i] * (1.0 - std::tanh(x[i]) * std::tanh(x[i]));
  return dx;
}

Vec exp(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::exp(x[i]);
  return y;
}

Vec exp_backward(const Vec& x, const Vec& g) {
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = g[i] * std::exp(x[i]);
  return dx;
}

Vec log(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::log(x[i]);
  return y;
}

Vec log_backward(const Vec& x, const Vec& g) {
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = g[i] / x[i];
  return dx;
}

Vec gelu(const Vec& x) {
  Vec y(x.size());
  // Phi(x) = erfc(-x / sqrt 2) / 2: 1 + erf(x / sqrt 2) would cancel for negative x, even in
  // double (relative error 5e-6 at x = -6).
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * 0.5 * std::erfc(-x[i] / std::sqrt(2.0));
  return y;
}

Vec gelu_backward(const Vec& x, const Vec& g) {
  const double pi = 3.14159265358979323846;
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double cdf = 0.5 * std::erfc(-x[i] / std::sqrt(2.0));
    const double density = std::exp(-x[i] * x[i] / 2.0) / std::sqrt(2.0 * pi);
    dx[i] = g[i] * (cdf + x[i] * density);
  }
  return dx;
}

}  // namespace ref
