// Matrix products on raw row-major float arrays.
//   C = alpha * op(A) * op(B) + beta * C,  op(X) = X or X^T,  op(A) is M x K, op(B) is K x N.
// CPU: Eigen's blocked, vectorized GEMM (multithreaded through OpenMP). CUDA: cuBLAS.
#pragma once

namespace minidl::kernels {

namespace cpu {
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c);
}  // namespace cpu

namespace cuda {
// cuBLAS sgemm on device pointers (the CPU GEMM under the emulator). Returns 0 on success,
// else the cuBLAS status code, which the caller turns into an error naming its op.
int gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
         const float* b, float beta, float* c);
}  // namespace cuda

}  // namespace minidl::kernels
