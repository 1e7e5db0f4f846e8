// Naive double-precision references for kernels/pooling.h (see pooling.h). Loops are written
// out index by index on purpose; nothing here is shared with the library's kernels.
#include "reference/pooling.h"

#include <cassert>

namespace ref {

// Index into x of the first maximum of the window of output (n, c, oh, ow).
static int64_t max_pool_argmax(const Vec& x, const PoolShape& s, int64_t n, int64_t c, int64_t oh,
                               int64_t ow) {
  int64_t best = -1;
  for (int64_t r = 0; r < s.kernel; ++r)
    for (int64_t q = 0; q < s.kernel; ++q) {
      const int64_t ih = oh * s.stride - s.pad + r;
      const int64_t iw = ow * s.stride - s.pad + q;
      if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // padding never wins
      const int64_t i = ((n * s.C + c) * s.H + ih) * s.W + iw;
      if (best < 0 || x[i] > x[best]) best = i;
    }
  assert(best >= 0 && "a pooling window lies entirely in the padding");
  return best;
}

Vec max_pool2d(const Vec& x, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  Vec y(s.N * s.C * OH * OW);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          y[((n * s.C + c) * OH + oh) * OW + ow] = x[max_pool_argmax(x, s, n, c, oh, ow)];
  return y;
}

Vec max_pool2d_backward(const Vec& x, const Vec& g, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  Vec dx(x.size(), 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          dx[max_pool_argmax(x, s, n, c, oh, ow)] += g[((n * s.C + c) * OH + oh) * OW + ow];
  return dx;
}

Vec avg_pool2d(const Vec& x, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  const double area = static_cast<double>(s.kernel * s.kernel);
  Vec y(s.N * s.C * OH * OW);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = 0;
          for (int64_t r = 0; r < s.kernel; ++r)
            for (int64_t q = 0; q < s.kernel; ++q) {
              const int64_t ih = oh * s.stride - s.pad + r;
              const int64_t iw = ow * s.stride - s.pad + q;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // a zero
              acc += x[((n * s.C + c) * s.H + ih) * s.W + iw];
            }
          y[((n * s.C + c) * OH + oh) * OW + ow] = acc / area;
        }
  return y;
}

Vec avg_pool2d_backward(const Vec& g, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  const double area = static_cast<double>(s.kernel * s.kernel);
  Vec dx(s.N * s.C * s.H * s.W, 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double go = g[((n * s.C + c) * OH + oh) * OW + ow];
          for (int64_t r = 0; r < s.kernel; ++r)
            for (int64_t q = 0; q < s.kernel; ++q) {
              const int64_t ih = oh * s.stride - s.pad + r;
              const int64_t iw = ow * s.stride - s.pad + q;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              dx[((n * s.C + c) * s.H + ih) * s.W + iw] += go / area;
            }
        }
  return dx;
}

Vec global_avg_pool(const Vec& x, int64_t N, int64_t C, int64_t H, int64_t W) {
  Vec y(N * C, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int64_t i = 0; i < H * W; ++i) acc += x[(n * C + c) * H * W + i];
      y[n * C + c] = acc / static_cast<double>(H * W);
    }
  return y;
}

Vec global_avg_pool_backward(const Vec& g, int64_t N, int64_t C, int64_t H, int64_t W) {
  Vec dx(N * C * H * W);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H * W; ++i)
        dx[(n * C + c) * H * W + i] = g[n * C + c] / static_cast<double>(H * W);
  return dx;
}

}  // namespace ref
