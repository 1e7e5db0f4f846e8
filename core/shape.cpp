#include "minidl/core/shape.h"

#include "minidl/core/error.h"

namespace minidl {

int64_t shape_numel(const Shape& shape) {
  for (int64_t d : shape) {
    if (d == 0) return 0;  // before any product: [2^62, 4, 0] must not overflow on its way
  }
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t checked_numel(const Shape& shape, const char* op, int64_t element_bytes) {
  int64_t count = 1;
  for (int64_t d : shape) {
    MINIDL_CHECK(d >= 0, op, "negative dimension in shape ", shape_str(shape));
  }
  // A zero anywhere makes the tensor empty, however large the other dimensions (as PyTorch).
  for (int64_t d : shape) {
    if (d == 0) return 0;
  }
  for (int64_t d : shape) {
    MINIDL_CHECK(!__builtin_mul_overflow(count, d, &count), op, "shape ", shape_str(shape),
                 " has more than 2^63 - 1 elements");
  }
  int64_t bytes = 0;
  MINIDL_CHECK(!__builtin_mul_overflow(count, element_bytes, &bytes), op, "shape ",
               shape_str(shape), " has ", count, " elements of ", element_bytes,
               " bytes: more than 2^63 - 1 bytes");
  return count;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace minidl
