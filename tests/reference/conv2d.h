// Double-precision references for kernels/conv2d.h: 2-D convolution (cross-correlation, as in
// every DL framework) on NCHW, forward and backward. Every algorithm of the library (im2col +
// GEMM, implicit GEMM, Winograd through kernels/winograd_transforms.h) must agree with this
// one loop. Conventions: reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

struct ConvShape {
  int64_t N, C, H, W;  // input
  int64_t K, R, S;     // K filters of C x R x S
  int64_t stride, pad;
  int64_t out_h() const { return (H + 2 * pad - R) / stride + 1; }
  int64_t out_w() const { return (W + 2 * pad - S) / stride + 1; }
  Shape x_shape() const { return {N, C, H, W}; }
  Shape w_shape() const { return {K, C, R, S}; }
  Shape y_shape() const { return {N, K, out_h(), out_w()}; }
};

// x [N, C, H, W], w [K, C, R, S], b [K] or empty -> y [N, K, OH, OW], zero padding:
//   y[n, k, oh, ow] = b[k] + sum_{c, r, s} x[n, c, oh*stride - pad + r, ow*stride - pad + s]
//                                          * w[k, c, r, s]
// where x outside the image is 0.
Vec conv2d(const Vec& x, const Vec& w, const Vec& b, const ConvShape& s);
struct ConvGrads {
  Vec dx, dw, db;
};  // db empty when there is no bias
// The forward's sum read backwards: each product x * w above sends g[n, k, oh, ow] * w to dx
// and g[n, k, oh, ow] * x to dw; db[k] = sum of g[n, k, ., .].
ConvGrads conv2d_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g,
                          const ConvShape& s);

}  // namespace ref
