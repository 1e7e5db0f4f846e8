// Naive double-precision references for kernels/conv2d.h (see conv2d.h). Loops are written out
// index by index on purpose; nothing here is shared with the library's kernels.
#include "reference/conv2d.h"

namespace ref {

Vec conv2d(const Vec& x, const Vec& w, const Vec& b, const ConvShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  Vec y(s.N * s.K * OH * OW, 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b.empty() ? 0.0 : b[k];
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t q = 0; q < s.S; ++q) {
                const int64_t ih = oh * s.stride - s.pad + r;
                const int64_t iw = ow * s.stride - s.pad + q;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // zero padding
                acc += x[((n * s.C + c) * s.H + ih) * s.W + iw] *
                       w[((k * s.C + c) * s.R + r) * s.S + q];
              }
          y[((n * s.K + k) * OH + oh) * OW + ow] = acc;
        }
  return y;
}

ConvGrads conv2d_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g,
                          const ConvShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  ConvGrads r{Vec(x.size(), 0.0), Vec(w.size(), 0.0), has_bias ? Vec(s.K, 0.0) : Vec()};
  // The forward loop again, sending each output's gradient back along every product it summed.
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double go = g[((n * s.K + k) * OH + oh) * OW + ow];
          if (has_bias) r.db[k] += go;
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t rr = 0; rr < s.R; ++rr)
              for (int64_t q = 0; q < s.S; ++q) {
                const int64_t ih = oh * s.stride - s.pad + rr;
                const int64_t iw = ow * s.stride - s.pad + q;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                const int64_t xi = ((n * s.C + c) * s.H + ih) * s.W + iw;
                const int64_t wi = ((k * s.C + c) * s.R + rr) * s.S + q;
                r.dx[xi] += go * w[wi];
                r.dw[wi] += go * x[xi];
              }
        }
  return r;
}

}  // namespace ref
