#include "minidl/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "minidl/core/autograd.h"
#include "minidl/core/cuda/runtime.h"
#include "minidl/core/dispatch.h"
#include "minidl/core/error.h"
#include "minidl/kernels/elementwise.h"

namespace minidl {

namespace {

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, Device device, const char* op) {
  const int64_t count = checked_numel(shape, op, sizeof(float));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = std::make_shared<Storage>(size_t(count) * sizeof(float), device);
  return impl;
}

// Copies bytes between any two devices.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device == Device::CPU && src_device == Device::CPU) {
    std::memcpy(dst, src, bytes);
  } else if (dst_device == Device::CUDA && src_device == Device::CPU) {
    cuda_runtime::copy_host_to_device(dst, src, bytes);
  } else if (dst_device == Device::CPU && src_device == Device::CUDA) {
    cuda_runtime::copy_device_to_host(dst, src, bytes);
  } else {
    cuda_runtime::copy_device_to_device(dst, src, bytes);
  }
}

}  // namespace

// ---- factories ---------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, Device device) {
  return Tensor(new_impl(shape, device, "Tensor::empty"));
}

Tensor Tensor::zeros(const Shape& shape, Device device) { return full(shape, 0.f, device); }

Tensor Tensor::ones(const Shape& shape, Device device) { return full(shape, 1.f, device); }

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t(new_impl(shape, device, "Tensor::full"));
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape, Device device) {
  const int64_t count = checked_numel(shape, "Tensor::from_vector");
  MINIDL_CHECK(static_cast<int64_t>(values.size()) == count, "Tensor::from_vector", values.size(),
               " values cannot fill shape ", minidl::shape_str(shape), " (", count, " elements)");
  Tensor t(new_impl(shape, device, "Tensor::from_vector"));
  copy_bytes(t.data(), device, values.data(), Device::CPU, values.size() * sizeof(float));
  return t;
}

Tensor Tensor::scalar(float value, Device device) { return full({}, value, device); }

Tensor Tensor::uniform(const Shape& shape, float low, float high, Generator& gen, Device device) {
  MINIDL_CHECK(low <= high && std::isfinite(high - low), "Tensor::uniform", "low ", low,
               " and high ", high, " must be finite with low <= high");
  std::vector<float> values(size_t(checked_numel(shape, "Tensor::uniform")));
  for (float& v : values) v = gen.uniform(low, high);
  return from_vector(values, shape, device);
}

Tensor Tensor::normal(const Shape& shape, float mean, float stddev, Generator& gen, Device device) {
  MINIDL_CHECK(stddev >= 0.f && std::isfinite(stddev) && std::isfinite(mean), "Tensor::normal",
               "mean ", mean, " and standard deviation ", stddev,
               " must be finite, the deviation >= 0");
  std::vector<float> values(size_t(checked_numel(shape, "Tensor::normal")));
  for (float& v : values) v = gen.normal(mean, stddev);
  return from_vector(values, shape, device);
}

// ---- shape and placement -----------------------------------------------------------------

void Tensor::require_defined(const char* op) const {
  MINIDL_CHECK(impl_ != nullptr, op, "the tensor is undefined (default-constructed)");
}

const Shape& Tensor::shape() const {
  require_defined("Tensor::shape");
  return impl_->shape;
}

int64_t Tensor::size(int64_t d) const {
  const int64_t rank = dim();
  const int64_t index = d < 0 ? d + rank : d;
  MINIDL_CHECK(index >= 0 && index < rank, "Tensor::size", "dimension ", d,
               " out of range for shape ", shape_str());
  return impl_->shape[index];
}

int64_t Tensor::numel() const { return shape_numel(shape()); }

Device Tensor::device() const {
  require_defined("Tensor::device");
  return impl_->storage->device();
}

std::string Tensor::shape_str() const {
  return defined() ? minidl::shape_str(shape()) : "undefined";
}

float* Tensor::data() const {
  require_defined("Tensor::data");
  return static_cast<float*>(impl_->storage->data());
}

// ---- views and copies --------------------------------------------------------------------

