// Naive double-precision references for kernels/reduce_dim.h (see reduce_dim.h): each element
// of x is added to the output at its coordinates with the coordinate along dim dropped.
#include "reference/reduce_dim.h"

namespace ref {

namespace {
Shape without(const Shape& shape, int64_t dim) {
  Shape out = shape;
  out.erase(out.begin() + dim);
  return out;
}

// The index in the reduced result of element i of x.
int64_t reduced_index(int64_t i, const Shape& shape, int64_t dim) {
  std::vector<int64_t> at = unravel(i, shape);
  at.erase(at.begin() + dim);
  return ravel(at, without(shape, dim));
}
}  // namespace

Vec sum_dim(const Vec& x, const Shape& shape, int64_t dim) {
  Vec y(numel(without(shape, dim)), 0.0);
  for (int64_t i = 0; i < numel(shape); ++i) y[reduced_index(i, shape, dim)] += x[i];
  return y;
}

Vec sum_dim_backward(const Shape& shape, int64_t dim, const Vec& g) {
  Vec dx(numel(shape));
  for (int64_t i = 0; i < numel(shape); ++i) dx[i] = g[reduced_index(i, shape, dim)];
  return dx;
}

Vec mean_dim(const Vec& x, const Shape& shape, int64_t dim) {
  Vec y = sum_dim(x, shape, dim);
  for (double& v : y) v /= double(shape[dim]);
  return y;
}

Vec mean_dim_backward(const Shape& shape, int64_t dim, const Vec& g) {
  Vec dx = sum_dim_backward(shape, dim, g);
  for (double& v : dx) v /= double(shape[dim]);
  return dx;
}

}  // namespace ref
