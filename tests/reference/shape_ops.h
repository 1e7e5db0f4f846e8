// Double-precision references for kernels/shape_ops.h: cat, narrow and permute of row-major
// tensors (dims already in [0, rank)), forward and backward (g the gradient of the output).
// Each moves element by element through coordinates (unravel/ravel, reference/common.h), never
// through the kernels' [outer, size, inner] view or strides. Conventions: reference/common.h.
#pragma once

#include <vector>

#include "reference/common.h"

namespace ref {

// xs[j] of shape shapes[j], joined along dim: element (..., k, ...) of xs[j] lands at
// (..., offset_j + k, ...), offset_j the sum of the sizes of xs[0..j) along dim.
Vec cat(const std::vector<Vec>& xs, const std::vector<Shape>& shapes, int64_t dim);
// Each input's gradient: the part of g where that input landed.
std::vector<Vec> cat_backward(const std::vector<Shape>& shapes, int64_t dim, const Vec& g);

// Element (..., k, ...) of the result is x's (..., start + k, ...), k < length along dim.
Vec narrow(const Vec& x, const Shape& shape, int64_t dim, int64_t start, int64_t length);
// g at the narrowed indices, zero at the others.
Vec narrow_backward(const Shape& shape, int64_t dim, int64_t start, int64_t length, const Vec& g);
// y at index i along dim is x at size - 1 - i; the backward is the same flip of g.
Vec flip(const Vec& x, const Shape& shape, int64_t dim);

// The result's coordinate d is x's coordinate dims[d] (so its size along d is shape[dims[d]]).
Vec permute(const Vec& x, const Shape& shape, const std::vector<int64_t>& dims);
Shape permuted_shape(const Shape& shape, const std::vector<int64_t>& dims);
// dx at x's coordinates = g at the permuted coordinates.
Vec permute_backward(const Shape& shape, const std::vector<int64_t>& dims, const Vec& g);

}  // namespace ref
