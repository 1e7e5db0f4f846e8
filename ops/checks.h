// Argument checks shared by the ops in ops/*.cpp. Each failure is a minidl::Error whose
// message names the op, the argument and its shape.
#pragma once

#include <initializer_list>

#include "minidl/core/error.h"
#include "minidl/core/tensor.h"

namespace minidl::checks {

// Defined and non-empty (no zero-size dimension).
inline void nonempty(const char* op, const char* name, const Tensor& t) {
  MINIDL_CHECK(t.defined(), op, name, " is undefined");
  MINIDL_CHECK(t.numel() > 0, op, name, " is empty (shape ", t.shape_str(), ")");
}

inline void rank(const char* op, const char* name, const Tensor& t, int64_t expected,
                 const char* layout) {
  nonempty(op, name, t);
  MINIDL_CHECK(t.dim() == expected, op, name, " must be rank ", expected, " ", layout,
               ", got shape ", t.shape_str());
}

// All defined tensors in the list are on the device of the first.
inline void same_device(const char* op, std::initializer_list<Tensor> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    if (!first) first = &t;
    MINIDL_CHECK(t.device() == first->device(), op, "tensors on different devices (",
                 device_name(first->device()), " ", first->shape_str(), " and ",
                 device_name(t.device()), " ", t.shape_str(), "); move them with to()");
  }
}

inline void same_shape(const char* op, const Tensor& a, const Tensor& b) {
  MINIDL_CHECK(a.shape() == b.shape(), op, "shapes differ: ", a.shape_str(), " and ",
               b.shape_str());
}
}  // namespace minidl::checks
