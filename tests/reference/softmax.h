// Double-precision references for kernels/softmax.h: softmax and log-softmax of x (row-major,
// `shape`) along dimension `dim` (0 <= dim < rank), forward and backward (g the gradient of the
// output, x the input). Conventions: reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

// y[..., k, ...] = exp(x[..., k, ...]) / sum_j exp(x[..., j, ...]), k and j along dim.
Vec softmax(const Vec& x, const Shape& shape, int64_t dim);
// dx_k = y_k (g_k - sum_j g_j y_j) along dim, y = softmax(x).
Vec softmax_backward(const Vec& x, const Shape& shape, int64_t dim, const Vec& g);
// y = log(softmax(x)) along dim.
Vec log_softmax(const Vec& x, const Shape& shape, int64_t dim);
// dx_k = g_k - softmax(x)_k sum_j g_j along dim.
Vec log_softmax_backward(const Vec& x, const Shape& shape, int64_t dim, const Vec& g);

}  // namespace ref
