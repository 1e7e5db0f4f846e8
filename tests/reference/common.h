// What every reference in tests/reference/ shares: values in double, shapes as lists of
// int64, and numel.
//
// The references are the yardstick the library's float kernels are measured against
// (docs/testing.md; docs/design.md, section 4, the correctness protocol), so they are written
// to be obviously correct rather than fast: plain loops over std::vector<double>, row-major
// NCHW, every index spelled out, nothing shared with or borrowed from the library (they do not
// include it). One header and source per op family, mirroring kernels/: the reference for
// kernels/conv2d.h is tests/reference/conv2d.cpp, and so on. Each backward is itself checked
// against central finite differences in tests/test_reference_gradcheck.cpp.
//
// Conventions: a backward takes the gradient of the op's output (`g`, same layout as the
// output) and returns the gradient of each input. Optional inputs (biases, gamma/beta) are
// passed as empty vectors to mean "absent", and their gradients are then empty too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ref {

using Vec = std::vector<double>;
using Shape = std::vector<int64_t>;

// The product of the dimensions (1 for a scalar's empty shape).
inline int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// The coordinates of flat index i in a row-major shape (last dimension fastest), and back:
// what the references of the ops along one dimension (softmax, cat, narrow, permute, sums over
// a dimension) index with, so that none of them needs the library's [outer, size, inner] view.
inline std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = i % shape[d];
    i /= shape[d];
  }
  return index;
}

inline int64_t ravel(const std::vector<int64_t>& index, const Shape& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + index[d];
  return i;
}

}  // namespace ref
