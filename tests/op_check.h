// What the op suites share: making float leaf tensors from seeded random data, driving a
// backward pass with a random upstream gradient, and comparing against the double reference
// with a norm-wise relative tolerance that names what was compared when it fails.
#pragma once

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/minidl.h"
#include "reference/reference.h"
#include "testutil.h"

namespace testutil {

// float32: ~1e-5..1e-4 relative to the reference norm (docs/design.md, section 4, the
// correctness protocol).
constexpr double kTol = 1e-4;
constexpr double kTightTol = 1e-5;

// A leaf tensor and the exact values it holds, as doubles.
struct Leaf {
  minidl::Tensor t;
  Vec v;
};

inline Leaf make_leaf(const Shape& shape, std::mt19937& rng, bool requires_grad = true,
                      double low = -1.0, double high = 1.0) {
  Vec v = random_vec(ref::numel(shape), rng, low, high);
  return Leaf{to_tensor(v, shape, requires_grad), v};
}

// Backpropagates sum(out * upstream) for a random upstream of out's shape and returns the
// upstream, so that every input gradient can be compared with reference_backward(upstream).
inline Vec backward_with_upstream(const minidl::Tensor& out, std::mt19937& rng) {
  Vec u = random_vec(out.numel(), rng);
  minidl::Tensor upstream = to_tensor(u, out.shape());
  minidl::ops::sum(minidl::ops::mul(out, upstream)).backward();
  return u;
}

// The accumulated gradient of a leaf, which must exist and have the leaf's shape.
inline Vec grad_of(const minidl::Tensor& leaf) {
  minidl::Tensor g = leaf.grad();
  REQUIRE(g.defined());
  REQUIRE(g.shape() == leaf.shape());
  return to_double(g);
}

}  // namespace testutil

// CHECK that `got` (library, Vec) is within relative tolerance `tol` of `expected` (reference).
#define CHECK_REL(got, expected, tol)                                                           \
  do {                                                                                          \
    const double check_rel_err_ = ::testutil::rel_err((got), (expected));                       \
    INFO(#got " vs " #expected ": relative error " << check_rel_err_ << " (tolerance " << (tol) \
                                                   << ", sizes " << (got).size() << " and "     \
                                                   << (expected).size() << ")");                \
    CHECK(check_rel_err_ <= (tol));                                                             \
  } while (0)

// CHECK that a tensor has the expected shape, printing both on failure.
#define CHECK_SHAPE(tensor, expected_shape)                                   \
  do {                                                                        \
    INFO("shape " << ::testutil::shape_str((tensor).shape()) << ", expected " \
                  << ::testutil::shape_str(expected_shape));                  \
    CHECK((tensor).shape() == ::testutil::Shape(expected_shape));             \
  } while (0)
