// The dimension argument of the ops that work along one dimension (softmax, log_softmax, cat,
// narrow, sum and mean over a dimension): checked and normalized, a negative dim counting from
// the end as in PyTorch (-1 is the last), and the tensor viewed as [outer, size, inner] around
// it, the form their kernels take (kernels/softmax.h, kernels/shape_ops.h,
// kernels/reduce_dim.h). Tensors are contiguous and row-major, so that view is free: element
// (o, k, i) is at (o * size + k) * inner + i.
#pragma once

#include "minidl/core/error.h"
#include "minidl/core/tensor.h"

namespace minidl::dims {

// `dim` of `t` (named `name` in messages) as an index in [0, rank). t must have rank >= 1.
inline int64_t normalize(const char* op, const char* name, const Tensor& t, int64_t dim) {
  const int64_t rank = t.dim();
  MINIDL_CHECK(rank >= 1, op, name, " must have at least one dimension, got shape ", t.shape_str());
  MINIDL_CHECK(dim >= -rank && dim < rank, op, "dim ", dim, " is out of range for ", name,
               " of shape ", t.shape_str(), " (valid: ", -rank, " to ", rank - 1, ")");
  return dim < 0 ? dim + rank : dim;
}

struct AroundDim {
  int64_t outer = 1, size = 1, inner = 1;
};

// shape viewed as [outer, size, inner] around dimension `dim` (already normalized).
inline AroundDim around(const Shape& shape, int64_t dim) {
  AroundDim v;
  for (int64_t d = 0; d < dim; ++d) v.outer *= shape[d];
  v.size = shape[dim];
  for (size_t d = dim + 1; d < shape.size(); ++d) v.inner *= shape[d];
  return v;
}

}  // namespace minidl::dims
