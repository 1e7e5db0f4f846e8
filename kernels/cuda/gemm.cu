// Plain matrix products go to cuBLAS, as the project brief says. cuBLAS is column-major and we
// are row-major; a row-major M x N matrix is the column-major N x M matrix of the same bytes,
// so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T with the operands swapped.
// Under the CPU emulation there is no cuBLAS: the CPU GEMM (kernels/cpu/gemm.cpp) stands in.
#include "minidl/kernels/cuda/cuda_compat.cuh"
#include "minidl/kernels/gemm.h"

#ifdef MINIDL_CUDA_EMULATION

#include <vector>

namespace minidl::kernels::cuda {
int64_t gemm_workspace(int, int, int, int) { return 0; }  // as cuBLAS: the caller gives none
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c, float*) {
  // The stand-in's scratch, for the emulator only (the real backend is cuBLAS).
  std::vector<float> scratch(size_t(cpu::gemm_workspace(m, n, k, 1)));
  cpu::gemm(transpose_a, transpose_b, m, n, k, alpha, a, b, beta, c, scratch.data());
}
}  // namespace minidl::kernels::cuda

#else

#include <cublas_v2.h>

#include <stdexcept>
#include <string>

namespace minidl::kernels::cuda {

namespace {
// One handle for the process, on the default stream (created on first use).
cublasHandle_t handle(cublasStatus_t* status) {
  static cublasHandle_t h = nullptr;
  static cublasStatus_t created = cublasCreate(&h);
  *status = created;
  return h;
}
}  // namespace

// cuBLAS failures become std::runtime_error; core/dispatch.h adds the op's name.
void check(cublasStatus_t status, const char* what, int m, int n, int k) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw std::runtime_error(std::string(what) + " failed with status " +
                           std::to_string(int(status)) + " for [" + std::to_string(m) + " x " +
                           std::to_string(k) + "] x [" + std::to_string(k) + " x " +
                           std::to_string(n) + "]");
}

int64_t gemm_workspace(int, int, int, int) { return 0; }  // cuBLAS keeps its own

void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c, float*) {
  cublasStatus_t status;
  cublasHandle_t h = handle(&status);
  check(status, "cublasCreate", m, n, k);
  const int lda = transpose_a ? m : k;  // row lengths of A and B as stored
  const int ldb = transpose_b ? k : n;
  status = cublasSgemm(h, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                       transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a, lda,
                       &beta, c, n);
  check(status, "cublasSgemm", m, n, k);
}

}  // namespace minidl::kernels::cuda

#endif
