// Naive double-precision references for kernels/shape_ops.h (see shape_ops.h).
#include "reference/shape_ops.h"

namespace ref {

namespace {
Shape cat_shape(const std::vector<Shape>& shapes, int64_t dim) {
  Shape out = shapes[0];
  out[dim] = 0;
  for (const Shape& s : shapes) out[dim] += s[dim];
  return out;
}
}  // namespace

Vec cat(const std::vector<Vec>& xs, const std::vector<Shape>& shapes, int64_t dim) {
  const Shape out_shape = cat_shape(shapes, dim);
  Vec y(numel(out_shape));
  int64_t offset = 0;
  for (size_t j = 0; j < xs.size(); ++j) {
    for (int64_t i = 0; i < numel(shapes[j]); ++i) {
      std::vector<int64_t> at = unravel(i, shapes[j]);
      at[dim] += offset;
      y[ravel(at, out_shape)] = xs[j][i];
    }
    offset += shapes[j][dim];
  }
  return y;
}

std::vector<Vec> cat_backward(const std::vector<Shape>& shapes, int64_t dim, const Vec& g) {
  const Shape out_shape = cat_shape(shapes, dim);
  std::vector<Vec> dxs;
  int64_t offset = 0;
  for (const Shape& shape : shapes) {
    Vec dx(numel(shape));
    for (int64_t i = 0; i < numel(shape); ++i) {
      std::vector<int64_t> at = unravel(i, shape);
      at[dim] += offset;
      dx[i] = g[ravel(at, out_shape)];
    }
    dxs.push_back(dx);
    offset += shape[dim];
  }
  return dxs;
}

Vec narrow(const Vec& x, const Shape& shape, int64_t dim, int64_t start, int64_t length) {
  Shape out_shape = shape;
  out_shape[dim] = length;
  Vec y(numel(out_shape));
  for (int64_t i = 0; i < numel(out_shape); ++i) {
    std::vector<int64_t> at = unravel(i, out_shape);
    at[dim] += start;
    y[i] = x[ravel(at, shape)];
  }
  return y;
}

Vec narrow_backward(const Shape& shape, int64_t dim, int64_t start, int64_t length, const Vec& g) {
  Shape out_shape = shape;
  out_shape[dim] = length;
  Vec dx(numel(shape), 0.0);
  for (int64_t i = 0; i < numel(out_shape); ++i) {
    std::vector<int64_t> at = unravel(i, out_shape);
    at[dim] += start;
    dx[ravel(at, shape)] = g[i];
  }
  return dx;
}

Vec flip(const Vec& x, const Shape& shape, int64_t dim) {
  Vec y(x.size());
  for (int64_t i = 0; i < numel(shape); ++i) {
    std::vector<int64_t> at = unravel(i, shape);
    at[dim] = shape[dim] - 1 - at[dim];
    y[i] = x[ravel(at, shape)];
  }
  return y;
}

Shape permuted_shape(const Shape& shape, const std::vector<int64_t>& dims) {
  Shape out(shape.size());
  for (size_t d = 0; d < dims.size(); ++d) out[d] = shape[dims[d]];
  return out;
}

Vec permute(const Vec& x, const Shape& shape, const std::vector<int64_t>& dims) {
  const Shape out_shape = permuted_shape(shape, dims);
  Vec y(x.size());
  for (int64_t i = 0; i < numel(out_shape); ++i) {
    const std::vector<int64_t> out_at = unravel(i, out_shape);
    std::vector<int64_t> at(shape.size());
    for (size_t d = 0; d < dims.size(); ++d) at[dims[d]] = out_at[d];
    y[i] = x[ravel(at, shape)];
  }
  return y;
}

Vec permute_backward(const Shape& shape, const std::vector<int64_t>& dims, const Vec& g) {
  const Shape out_shape = permuted_shape(shape, dims);
  Vec dx(g.size());
  for (int64_t i = 0; i < numel(out_shape); ++i) {
    const std::vector<int64_t> out_at = unravel(i, out_shape);
    std::vector<int64_t> at(shape.size());
    for (size_t d = 0; d < dims.size(); ++d) at[dims[d]] = out_at[d];
    dx[ravel(at, shape)] = g[i];
  }
  return dx;
}

}  // namespace ref
