// What the op suites share: making float leaf tensors from seeded random data, driving a
// backward pass with a random upstream gradient, comparing against the double reference with a
// norm-wise relative tolerance that names what was compared when it fails, and checking an
// op's gradients against finite differences of the op itself (gradcheck).
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "minidl/core/minidl.h"
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

namespace testutil {

// The library's own gradients against central finite differences of its own float32 forward
// pass, independently of the references: for f = sum(u * op(inputs)) with a seeded random
// upstream u, autograd's gradient of every input must match (f(x + h e_i) - f(x - h e_i)) / 2h,
// each f summed in double from the op's float outputs. float32 bounds the agreement: the
// outputs' rounding (~6e-8 relative), divided by 2h = 2e-2, is ~1e-5 of a gradient, and the
// O(h^2) truncation error is ~1e-5 for the smooth ops tested; kFiniteDiffTol leaves room above
// both. Inputs must keep farther than h from a kink (|x - y| in l1_loss). Each element costs
// two forward passes: keep the inputs to a few dozen elements.
constexpr double kFiniteDiffTol = 1e-3;
constexpr float kFiniteDiffStep = 1e-2f;

using TensorOp = std::function<minidl::Tensor(const std::vector<minidl::Tensor>&)>;

inline void gradcheck(const TensorOp& op, const std::vector<minidl::Tensor>& inputs,
                      uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<minidl::Tensor> leaves, args;
  for (const minidl::Tensor& t : inputs) {
    leaves.push_back(t.detach().clone().set_requires_grad(true));
    args.push_back(t.detach().clone());
  }
  const Vec u = backward_with_upstream(op(leaves), rng);
  const auto f = [&] {
    const minidl::NoGradGuard no_grad;
    const Vec y = to_double(op(args));
    double total = 0;
    for (size_t i = 0; i < y.size(); ++i) total += u[i] * y[i];
    return total;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    INFO("gradient of input " << k << " of shape " << shape_str(inputs[k].shape())
                              << " against finite differences");
    const std::vector<float> x = inputs[k].to_vector();
    Vec numeric(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      std::vector<float> plus = x, minus = x;
      plus[i] += kFiniteDiffStep;
      minus[i] -= kFiniteDiffStep;
      args[k] = minidl::Tensor::from_vector(plus, inputs[k].shape());
      const double f_plus = f();
      args[k] = minidl::Tensor::from_vector(minus, inputs[k].shape());
      const double f_minus = f();
      // The step actually taken: x +- h rounded to float.
      numeric[i] = (f_plus - f_minus) / (double(plus[i]) - double(minus[i]));
    }
    args[k] = inputs[k].detach().clone();
    CHECK_REL(grad_of(leaves[k]), numeric, kFiniteDiffTol);
  }
}

}  // namespace testutil
