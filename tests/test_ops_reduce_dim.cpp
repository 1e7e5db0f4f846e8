// Proves sum and mean along a dimension of ops/ops.h right on the CPU: the result (with and
// without keepdim) and the input gradient match the double references (reference/reduce_dim.h)
// along every dimension, negative dims included, and the gradients match finite differences
// of the ops themselves (gradcheck, op_check.h).
#include "op_check.h"

using minidl::Tensor;
using testutil::backward_with_upstream;
using testutil::grad_of;
using testutil::gradcheck;
using testutil::kTightTol;
using testutil::make_leaf;
using testutil::Shape;
using testutil::shape_str;
using testutil::Vec;
namespace ops = minidl::ops;

TEST_CASE("sum and mean along a dimension match the reference: forward and backward",
          "[cpu][ops][reduce]") {
  std::mt19937 rng(501);
  const std::vector<Shape> shapes = {{1}, {7}, {3, 5}, {1, 13, 1, 1}, {2, 3, 5, 7}, {3, 300}};
  for (const Shape& shape : shapes) {
    const int64_t rank = int64_t(shape.size());
    for (int64_t dim = -rank; dim < rank; ++dim) {
      const int64_t d = dim < 0 ? dim + rank : dim;
      for (bool keepdim : {false, true}) {
        INFO("shape " << shape_str(shape) << " dim " << dim << (keepdim ? " keepdim" : ""));
        Shape expected = shape;
        if (keepdim) {
          expected[d] = 1;
        } else {
          expected.erase(expected.begin() + d);
        }
        auto x = make_leaf(shape, rng);
        Tensor s = ops::sum(x.t, dim, keepdim);
        CHECK_SHAPE(s, expected);
        CHECK_REL(testutil::to_double(s), ref::sum_dim(x.v, shape, d), kTightTol);
        Vec u = backward_with_upstream(s, rng);
        CHECK_REL(grad_of(x.t), ref::sum_dim_backward(shape, d, u), kTightTol);

        auto z = make_leaf(shape, rng);
        Tensor m = ops::mean(z.t, dim, keepdim);
        CHECK_SHAPE(m, expected);
        CHECK_REL(testutil::to_double(m), ref::mean_dim(z.v, shape, d), kTightTol);
        u = backward_with_upstream(m, rng);
        CHECK_REL(grad_of(z.t), ref::mean_dim_backward(shape, d, u), kTightTol);
      }
    }
  }
}

TEST_CASE("sum and mean along a dimension have the hand-computed values", "[cpu][ops][reduce]") {
  const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  CHECK(ops::sum(x, 0).to_vector() == std::vector<float>{5.f, 7.f, 9.f});
  CHECK(ops::sum(x, 1).to_vector() == std::vector<float>{6.f, 15.f});
  CHECK(ops::mean(x, -1, true).shape() == minidl::Shape{2, 1});
  CHECK(ops::mean(x, -1, true).to_vector() == std::vector<float>{2.f, 5.f});
  // A rank-1 tensor summed along its only dimension is a rank-0 tensor.
  CHECK(ops::sum(Tensor::from_vector({1.f, 2.f}, {2}), 0).dim() == 0);
}

TEST_CASE("sum and mean along a dimension: gradients match finite differences",
          "[cpu][ops][reduce][gradcheck]") {
  std::mt19937 rng(502);
  const Tensor x = make_leaf({2, 3, 4}, rng, false).t;
  for (int64_t dim : {0, 1, 2}) {
    for (bool keepdim : {false, true}) {
      INFO("dim " << dim << (keepdim ? " keepdim" : ""));
      gradcheck([=](const std::vector<Tensor>& t) { return ops::sum(t[0], dim, keepdim); }, {x});
      gradcheck([=](const std::vector<Tensor>& t) { return ops::mean(t[0], dim, keepdim); }, {x});
    }
  }
}
