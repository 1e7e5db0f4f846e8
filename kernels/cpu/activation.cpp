#include "minidl/kernels/activation.h"

namespace minidl::kernels::cpu {

// As the elementwise kernels: plain loops, vectorized by the compiler (the switch on `f` is
// loop-invariant, so it is hoisted out), split across cores once they pay for the fork.
constexpr int64_t kParallelThreshold = 1 << 15;

void activation_forward(Activation f, int64_t n, const float* x, float* y) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = activation_value(f, x[i]);
}

void activation_backward(Activation f, int64_t n, const float* saved, const float* dy, float* dx) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) dx[i] = activation_grad(f, saved[i], dy[i]);
}

}  // namespace minidl::kernels::cpu
