// Naive double-precision references for kernels/elementwise.h (see elementwise.h). Loops are
// written out index by index on purpose; nothing here is shared with the library's kernels.
#include "reference/elementwise.h"

#include <cassert>

namespace ref {

Vec add(const Vec& a, const Vec& b) {
  assert(a.size() == b.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

Vec sub(const Vec& a, const Vec& b) {
  assert(a.size() == b.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] - b[i];
  return y;
}

Vec mul(const Vec& a, const Vec& b) {
  assert(a.size() == b.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] * b[i];
  return y;
}

MulGrads mul_backward(const Vec& a, const Vec& b, const Vec& g) {
  MulGrads r{Vec(a.size()), Vec(b.size())};
  for (size_t i = 0; i < a.size(); ++i) {
    r.da[i] = g[i] * b[i];
    r.db[i] = g[i] * a[i];
  }
  return r;
}

Vec scale(const Vec& a, double factor) {
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] * factor;
  return y;
}

Vec relu(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : 0.0;
  return y;
}

Vec relu_backward(const Vec& x, const Vec& g) {
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = x[i] > 0 ? g[i] : 0.0;
  return dx;
}

// Element i of x [N, C, L...] belongs to channel (i / L) % C, with L the product of the
// dimensions after C.
static int64_t inner_size(const Shape& x_shape) {
  int64_t L = 1;
  for (size_t d = 2; d < x_shape.size(); ++d) L *= x_shape[d];
  return L;
}

Vec add_bias(const Vec& x, const Shape& x_shape, const Vec& bias) {
  const int64_t N = x_shape[0], C = x_shape[1], L = inner_size(x_shape);
  Vec y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        y[i] = x[i] + bias[c];
      }
  return y;
}

AddBiasGrads add_bias_backward(const Shape& x_shape, const Vec& g) {
  const int64_t N = x_shape[0], C = x_shape[1], L = inner_size(x_shape);
  AddBiasGrads r{g, Vec(C, 0.0)};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t l = 0; l < L; ++l) r.dbias[c] += g[(n * C + c) * L + l];
  return r;
}

double sum(const Vec& a) {
  double s = 0;
  for (double v : a) s += v;
  return s;
}

Vec sum_backward(int64_t n, double g) { return Vec(n, g); }

double mean(const Vec& a) { return sum(a) / static_cast<double>(a.size()); }

Vec mean_backward(int64_t n, double g) { return Vec(n, g / static_cast<double>(n)); }

}  // namespace ref
