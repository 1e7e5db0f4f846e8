// Naive double-precision references for every op of ops/ops.h, forward and backward.
//
// These are the yardstick the library's float kernels are measured against (docs/design.md,
// section 4, the correctness protocol), so they are written to be obviously correct rather than
// fast: plain loops over std::vector<double>, row-major NCHW, every index spelled out. Each
// backward is itself checked against central finite differences in
// test_reference_gradcheck.cpp.
//
// Conventions: a backward takes the gradient of the op's output (`g`, same layout as the
// output) and returns the gradient of each input. Optional inputs (biases, gamma/beta) are
// passed as empty vectors to mean "absent", and their gradients are then empty too.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ref {

using Vec = std::vector<double>;
using Shape = std::vector<int64_t>;

int64_t numel(const Shape& shape);

// ---- elementwise -----------------------------------------------------------------------------
Vec add(const Vec& a, const Vec& b);  // equal sizes; the backward of a + b is (g, g)
Vec sub(const Vec& a, const Vec& b);  // equal sizes; the backward of a - b is (g, -g)
Vec mul(const Vec& a, const Vec& b);  // equal sizes, elementwise
struct MulGrads {
  Vec da, db;
};
MulGrads mul_backward(const Vec& a, const Vec& b, const Vec& g);
Vec scale(const Vec& a, double factor);  // its backward is scale(g, factor)
Vec relu(const Vec& x);
Vec relu_backward(const Vec& x, const Vec& g);

// x of shape [N, C] or [N, C, H, W] (any rank >= 2), bias [C] added along dimension 1.
Vec add_bias(const Vec& x, const Shape& x_shape, const Vec& bias);
struct AddBiasGrads {
  Vec dx, dbias;
};
AddBiasGrads add_bias_backward(const Shape& x_shape, const Vec& g);

// ---- reductions (scalar results; g is the scalar gradient of the output) ---------------------
double sum(const Vec& a);
Vec sum_backward(int64_t n, double g);
double mean(const Vec& a);
Vec mean_backward(int64_t n, double g);

// ---- matrix products -------------------------------------------------------------------------
// a [M, K] x b [K, N] -> [M, N]
Vec matmul(const Vec& a, const Vec& b, int64_t M, int64_t K, int64_t N);
struct MatmulGrads {
  Vec da, db;
};
MatmulGrads matmul_backward(const Vec& a, const Vec& b, const Vec& g, int64_t M, int64_t K,
                            int64_t N);

// x [N, in], w [out, in], b [out] or empty -> [N, out]
Vec linear(const Vec& x, const Vec& w, const Vec& b, int64_t N, int64_t in, int64_t out);
struct LinearGrads {
  Vec dx, dw, db;
};  // db empty when there is no bias
LinearGrads linear_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g, int64_t N,
                            int64_t in, int64_t out);

// ---- convolution -----------------------------------------------------------------------------
struct ConvShape {
  int64_t N, C, H, W;  // input
  int64_t K, R, S;     // K filters of C x R x S
  int64_t stride, pad;
  int64_t out_h() const { return (H + 2 * pad - R) / stride + 1; }
  int64_t out_w() const { return (W + 2 * pad - S) / stride + 1; }
  Shape x_shape() const { return {N, C, H, W}; }
  Shape w_shape() const { return {K, C, R, S}; }
  Shape y_shape() const { return {N, K, out_h(), out_w()}; }
};
// x [N, C, H, W], w [K, C, R, S], b [K] or empty -> [N, K, OH, OW]; zero padding.
Vec conv2d(const Vec& x, const Vec& w, const Vec& b, const ConvShape& s);
struct ConvGrads {
  Vec dx, dw, db;
};  // db empty when there is no bias
ConvGrads conv2d_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g,
                          const ConvShape& s);

