// Naive double-precision references for kernels/softmax.h (see softmax.h). Every element finds
// the other elements of its row through its coordinates: same coordinates, any index along dim.
// The textbook formula, without the kernels' subtraction of the maximum (fine in double for the
// moderate inputs of the tests).
#include "reference/softmax.h"

#include <cmath>

namespace ref {

namespace {
// sum over j along dim of f(flat index of the element with coordinates `at`, j along dim)
template <typename F>
double row_sum(const Shape& shape, int64_t dim, std::vector<int64_t> at, F f) {
  double total = 0;
  for (at[dim] = 0; at[dim] < shape[dim]; ++at[dim]) total += f(ravel(at, shape));
  return total;
}
}  // namespace

Vec softmax(const Vec& x, const Shape& shape, int64_t dim) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double z =
        row_sum(shape, dim, unravel(i, shape), [&](int64_t j) { return std::exp(x[j]); });
    y[i] = std::exp(x[i]) / z;
  }
  return y;
}

Vec softmax_backward(const Vec& x, const Shape& shape, int64_t dim, const Vec& g) {
  const Vec y = softmax(x, shape, dim);
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double dot =
        row_sum(shape, dim, unravel(i, shape), [&](int64_t j) { return g[j] * y[j]; });
    dx[i] = y[i] * (g[i] - dot);
  }
  return dx;
}

Vec log_softmax(const Vec& x, const Shape& shape, int64_t dim) {
  const Vec y = softmax(x, shape, dim);
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = std::log(y[i]);
  return out;
}

Vec log_softmax_backward(const Vec& x, const Shape& shape, int64_t dim, const Vec& g) {
  const Vec y = softmax(x, shape, dim);
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double total = row_sum(shape, dim, unravel(i, shape), [&](int64_t j) { return g[j]; });
    dx[i] = g[i] - y[i] * total;
  }
  return dx;
}

}  // namespace ref
