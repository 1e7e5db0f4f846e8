#include "minidl/kernels/activation.h"

#include <unsupported/Eigen/SpecialFunctions>

#include <algorithm>

namespace minidl::kernels::cpu {

// As the elementwise kernels: plain loops, vectorized by the compiler (the switch on `f` is
// loop-invariant, so it is hoisted out), split across cores once they pay for the fork.
constexpr int64_t kParallelThreshold = 1 << 15;

namespace {

// GELU is the exception. Its scalar formula (activation_value in kernels/activation.h, which
// the CUDA kernels use) calls erff and expf, which GCC does not vectorize, so it ran at about
// 0.2G elements/s on two cores, 15-19% of FastNet's CPU step (docs/results/cpu/
// profile_fastnet_batch512.txt). Here the same formulas run on Eigen arrays, whose erf (a
// 13/8-degree rational function, a couple of ulp on [-4, 4]) and exp are vectorized, in
// blocks small enough to stay in L1. 1 + erf(x / sqrt 2) cancels for negative x: below
// kGeluTail (where Phi < 0.023; relative error up to 4e-6 above it) the elements are done again
// with the scalar erfc formula, a few percent of a layer's pre-activations.
constexpr int64_t kGeluBlock = 2048;
constexpr float kGeluTail = -2.f;
constexpr float kInvSqrt2 = 0.70710678f;
constexpr float kInvSqrt2Pi = 0.39894228f;

using Floats = Eigen::Array<float, Eigen::Dynamic, 1>;
using ConstMap = Eigen::Map<const Floats>;
using Map = Eigen::Map<Floats>;

void gelu_forward(int64_t n, const float* x, float* y) {
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t start = 0; start < n; start += kGeluBlock) {
    const int64_t count = std::min(kGeluBlock, n - start);
    const ConstMap in(x + start, count);
    Map(y + start, count) = 0.5f * in * (1.f + (in * kInvSqrt2).erf());
    for (int64_t i = start; i < start + count; ++i) {
      if (x[i] < kGeluTail) y[i] = activation_value(Activation::Gelu, x[i]);
    }
  }
}

void gelu_backward(int64_t n, const float* x, const float* dy, float* dx) {
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t start = 0; start < n; start += kGeluBlock) {
    const int64_t count = std::min(kGeluBlock, n - start);
    const ConstMap in(x + start, count), grad(dy + start, count);
    const Floats cdf = 0.5f * (1.f + (in * kInvSqrt2).erf());
    const Floats density = kInvSqrt2Pi * (-0.5f * in.square()).exp();
    Map(dx + start, count) = grad * (cdf + in * density);
    for (int64_t i = start; i < start + count; ++i) {
      if (x[i] < kGeluTail) dx[i] = activation_grad(Activation::Gelu, x[i], dy[i]);
    }
  }
}

}  // namespace

void activation_forward(Activation f, int64_t n, const float* x, float* y) {
  if (f == Activation::Gelu) return gelu_forward(n, x, y);
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) y[i] = activation_value(f, x[i]);
}

void activation_backward(Activation f, int64_t n, const float* saved, const float* dy, float* dx) {
  if (f == Activation::Gelu) return gelu_backward(n, saved, dy, dx);
#pragma omp parallel for simd if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) dx[i] = activation_grad(f, saved[i], dy[i]);
}

}  // namespace minidl::kernels::cpu
