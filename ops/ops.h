// The functional API: one function per op. Each checks its arguments (a minidl::Error naming
// the op and the shapes on misuse), dispatches to the CPU or CUDA kernel of its input's device,
// and records an autograd node so that backward() can differentiate it.
// Errors common to every op: an undefined or empty input, inputs on different devices, a rank
// or size that does not match what the op states below.
#pragma once

#include <memory>
#include <vector>

#include "core/random.h"
#include "core/storage.h"
#include "core/tensor.h"

namespace minidl::ops {

// ---- elementwise ---------------------------------------------------------------------------
// a + b for equal shapes; or b of shape [C] added along dimension 1 of a ([N, C] or
// [N, C, H, W]), which is how biases are broadcast.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);  // equal shapes
Tensor mul(const Tensor& a, const Tensor& b);  // equal shapes, elementwise
Tensor scale(const Tensor& a, float factor);   // a * factor
Tensor relu(const Tensor& x);                  // any shape; NaN stays NaN (as in PyTorch)

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
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding);
// x [N, C, H, W] -> [N, C, (H + 2p - kernel) / stride + 1, ...]. kernel, stride >= 1 and
// padding in [0, kernel / 2], else an Error. Padding cells never win a max and count as zeros
// in an average (PyTorch's defaults).
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
// Fused forms of what follows batch norm in a ResNet block, one kernel instead of two or
// three, with the same arguments and results as the composition they name:
//   batch_norm_relu(x, ...)               == relu(batch_norm(x, ...))
//   batch_norm_add_relu(x, residual, ...) == relu(batch_norm(x, ...) + residual)
// residual has x's shape. They read and write fewer full-size tensors and keep one fewer for
// the backward pass. Layers use them automatically (BatchNorm2d::forward_relu, Sequential).
Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& running_mean, const Tensor& running_var, bool training,
                       float momentum = 0.1f, float eps = 1e-5f);
Tensor batch_norm_add_relu(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                           const Tensor& beta, const Tensor& running_mean,
                           const Tensor& running_var, bool training, float momentum = 0.1f,
                           float eps = 1e-5f);
// training: zeroes each element with probability p and scales the rest by 1 / (1 - p);
// eval (training false) or p == 0: returns x unchanged.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

// ---- loss and metrics ----------------------------------------------------------------------
// logits [N, K], labels N integers in [0, K). Mean over the batch of the cross-entropy between
// softmax(logits) and the target (1 - smoothing) * one_hot + smoothing / K. Rank-0 result.
// Errors: a label count other than N, a label outside [0, K), smoothing outside [0, 1).
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels,
                             float label_smoothing = 0.f);
std::vector<int> argmax(const Tensor& logits);  // [N, K] -> N indices (first maximum)
// Fraction of rows whose argmax equals the label, in [0, 1]. Reads the logits back to the host.
// logits [N, K] and N labels, else an Error.
float accuracy(const Tensor& logits, const std::vector<int>& labels);

// Labels already on a device (int32), checked once when made: the loss and the metrics below
// read them there, with no copy and no wait for the GPU. A training loop that keeps its
// running loss and accuracy on the device this way reads them back only when it prints.
class Labels {
 public:
  Labels() = default;  // none yet (not made from braces: {0, 1} stays a std::vector<int>)
  // Wraps `count` int32 labels already in `storage`; checking their range is the caller's job.
  static Labels wrap(std::shared_ptr<Storage> storage, int64_t count);
  int64_t count() const { return count_; }
  bool empty() const { return storage_ == nullptr; }
  Device device() const { return storage_ ? storage_->device() : Device::CPU; }
  const int32_t* data() const { return static_cast<const int32_t*>(storage_->data()); }

 private:
  std::shared_ptr<Storage> storage_;
  int64_t count_ = 0;
};
// Copies `values` to `device` (a synchronous copy; data/batch_upload.h uploads asynchronously).
// Each must be in [0, classes), else an Error naming the first one that is not.
Labels make_labels(const std::vector<int>& values, int classes, Device device);
Tensor softmax_cross_entropy(const Tensor& logits, const Labels& labels,
                             float label_smoothing = 0.f);
// With Labels: as above; the labels must be on the logits' device and count N (else Error).
// The number of rows whose argmax equals the label: a rank-0 tensor on the logits' device.
Tensor count_correct(const Tensor& logits, const Labels& labels);

}  // namespace minidl::ops
