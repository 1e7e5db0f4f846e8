// The naive GEMM on the CPU: one dot product per element of C (kernels/gemm.h), the rows split
// over the OpenMP threads. What kernels/cpu/gemm.cpp adds to it (packing, cache blocks, a 6x16
// register tile) is what bench/bench_gemm_cpu's "naive" rows measure.
#include "minidl/kernels/gemm.h"

namespace minidl::kernels::cpu {

void gemm_naive(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha,
                const float* a, const float* b, float beta, float* c) {
#pragma omp parallel for schedule(static)
  for (int row = 0; row < m; ++row) {
    for (int col = 0; col < n; ++col) {
      c[int64_t(row) * n + col] =
          gemm_naive_element(transpose_a, transpose_b, m, n, k, alpha, a, b, beta, c, row, col);
    }
  }
}

}  // namespace minidl::kernels::cpu
