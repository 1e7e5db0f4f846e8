// Double-precision references for kernels/elementwise.h: the elementwise ops, the per-channel
// bias and the reductions to a scalar, forward and backward. Conventions: reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

// y = a + b, equal sizes; the backward of a + b is (g, g).
Vec add(const Vec& a, const Vec& b);
// y = a - b, equal sizes; the backward of a - b is (g, -g).
Vec sub(const Vec& a, const Vec& b);
// y = a * b, equal sizes, element by element.
Vec mul(const Vec& a, const Vec& b);
struct MulGrads {
  Vec da, db;
};
// da = g * b, db = g * a.
MulGrads mul_backward(const Vec& a, const Vec& b, const Vec& g);
// y = a * factor; its backward is scale(g, factor).
Vec scale(const Vec& a, double factor);
// y = max(x, 0).
Vec relu(const Vec& x);
// dx = g where x > 0, else 0.
Vec relu_backward(const Vec& x, const Vec& g);

// x of shape [N, C] or [N, C, H, W] (any rank >= 2), bias [C] added along dimension 1:
// y[n, c, ...] = x[n, c, ...] + bias[c].
Vec add_bias(const Vec& x, const Shape& x_shape, const Vec& bias);
struct AddBiasGrads {
  Vec dx, dbias;
};
// dx = g; dbias[c] = sum of g[n, c, ...] over n and the dimensions after c.
AddBiasGrads add_bias_backward(const Shape& x_shape, const Vec& g);

// Reductions: scalar results; g is the scalar gradient of the output.
double sum(const Vec& a);                // sum_i a_i
Vec sum_backward(int64_t n, double g);   // d/da_i = g
double mean(const Vec& a);               // sum_i a_i / n
Vec mean_backward(int64_t n, double g);  // d/da_i = g / n

}  // namespace ref
