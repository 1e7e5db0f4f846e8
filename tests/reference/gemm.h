// Double-precision references for kernels/gemm.h: the general matrix product itself, and the
// two ops built on it (matmul and linear), forward and backward. Row-major throughout.
// Conventions: reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

// C = alpha * op(A) op(B) + beta * C0, op(X) = X or X^T, op(A) M x K, op(B) K x N, C M x N.
// A is stored [M, K], or [K, M] when transposed; B [K, N], or [N, K] when transposed.
// beta = 0 ignores C0 altogether (a NaN in it included), as BLAS does.
Vec gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, double alpha,
         const Vec& a, const Vec& b, double beta, const Vec& c0);

// c[i, j] = sum_k a[i, k] b[k, j]: a [M, K] x b [K, N] -> [M, N].
Vec matmul(const Vec& a, const Vec& b, int64_t M, int64_t K, int64_t N);
struct MatmulGrads {
  Vec da, db;
};
// da = g b^T, db = a^T g.
MatmulGrads matmul_backward(const Vec& a, const Vec& b, const Vec& g, int64_t M, int64_t K,
                            int64_t N);

// y[n, o] = b[o] + sum_i x[n, i] w[o, i]: x [N, in], w [out, in], b [out] or empty -> [N, out].
Vec linear(const Vec& x, const Vec& w, const Vec& b, int64_t N, int64_t in, int64_t out);
struct LinearGrads {
  Vec dx, dw, db;
};  // db empty when there is no bias
// dx = g w, dw = g^T x, db[o] = sum_n g[n, o].
LinearGrads linear_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g, int64_t N,
                            int64_t in, int64_t out);

}  // namespace ref
