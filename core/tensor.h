// Tensor: a float32 n-dimensional array (rank 0 to 4 and beyond), contiguous, row-major (NCHW
// for images), on one device. A Tensor is a cheap handle: copies share the same TensorImpl, and
// views (reshape, flatten, detach) share the same Storage.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "minidl/core/device.h"
#include "minidl/core/random.h"
#include "minidl/core/shape.h"
#include "minidl/core/storage.h"

namespace minidl {

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories -------------------------------------------------------------------------
  // Each makes a new tensor with its own storage on `device`. A negative dimension in `shape`
  // is an Error; a CUDA device without a usable GPU is an Error saying why (core/device.h).
  static Tensor empty(const Shape& shape, Device device = Device::CPU);  // uninitialized
  static Tensor zeros(const Shape& shape, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
  // values in row-major order; their count must equal the shape's element count.
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape,
                            Device device = Device::CPU);
  static Tensor scalar(float value, Device device = Device::CPU);  // rank 0
  // Drawn on the host from `gen` (so the same seed gives the same values on either device).
  // Errors: low > high, or a high - low that is not finite; a mean or stddev that is not
  // finite, stddev < 0. A shape whose element count overflows (checked_numel), in every factory.
  static Tensor uniform(const Shape& shape, float low, float high, Generator& gen,
                        Device device = Device::CPU);
  static Tensor normal(const Shape& shape, float mean, float stddev, Generator& gen,
                       Device device = Device::CPU);

  // ---- shape and placement ---------------------------------------------------------------
  // Every member below but defined(), shape_str() ("undefined"), requires_grad() and
  // is_leaf() (false) and the handle accessors throws an Error naming itself when the tensor
  // is undefined (default-constructed).
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end; out of range: Error
  int64_t numel() const;
  Device device() const;
  std::string shape_str() const;  // "[N, C, H, W]"

  // Raw element pointer (device memory for CUDA tensors). Elements are contiguous.
  float* data() const;

  // ---- views and copies ------------------------------------------------------------------
  // A view with a new shape and the same elements; one dimension may be -1 (inferred).
  // Differentiable. Error when the element counts differ or -1 cannot be inferred.
  Tensor reshape(const Shape& shape) const;
  // Merges dimensions start_dim..end into one: [N, C, H, W].flatten(1) is [N, C*H*W].
  // start_dim must be in [0, rank) (0 for a rank-0 tensor).
  Tensor flatten(int64_t start_dim = 1) const;
  // A copy on `device` (the same tensor when already there). Differentiable.
  Tensor to(Device device) const;
  // Moves this leaf's data to `device` in place: every handle to it (a module's parameter, an
  // optimizer's group) sees the move. Its gradient is dropped. On an op's result: Error.
  void move_to_(Device device);
  Tensor clone() const;  // a copy with its own storage, not part of the graph
  // Shares the data but not the graph: no grad_fn, requires_grad false.
  Tensor detach() const;

  // ---- host access (copies from the GPU when needed) -------------------------------------
  std::vector<float> to_vector() const;
  float item() const;  // the value of a one-element tensor (any other: Error)
  // One element, for tests: the index has one entry per dimension, each in range (else Error).
  float at(std::initializer_list<int64_t> index) const;
  void set(std::initializer_list<int64_t> index, float value);
  // In-place writes (set, fill_, copy_) are not recorded by autograd, but they bump the
  // storage's version (core/storage.h): a backward whose op saved the tensor (or anything
  // sharing its storage) before the write is refused (core/autograd.h). Write to leaves,
  // under NoGradGuard, between a backward and the next forward pass.
  void fill_(float value);  // in place, any device
  // The storage's count of in-place writes (core/storage.h): fill_, copy_, set and the
  // optimizers bump it; so must any other code that writes through data() into a tensor that
  // an autograd graph may have saved.
  uint64_t version() const;
  void bump_version() const;
  void copy_(const Tensor& source);  // in place, same shape (else Error), any devices

  // ---- autograd --------------------------------------------------------------------------
  bool requires_grad() const;
  // Only on leaves: on an op's result it is an Error (detach() it first).
  Tensor& set_requires_grad(bool enabled = true);
  // True for tensors made by factories, detach() and clone(); false for results of ops
  // recorded in the graph.
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward() reached this leaf
  void zero_grad();     // drops the accumulated gradient
  // Backpropagates from this one-element tensor (usually the loss) into every leaf that
  // requires grad. The graph is released afterwards; a second call on it is an Error.
  void backward() const;

  // The shared state behind the handle (null when undefined): for ops and autograd.
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void require_defined(const char* op) const;
  int64_t flat_index(const char* op, std::initializer_list<int64_t> index) const;
  std::shared_ptr<TensorImpl> impl_;
};

// What a Tensor handle points to. Users rarely touch it; ops and autograd do. The elements
// start at the beginning of the storage: every view (reshape, flatten, detach) covers all of
// it, so there is no offset.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  bool requires_grad = false;
  Tensor grad;                    // accumulated by backward() on leaves; undefined until then
  std::shared_ptr<Node> grad_fn;  // the op that produced this tensor (null for leaves)
};

}  // namespace minidl
