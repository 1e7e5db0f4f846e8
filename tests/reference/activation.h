// Double-precision references for kernels/activation.h: sigmoid, tanh, exp, log and GELU, element
// by element, forward and backward (g the gradient of the output, x the input). Conventions:
// reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

Vec sigmoid(const Vec& x);                         // 1 / (1 + e^-x)
Vec sigmoid_backward(const Vec& x, const Vec& g);  // g s (1 - s), s = sigmoid(x)
Vec tanh(const Vec& x);
Vec tanh_backward(const Vec& x, const Vec& g);  // g (1 - tanh(x)^2)
Vec exp(const Vec& x);
Vec exp_backward(const Vec& x, const Vec& g);   // g e^x
Vec log(const Vec& x);                          // natural log; x > 0 in the tests
Vec log_backward(const Vec& x, const Vec& g);   // g / x
Vec gelu(const Vec& x);                         // x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2
Vec gelu_backward(const Vec& x, const Vec& g);  // g (Phi(x) + x phi(x)), phi the normal density

}  // namespace ref
