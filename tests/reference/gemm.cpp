// Naive double-precision references for kernels/gemm.h (see gemm.h). Loops are written out
// index by index on purpose; nothing here is shared with the library's kernels.
#include "reference/gemm.h"

namespace ref {

Vec gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, double alpha,
         const Vec& a, const Vec& b, double beta, const Vec& c0) {
  Vec c(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a_ik = transpose_a ? a[k * M + i] : a[i * K + k];  // op(A)[i, k]
        const double b_kj = transpose_b ? b[j * K + k] : b[k * N + j];  // op(B)[k, j]
        acc += a_ik * b_kj;
      }
      c[i * N + j] = alpha * acc + (beta == 0 ? 0.0 : beta * c0[i * N + j]);
    }
  return c;
}

Vec matmul(const Vec& a, const Vec& b, int64_t M, int64_t K, int64_t N) {
  Vec c(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a[i * K + k] * b[k * N + j];
      c[i * N + j] = acc;
    }
  return c;
}

MatmulGrads matmul_backward(const Vec& a, const Vec& b, const Vec& g, int64_t M, int64_t K,
                            int64_t N) {
  MatmulGrads r{Vec(M * K, 0.0), Vec(K * N, 0.0)};
  // c[i, j] = sum_k a[i, k] b[k, j]: each product sends g[i, j] * (other factor) back.
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        r.da[i * K + k] += g[i * N + j] * b[k * N + j];
        r.db[k * N + j] += g[i * N + j] * a[i * K + k];
      }
  return r;
}

Vec linear(const Vec& x, const Vec& w, const Vec& b, int64_t N, int64_t in, int64_t out) {
  Vec y(N * out, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) acc += x[n * in + i] * w[o * in + i];
      y[n * out + o] = acc;
    }
  return y;
}

LinearGrads linear_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g, int64_t N,
                            int64_t in, int64_t out) {
  LinearGrads r{Vec(N * in, 0.0), Vec(out * in, 0.0), has_bias ? Vec(out, 0.0) : Vec()};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      const double go = g[n * out + o];
      for (int64_t i = 0; i < in; ++i) {
        r.dx[n * in + i] += go * w[o * in + i];
        r.dw[o * in + i] += go * x[n * in + i];
      }
      if (has_bias) r.db[o] += go;
    }
  return r;
}

}  // namespace ref