Tensor Tensor::reshape(const Shape& new_shape) const {
  require_defined("reshape");
  Shape resolved = new_shape;
  int64_t known = 1, inferred = -1;
  const bool has_zero = std::count(new_shape.begin(), new_shape.end(), 0) > 0;
  for (size_t i = 0; i < resolved.size(); ++i) {
    if (resolved[i] == -1) {
      MINIDL_CHECK(inferred < 0, "reshape", "more than one -1 in ", minidl::shape_str(new_shape));
      inferred = static_cast<int64_t>(i);
    } else {
      MINIDL_CHECK(resolved[i] >= 0, "reshape", "negative size in ", minidl::shape_str(new_shape));
      // With a zero among the sizes the product is 0, however large the others.
      MINIDL_CHECK(has_zero || !__builtin_mul_overflow(known, resolved[i], &known), "reshape",
                   "shape ", minidl::shape_str(new_shape), " has more than 2^63 - 1 elements");
    }
  }
  if (has_zero) known = 0;
  if (inferred >= 0) {
    MINIDL_CHECK(known > 0 && numel() % known == 0, "reshape", "cannot infer -1 reshaping ",
                 shape_str(), " to ", minidl::shape_str(new_shape));
    resolved[inferred] = numel() / known;
  }
  MINIDL_CHECK(checked_numel(resolved, "reshape") == numel(), "reshape", "cannot reshape ",
               shape_str(), " (", numel(), " elements) to ", minidl::shape_str(new_shape));

  auto view = std::make_shared<TensorImpl>();
  view->storage = impl_->storage;
  view->shape = resolved;
  Tensor out(view);
  const Shape original = shape();
  record(
      "reshape", out, {*this},
      [original](const Tensor& g) { return std::vector<Tensor>{g.reshape(original)}; },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor Tensor::flatten(int64_t start_dim) const {
  const int64_t rank = dim();
  MINIDL_CHECK(start_dim >= 0 && start_dim < std::max<int64_t>(rank, 1), "flatten", "start_dim ",
               start_dim, " out of range for shape ", shape_str());
  Shape flat(shape().begin(), shape().begin() + start_dim);
  flat.push_back(-1);
  return reshape(flat);
}

Tensor Tensor::to(Device target) const {
  require_defined("Tensor::to");
  if (device() == target) return *this;
  Tensor out = empty(shape(), target);
  copy_bytes(out.data(), target, data(), device(), numel() * sizeof(float));
  const Device source = device();
  record(
      "to", out, {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; },
      SavedInputs::ShapesOnly);
  return out;
}

void Tensor::move_to_(Device target) {
  require_defined("Tensor::move_to_");
  MINIDL_CHECK(is_leaf(), "Tensor::move_to_",
               "only leaf tensors can move in place; use to() on the result of an op");
  if (device() == target) return;
  impl_->storage = detach().to(target).impl_->storage;  // a copy of the data, then a swap
  impl_->grad = Tensor();
}

Tensor Tensor::clone() const {
  require_defined("Tensor::clone");
  Tensor out = empty(shape(), device());
  copy_bytes(out.data(), device(), data(), device(), numel() * sizeof(float));
  return out;
}

Tensor Tensor::detach() const {
  require_defined("Tensor::detach");
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl_->storage;
  view->shape = impl_->shape;
  return Tensor(view);
}

// ---- host access -------------------------------------------------------------------------

std::vector<float> Tensor::to_vector() const {
  require_defined("Tensor::to_vector");
  std::vector<float> values(numel());
  copy_bytes(values.data(), Device::CPU, data(), device(), values.size() * sizeof(float));
  return values;
}

float Tensor::item() const {
  MINIDL_CHECK(defined() && numel() == 1, "item", "needs a one-element tensor, got shape ",
               shape_str());
  return to_vector()[0];
}

int64_t Tensor::flat_index(const char* op, std::initializer_list<int64_t> index) const {
  require_defined(op);
  MINIDL_CHECK(static_cast<int64_t>(index.size()) == dim(), op, "index of rank ", index.size(),
               " for a tensor of shape ", shape_str());
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    MINIDL_CHECK(i >= 0 && i < impl_->shape[d], op, "index ", i, " out of range in dimension ", d,
                 " of shape ", shape_str());
    flat = flat * impl_->shape[d] + i;
    ++d;
  }
  return flat;
}

float Tensor::at(std::initializer_list<int64_t> index) const {
  const int64_t flat = flat_index("Tensor::at", index);
  float value = 0.f;
  copy_bytes(&value, Device::CPU, data() + flat, device(), sizeof(float));
  return value;
}

void Tensor::set(std::initializer_list<int64_t> index, float value) {
  const int64_t flat = flat_index("Tensor::set", index);
  copy_bytes(data() + flat, device(), &value, Device::CPU, sizeof(float));
  bump_version();
}

void Tensor::fill_(float value) {
  require_defined("fill_");
  MINIDL_DISPATCH(*this, "fill_", fill(numel(), value, data()));
  bump_version();
}

uint64_t Tensor::version() const {
  require_defined("Tensor::version");
  return impl_->storage->version();
}

void Tensor::bump_version() const {
  require_defined("Tensor::bump_version");
  impl_->storage->bump_version();
}

void Tensor::copy_(const Tensor& source) {
  require_defined("copy_");
  MINIDL_CHECK(source.defined() && source.shape() == shape(), "copy_", "source shape ",
               source.shape_str(), " differs from destination shape ", shape_str());
  copy_bytes(data(), device(), source.data(), source.device(), numel() * sizeof(float));
  bump_version();
}

// ---- autograd ----------------------------------------------------------------------------

bool Tensor::requires_grad() const { return defined() && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool enabled) {
  require_defined("set_requires_grad");
  MINIDL_CHECK(is_leaf(), "set_requires_grad",
               "only leaf tensors can change requires_grad; use detach() on the result of an op");
  impl_->requires_grad = enabled;
  return *this;
}

bool Tensor::is_leaf() const { return defined() && impl_->grad_fn == nullptr; }

Tensor Tensor::grad() const {
  require_defined("grad");
  return impl_->grad;
}

void Tensor::zero_grad() {
  require_defined("zero_grad");
  impl_->grad = Tensor();
}

void Tensor::backward() const { run_backward(*this); }

}  // namespace minidl
