#include "minidl/kernels/elementwise.h"

namespace minidl::kernels::cpu {

// Plain loops: with -O3 -march=native the compiler vectorizes them, and OpenMP splits them
// across cores once they are large enough to pay for the fork.
constexpr int64_t kParallelThreshold = 1 << 15;

void fill(int64_t n, float value, float* out) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

void add(int64_t n, const float* a, const float* b, float* out) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void sub(int64_t n, const float* a, const float* b, float* out) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] - b[i];
}

void mul(int64_t n, const float* a, const float* b, float* out) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

void scale(int64_t n, const float* a, float factor, float* out) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * factor;
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void add_channel_bias(int64_t outer, int64_t channels, int64_t inner, const float* x,
                      const float* bias, float* out) {
#pragma omp parallel for collapse(2) if (outer * channels * inner > kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (o * channels + c) * inner;
      const float b = bias[c];
      for (int64_t i = 0; i < inner; ++i) out[base + i] = x[base + i] + b;
    }
  }
}

void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* grad,
                 float* bias_grad) {
  // One channel per iteration: each thread owns its output, so no reduction races.
#pragma omp parallel for if (outer * channels * inner > kParallelThreshold)
  for (int64_t c = 0; c < channels; ++c) {
    double total = 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = grad + (o * channels + c) * inner;
      float partial = 0.f;
      for (int64_t i = 0; i < inner; ++i) partial += row[i];
      total += partial;
    }
    bias_grad[c] = static_cast<float>(total);
  }
}

void sum(int64_t n, const float* a, float* out) {
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) total += a[i];
  out[0] = static_cast<float>(total);
}

void broadcast(int64_t n, const float* scalar, float* out) { fill(n, scalar[0], out); }

void relu_forward(int64_t n, const float* x, float* y) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = relu_value(x[i]);
}

void relu_backward(int64_t n, const float* y, const float* dy, float* dx) {
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) dx[i] = relu_grad(y[i], dy[i]);
}

}  // namespace minidl::kernels::cpu
