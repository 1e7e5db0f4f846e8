// The naive GEMM on CUDA: one thread per element of C, each a dot product read straight from
// global memory (kernels/gemm.h). Every element of A is loaded N times and every element of B
// M times; the tiled kernels stage tiles in shared memory so that each load feeds many FMAs
// (kernels/cuda/conv2d_tiled.cu, then kernels/cuda/implicit_gemm.cuh). Plain products in
// the library go to cuBLAS (kernels/cuda/gemm.cu).
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/gemm.h"

namespace minidl::kernels::cuda {

namespace {

// Thread i owns C[i / n][i % n]: neighbouring threads, neighbouring columns of one row.
__global__ void gemm_naive_kernel(bool transpose_a, bool transpose_b, int m, int n, int k,
                                  float alpha, const float* a, const float* b, float beta,
                                  float* c) {
  const int64_t total = int64_t(m) * n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int row = int(i / n), col = int(i % n);
    c[i] = gemm_naive_element(transpose_a, transpose_b, m, n, k, alpha, a, b, beta, c, row, col);
  }
}

}  // namespace

void gemm_naive(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha,
                const float* a, const float* b, float beta, float* c) {
  launch("gemm_naive", gemm_naive_kernel, grid_for(int64_t(m) * n), kBlockSize, transpose_a,
         transpose_b, m, n, k, alpha, a, b, beta, c);
}

}  // namespace minidl::kernels::cuda
