// Helpers shared by the suites that compare the library with the double-precision references
// (tests/reference/): seeded random data, conversions between minidl::Tensor and
// std::vector<double>, and the norm-wise relative error every comparison uses.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "minidl/core/tensor.h"
#include "reference/common.h"

namespace testutil {

// The message of the exception `f` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

using ref::Shape;
using ref::Vec;

// n values uniform in [low, high), each rounded to the nearest float so that the library's
// float input and the reference's double input are exactly the same numbers.
Vec random_vec(int64_t n, std::mt19937& rng, double low = -1.0, double high = 1.0);
std::vector<int> random_labels(int64_t n, int classes, std::mt19937& rng);

// ||a - b||_2 / max(||b||_2, 1e-12); b is the reference. Sizes must match (else +infinity).
double rel_err(const Vec& a, const Vec& b);

using minidl::shape_str;  // "[2, 3, 4]": the library's own (core/shape.h)

// Between the library's float tensors and the references' doubles.
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
