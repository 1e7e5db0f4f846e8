// The functional API: one function per op. Each checks its arguments (a minidl::Error naming
// the op and the shapes on misuse), dispatches to the CPU or CUDA kernel of its input's device,
// and records an autograd node so that backward() can differentiate it.
#pragma once

#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace minidl::ops {

// ---- elementwise ---------------------------------------------------------------------------
// a + b for equal shapes; or b of shape [C] added along dimension 1 of a ([N, C] or
// [N, C, H, W]), which is how biases are broadcast.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);  // equal shapes
Tensor mul(const Tensor& a, const Tensor& b);  // equal shapes, elementwise
Tensor scale(const Tensor& a, float factor);   // a * factor
Tensor relu(const Tensor& x);

// ---- reductions ----------------------------------------------------------------------------
Tensor sum(const Tensor& a);   // all elements, rank-0 result
Tensor mean(const Tensor& a);  // all elements, rank-0 result

// ---- matrix products -----------------------------------------------------------------------
Tensor matmul(const Tensor& a, const Tensor& b);  // [M, K] x [K, N] -> [M, N]
// x [N, in], weight [out, in], bias [out] or undefined: x * weight^T + bias -> [N, out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution and pooling ---------------------------------------------------------------
// x [N, C, H, W], weight [K, C, R, S] (any R, S), bias [K] or undefined; the same stride and
// zero padding in both spatial dimensions. Output [N, K, (H + 2p - R) / s + 1, ...].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride,
              int padding);
// Padding cells never win a max and count as zeros in an average (PyTorch's defaults).
Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding = 0);
Tensor avg_pool2d(const Tensor& x, int kernel, int stride, int padding = 0);
Tensor global_avg_pool(const Tensor& x);  // [N, C, H, W] -> [N, C]

// ---- normalization and regularization ------------------------------------------------------
// x [N, C] or [N, C, H, W]; gamma, beta [C] or both undefined (no affine transform).
// training: normalizes with the batch mean and biased variance, and updates the running
// statistics in place: running = (1 - momentum) * running + momentum * batch, with the
// unbiased variance for running_var. eval: normalizes with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  float momentum = 0.1f, float eps = 1e-5f);
// training: zeroes each element with probability p and scales the rest by 1 / (1 - p);
// eval (training false) or p == 0: returns x unchanged.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

// ---- loss and metrics ----------------------------------------------------------------------
// logits [N, K], labels N integers in [0, K). Mean over the batch of the cross-entropy between
// softmax(logits) and the target (1 - smoothing) * one_hot + smoothing / K. Rank-0 result.
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels,
                             float label_smoothing = 0.f);
std::vector<int> argmax(const Tensor& logits);  // [N, K] -> N indices (first maximum)
// Fraction of rows whose argmax equals the label, in [0, 1].
float accuracy(const Tensor& logits, const std::vector<int>& labels);

}  // namespace minidl::ops
