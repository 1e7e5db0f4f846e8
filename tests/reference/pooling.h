// Double-precision references for kernels/pooling.h: max and average pooling over square
// windows, and the global average, on NCHW, forward and backward. Conventions:
// reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

struct PoolShape {
  int64_t N, C, H, W;
  int64_t kernel, stride, pad;
  int64_t out_h() const { return (H + 2 * pad - kernel) / stride + 1; }
  int64_t out_w() const { return (W + 2 * pad - kernel) / stride + 1; }
  Shape x_shape() const { return {N, C, H, W}; }
  Shape y_shape() const { return {N, C, out_h(), out_w()}; }
};

// y[n, c, oh, ow] = max over the in-bounds cells of the window at (oh*stride - pad,
// ow*stride - pad) (padding never wins); the gradient goes to the first maximum in row-major
// window order.
Vec max_pool2d(const Vec& x, const PoolShape& s);
Vec max_pool2d_backward(const Vec& x, const Vec& g, const PoolShape& s);
// y[n, c, oh, ow] = (sum of the in-bounds cells of the window) / (kernel * kernel): padding
// counts as zeros. Each cell of a window receives g / (kernel * kernel).
Vec avg_pool2d(const Vec& x, const PoolShape& s);
Vec avg_pool2d_backward(const Vec& g, const PoolShape& s);
// y[n, c] = sum_{h, w} x[n, c, h, w] / (H * W): [N, C, H, W] -> [N, C]; dx = g[n, c] / (H * W).
Vec global_avg_pool(const Vec& x, int64_t N, int64_t C, int64_t H, int64_t W);
Vec global_avg_pool_backward(const Vec& g, int64_t N, int64_t C, int64_t H, int64_t W);

}  // namespace ref
