// Matrix products on raw row-major float arrays.
//   C = alpha * op(A) * op(B) + beta * C,  op(X) = X or X^T,  op(A) is M x K, op(B) is K x N.
// CPU: minidl's packed, blocked GEMM (kernels/cpu/gemm.cpp; threaded through OpenMP when called
// outside a parallel region). CUDA: cuBLAS, which
// throws std::runtime_error with cuBLAS's status when it fails (core/dispatch.h names the op).
//
// Reference: tests/reference/gemm.cpp, the double-precision loop written to be obviously right. The
// CPU kernels here are tested against it, the CUDA kernels against the CPU ones (docs/testing.md).
#pragma once

#include "kernels/host_device.h"

namespace minidl::kernels {

namespace cpu {
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c);
}  // namespace cpu

namespace cuda {  // cuBLAS sgemm on device pointers (the CPU GEMM under the emulator)
void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c);
}  // namespace cuda

MINIDL_SAME_KERNEL(gemm);

}  // namespace minidl::kernels
