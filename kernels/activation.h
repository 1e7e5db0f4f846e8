// Elementwise activations over n contiguous floats: sigmoid, tanh, exp, log and GELU, forward
// and backward. One kernel pair for the five, told apart by `Activation`, because they differ
// only in the formula of one element, which lives once, here, for both devices.
// Outputs may alias inputs. The CUDA versions take device pointers.
//
// Reference: tests/reference/activation.cpp, the double-precision loop written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cmath>
#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

enum class Activation { Sigmoid, Tanh, Exp, Log, Gelu };

// y = f(x). Sigmoid takes the exponential of -|x| only, so it never overflows: for x < 0 it is
// exp(x) / (1 + exp(x)), which keeps tiny results (1e-40 at x = -92) that 1 / (1 + exp(-x))
// would round to 1 / inf = 0. log follows IEEE and PyTorch: log(0) = -inf, log(x < 0) = NaN.
// GELU is the exact form, x Phi(x) with Phi the standard normal's distribution function
// 0.5 (1 + erf(x / sqrt 2)): PyTorch's nn.GELU() default, not its tanh approximation. Phi is
// computed as 0.5 erfc(-x / sqrt 2), which is the same number without the cancellation of
// 1 + erf for negative x (there 1 + erf(x / sqrt 2) loses all its digits below x = -5).
MINIDL_HOST_DEVICE inline float activation_value(Activation f, float x) {
  switch (f) {
    case Activation::Sigmoid: {
      if (x >= 0.f) return 1.f / (1.f + expf(-x));
      const float e = expf(x);  // also the NaN path: NaN >= 0 is false
      return e / (1.f + e);
    }
    case Activation::Tanh: return tanhf(x);
    case Activation::Exp: return expf(x);
    case Activation::Log: return logf(x);
    case Activation::Gelu: return 0.5f * x * erfcf(-x * 0.70710678f);
  }
  return x;  // unreachable
}

// True when the backward pass reads the input x; else it reads the output y, which lets the
// forward pass's input be freed (sigmoid, tanh and exp have derivatives in terms of y). log's
// derivative 1 / x would be exp(-y) from the output: an extra exponential, and inexact; GELU's
// cannot be written in y at all (GELU is not one-to-one below x = -0.75).
MINIDL_HOST_DEVICE inline bool activation_grad_reads_input(Activation f) {
  return f == Activation::Log || f == Activation::Gelu;
}

// dx from dy and the saved value (x for log and GELU, y otherwise, as above):
//   sigmoid' = y (1 - y),  tanh' = 1 - y^2,  exp' = y,  log' = 1 / x,
//   GELU' = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal density.
MINIDL_HOST_DEVICE inline float activation_grad(Activation f, float saved, float dy) {
  switch (f) {
    case Activation::Sigmoid: return dy * saved * (1.f - saved);
    case Activation::Tanh: return dy * (1.f - saved * saved);
    case Activation::Exp: return dy * saved;
    case Activation::Log: return dy / saved;
    case Activation::Gelu: {
      const float cdf = 0.5f * erfcf(-saved * 0.70710678f);
      const float density = 0.39894228f * expf(-0.5f * saved * saved);
      return dy * (cdf + saved * density);
    }
  }
  return dy;  // unreachable
}

namespace cpu {
void activation_forward(Activation f, int64_t n, const float* x, float* y);  // y = f(x)
// dx = activation_grad(f, saved, dy), saved being x or y (activation_grad_reads_input).
void activation_backward(Activation f, int64_t n, const float* saved, const float* dy, float* dx);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void activation_forward(Activation f, int64_t n, const float* x, float* y);
void activation_backward(Activation f, int64_t n, const float* saved, const float* dy, float* dx);
}  // namespace cuda

MINIDL_SAME_KERNEL(activation_forward);
MINIDL_SAME_KERNEL(activation_backward);

}  // namespace minidl::kernels
