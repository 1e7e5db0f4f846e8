// Double-precision references for kernels/reduce_dim.h: the sum and the mean of x (row-major,
// `shape`) along dimension `dim` (0 <= dim < rank), forward and backward. The result's elements
// are in the order of `shape` without dim (the same with keepdim). Conventions:
// reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

Vec sum_dim(const Vec& x, const Shape& shape, int64_t dim);
Vec sum_dim_backward(const Shape& shape, int64_t dim, const Vec& g);   // dx = g of its sum
Vec mean_dim(const Vec& x, const Shape& shape, int64_t dim);           // sum_dim / shape[dim]
Vec mean_dim_backward(const Shape& shape, int64_t dim, const Vec& g);  // g / shape[dim]

}  // namespace ref
