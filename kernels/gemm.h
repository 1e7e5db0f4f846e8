// Matrix products on raw row-major float arrays.
//   C = alpha * op(A) * op(B) + beta * C,  op(X) = X or X^T,  op(A) is M x K, op(B) is K x N.
// CPU: minidl's packed, blocked GEMM (kernels/cpu/gemm.cpp; threaded through OpenMP when called
// outside a parallel region). CUDA: cuBLAS, which
// throws std::runtime_error with cuBLAS's status when it fails (core/dispatch.h names the op).
//
// Reference: tests/reference/gemm.cpp, the double-precision loop written to be obviously right. The
// CPU kernels here are tested against it, the CUDA kernels against the CPU ones (docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

// Scratch memory: gemm takes `workspace`, gemm_workspace(m, n, k, threads) floats (null when
// that is 0), where `threads` is how many threads may share the product. The CPU splits a
// large product over its OpenMP threads when called outside a parallel region (threads = 0:
// as many as that uses) and runs it on the calling thread alone inside one (threads = 1: a
// convolution's chunks call it so, each with its own workspace). CUDA needs none (cuBLAS keeps
// its own): 0.
namespace cpu {
int64_t gemm_workspace(int m, int n, int k, int threads);
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c, float* workspace);
}  // namespace cpu

namespace cuda {  // cuBLAS sgemm on device pointers (the CPU GEMM under the emulator)
int64_t gemm_workspace(int m, int n, int k, int threads);
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c, float* workspace);
}  // namespace cuda

MINIDL_SAME_KERNEL(gemm_workspace);
MINIDL_SAME_KERNEL(gemm);

// The teaching version: the definition of the product, one dot product per element of C, with
// none of the packing, blocking or register tiling of the fast ones. The CPU runs it as a loop
// nest (kernels/cpu/gemm_naive.cpp), CUDA as one thread per element (kernels/cuda/gemm_naive.cu);
// bench/bench_gemm_cpu times it beside the fast GEMM. Same arguments and results as gemm
// (beta = 0 ignores C, a NaN in it included).
MINIDL_HOST_DEVICE inline float gemm_naive_element(bool transpose_a, bool transpose_b, int m, int n,
                                                   int k, float alpha, const float* a,
                                                   const float* b, float beta, const float* c,
                                                   int row, int col) {
  float sum = 0.f;
  for (int i = 0; i < k; ++i) {
    const float a_value = transpose_a ? a[int64_t(i) * m + row] : a[int64_t(row) * k + i];
    const float b_value = transpose_b ? b[int64_t(col) * k + i] : b[int64_t(i) * n + col];
    sum += a_value * b_value;
  }
  const float before = beta == 0.f ? 0.f : beta * c[int64_t(row) * n + col];
  return alpha * sum + before;
}

namespace cpu {
void gemm_naive(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha,
                const float* a, const float* b, float beta, float* c);
}  // namespace cpu
namespace cuda {
void gemm_naive(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha,
                const float* a, const float* b, float beta, float* c);
}  // namespace cuda

MINIDL_SAME_KERNEL(gemm_naive);

}  // namespace minidl::kernels
