// The functional API: one function per op. Each checks its arguments (a minidl::Error naming
// the op and the shapes on misuse), dispatches to the CPU or CUDA kernel of its input's device,
// and records an autograd node so that backward() can differentiate it.
// Errors common to every op: an undefined or empty input, inputs on different devices, a rank
// or size that does not match what the op states below.
#pragma once

#include <memory>
#include <vector>

#include "minidl/core/random.h"
#include "minidl/core/storage.h"
#include "minidl/core/tensor.h"

namespace minidl::ops {

// ---- elementwise ---------------------------------------------------------------------------
// a + b for equal shapes; or b of shape [C] added along dimension 1 of a ([N, C] or
// [N, C, H, W]), which is how biases are broadcast.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);  // equal shapes
Tensor mul(const Tensor& a, const Tensor& b);  // equal shapes, elementwise
Tensor scale(const Tensor& a, float factor);   // a * factor
Tensor relu(const Tensor& x);                  // any shape; NaN stays NaN (as in PyTorch)

// ---- activations (any shape) ----------------------------------------------------------------
// Computed as PyTorch does, NaN in gives NaN out. sigmoid never overflows (it takes the
// exponential of -|x| only); exp overflows to +inf above x = 88.7; log(0) = -inf and
// log(x < 0) = NaN, with gradient 1 / x (+-inf at 0).
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
// x Phi(x), Phi the standard normal's distribution function: the exact GELU (Hendrycks and
// Gimpel, 2016), PyTorch's nn.GELU() default.
Tensor gelu(const Tensor& x);

// ---- reductions ----------------------------------------------------------------------------
// A `dim` argument counts from the end when negative, as in PyTorch (-1 is the last); out of
// [-rank, rank), or on a rank-0 tensor, it is an Error.
Tensor sum(const Tensor& a);   // all elements, rank-0 result
Tensor mean(const Tensor& a);  // all elements, rank-0 result
// Along dimension `dim`: the result has x's shape without that dimension, or with it of size 1
// when keepdim.
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);

// ---- softmax -------------------------------------------------------------------------------
// Along dimension `dim` (default the last), around each row's maximum so that no exponential
// overflows. log_softmax is computed directly (x - max - log sum exp(x - max)), not as
// log(softmax(x)), which gives -inf where a probability rounds to 0.
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

// ---- shape ---------------------------------------------------------------------------------
// Tensors have no strides (core/tensor.h): each op here writes a new contiguous tensor. For a
// new shape with the same element order, Tensor::reshape and Tensor::flatten are views.
// The tensors joined along `dim`: all on one device, of one rank, equal in every other
// dimension (else an Error naming the first that differs). At least one tensor.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Indices [start, start + length) of dimension `dim`: start >= 0, length >= 1 and
// start + length <= x.size(dim), else an Error.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// x with the order of indices along `dim` reversed (torch.flip over one dimension): flip(x, -1)
// mirrors images left to right. Its backward flips the gradient.
Tensor flip(const Tensor& x, int64_t dim);
// x with dimensions dim0 and dim1 swapped.
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
// x with its dimensions reordered: dimension d of the result is dimension dims[d] of x. dims
// holds each of x's dimensions exactly once (negative ones count from the end). Rank <= 8.
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);

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
// Losses between an input and a target of the same shape (any shape; else an Error naming
// both), averaged over every element (PyTorch's reduction='mean'). Rank-0 result. Both
// arguments are differentiable.
Tensor mse_loss(const Tensor& input, const Tensor& target);  // mean of (input - target)^2
// Mean of |input - target|; its gradient is sign(input - target), 0 where they are equal.
Tensor l1_loss(const Tensor& input, const Tensor& target);
// Mean of -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) for logits x and float targets t
// (usually in [0, 1]; not checked, as in PyTorch), computed as max(x, 0) - x t +
// log(1 + exp(-|x|)), which stays finite for any finite x.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets);

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