// ---- pooling ---------------------------------------------------------------------------------
struct PoolShape {
  int64_t N, C, H, W;
  int64_t kernel, stride, pad;
  int64_t out_h() const { return (H + 2 * pad - kernel) / stride + 1; }
  int64_t out_w() const { return (W + 2 * pad - kernel) / stride + 1; }
  Shape x_shape() const { return {N, C, H, W}; }
  Shape y_shape() const { return {N, C, out_h(), out_w()}; }
};
// Max over the in-bounds cells of each window (padding never wins); the gradient goes to the
// first maximum in row-major window order.
Vec max_pool2d(const Vec& x, const PoolShape& s);
Vec max_pool2d_backward(const Vec& x, const Vec& g, const PoolShape& s);
// Sum of the in-bounds cells divided by kernel * kernel (padding counts as zeros).
Vec avg_pool2d(const Vec& x, const PoolShape& s);
Vec avg_pool2d_backward(const Vec& g, const PoolShape& s);
// [N, C, H, W] -> [N, C]
Vec global_avg_pool(const Vec& x, int64_t N, int64_t C, int64_t H, int64_t W);
Vec global_avg_pool_backward(const Vec& g, int64_t N, int64_t C, int64_t H, int64_t W);

// ---- batch normalization ---------------------------------------------------------------------
// x is [N, C, L...] given as N, C and L = product of the dimensions after C (1 for [N, C]).
// gamma/beta [C] or both empty (no affine transform).
struct BatchNormForward {
  Vec y;
  Vec mean;          // per channel, over N * L values
  Vec var;           // biased (divides by N * L): what normalizes
  Vec var_unbiased;  // divides by N * L - 1: what enters the running variance
};
BatchNormForward batch_norm_train(const Vec& x, const Vec& gamma, const Vec& beta, int64_t N,
                                  int64_t C, int64_t L, double eps);
struct BatchNormGrads {
  Vec dx, dgamma, dbeta;
};  // dgamma/dbeta empty without affine
BatchNormGrads batch_norm_train_backward(const Vec& x, const Vec& gamma, const Vec& g, int64_t N,
                                         int64_t C, int64_t L, double eps);
Vec batch_norm_eval(const Vec& x, const Vec& gamma, const Vec& beta, const Vec& running_mean,
                    const Vec& running_var, int64_t N, int64_t C, int64_t L, double eps);
BatchNormGrads batch_norm_eval_backward(const Vec& x, const Vec& gamma, const Vec& running_mean,
                                        const Vec& running_var, const Vec& g, int64_t N, int64_t C,
                                        int64_t L, double eps);
// running = (1 - momentum) * running + momentum * batch statistic.
Vec running_update(const Vec& running, const Vec& batch, double momentum);

// ---- loss ------------------------------------------------------------------------------------
// logits [N, K]; target row = (1 - eps) * one_hot(label) + eps / K; mean over the batch of
// -sum_k target_k * log softmax(logits)_k.
double softmax_cross_entropy(const Vec& logits, const std::vector<int>& labels, int64_t N,
                             int64_t K, double eps);
Vec softmax_cross_entropy_backward(const Vec& logits, const std::vector<int>& labels, int64_t N,
                                   int64_t K, double eps, double g);

}  // namespace ref

// Helpers shared by the suites: seeded random data, conversions between minidl::Tensor and
// std::vector<double>, and the norm-wise relative error every comparison uses.
namespace testutil {

using ref::Shape;
using ref::Vec;

// n values uniform in [low, high), each rounded to the nearest float so that the library's
// float input and the reference's double input are exactly the same numbers.
Vec random_vec(int64_t n, std::mt19937& rng, double low = -1.0, double high = 1.0);
std::vector<int> random_labels(int64_t n, int classes, std::mt19937& rng);

// ||a - b||_2 / max(||b||_2, 1e-12); b is the reference. Sizes must match (else +infinity).
double rel_err(const Vec& a, const Vec& b);

std::string shape_str(const Shape& shape);

// These touch the library, so they are inline: the reference itself links without it.
inline Vec to_double(const minidl::Tensor& t) {
  std::vector<float> f = t.to_vector();
  return Vec(f.begin(), f.end());
}

inline minidl::Tensor to_tensor(const Vec& v, const Shape& shape, bool requires_grad = false) {
  minidl::Tensor t = minidl::Tensor::from_vector(std::vector<float>(v.begin(), v.end()), shape);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

}  // namespace testutil
