// Proves the elementwise ops and reductions of ops/ops.h (add, bias add, sub, mul, scale, relu,
// sum, mean) right on the CPU: forward output and every input gradient of the float32 library
// match the double reference (reference/elementwise.h) on several shapes, odd ones included.
#include "op_check.h"

using minidl::Tensor;
using testutil::backward_with_upstream;
using testutil::grad_of;
using testutil::kTightTol;
using testutil::make_leaf;
using testutil::Shape;
using testutil::shape_str;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

// Rank 0 to 4, a single element, and sizes that are not multiples of any vector width.
const std::vector<Shape> kShapes = {
    {}, {1}, {7}, {3, 5}, {1, 13, 1, 1}, {2, 3, 5, 7}, {4, 16, 9, 9},
};

}  // namespace

TEST_CASE("add of equal shapes matches the reference: forward and backward",
          "[cpu][ops][elementwise]") {
  std::mt19937 rng(101);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape_str(shape));
    auto a = make_leaf(shape, rng), b = make_leaf(shape, rng);
    Tensor y = ops::add(a.t, b.t);
    CHECK_SHAPE(y, shape);
    CHECK_REL(testutil::to_double(y), ref::add(a.v, b.v), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(a.t), u, kTightTol);
    CHECK_REL(grad_of(b.t), u, kTightTol);
  }
}

TEST_CASE("add of a per-channel bias along dimension 1 matches the reference: forward and backward",
          "[cpu][ops][elementwise]") {
  std::mt19937 rng(102);
  const std::vector<Shape> shapes = {
      {1, 1}, {4, 3}, {7, 13}, {1, 5, 1, 1}, {2, 3, 5, 7}, {3, 64, 4, 4}, {2, 13, 1, 9},
  };
  for (const Shape& shape : shapes) {
    INFO("x shape " << shape_str(shape));
    auto x = make_leaf(shape, rng), b = make_leaf({shape[1]}, rng);
    Tensor y = ops::add(x.t, b.t);
    CHECK_SHAPE(y, shape);
    CHECK_REL(testutil::to_double(y), ref::add_bias(x.v, shape, b.v), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    const ref::AddBiasGrads g = ref::add_bias_backward(shape, u);
    CHECK_REL(grad_of(x.t), g.dx, kTightTol);
    CHECK_REL(grad_of(b.t), g.dbias, kTightTol);
  }
}

TEST_CASE("sub matches the reference: forward and backward", "[cpu][ops][elementwise]") {
  std::mt19937 rng(103);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape_str(shape));
    auto a = make_leaf(shape, rng), b = make_leaf(shape, rng);
    Tensor y = ops::sub(a.t, b.t);
    CHECK_SHAPE(y, shape);
    CHECK_REL(testutil::to_double(y), ref::sub(a.v, b.v), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(a.t), u, kTightTol);
    CHECK_REL(grad_of(b.t), ref::scale(u, -1.0), kTightTol);
  }
}

TEST_CASE("mul matches the reference: forward and backward", "[cpu][ops][elementwise]") {
  std::mt19937 rng(104);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape_str(shape));
    auto a = make_leaf(shape, rng), b = make_leaf(shape, rng);
    Tensor y = ops::mul(a.t, b.t);
    CHECK_SHAPE(y, shape);
    CHECK_REL(testutil::to_double(y), ref::mul(a.v, b.v), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    const ref::MulGrads g = ref::mul_backward(a.v, b.v, u);
    CHECK_REL(grad_of(a.t), g.da, kTightTol);
    CHECK_REL(grad_of(b.t), g.db, kTightTol);
  }
}

TEST_CASE("mul of a tensor with itself sums both gradient paths", "[cpu][ops][elementwise]") {
  std::mt19937 rng(105);
  for (const Shape& shape : {Shape{5}, Shape{2, 3, 4, 5}}) {
    INFO("shape " << shape_str(shape));
    auto a = make_leaf(shape, rng);
    Tensor y = ops::mul(a.t, a.t);
    CHECK_REL(testutil::to_double(y), ref::mul(a.v, a.v), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    const ref::MulGrads g = ref::mul_backward(a.v, a.v, u);
    CHECK_REL(grad_of(a.t), ref::add(g.da, g.db), kTightTol);
  }
}

TEST_CASE("scale matches the reference: forward and backward", "[cpu][ops][elementwise]") {
  std::mt19937 rng(106);
  const float factors[] = {2.5f, -0.75f, 0.f, 1.f, 1e3f, -3.f, 0.125f};
  size_t i = 0;
  for (const Shape& shape : kShapes) {
    const float factor = factors[i++ % 7];
    INFO("shape " << shape_str(shape) << " factor " << factor);
    auto a = make_leaf(shape, rng);
    Tensor y = ops::scale(a.t, factor);
    CHECK_SHAPE(y, shape);
    const Vec u = backward_with_upstream(y, rng);
    if (factor == 0.f) {
      CHECK(ref::sum(ref::mul(testutil::to_double(y), testutil::to_double(y))) == 0.0);
      CHECK(ref::sum(ref::mul(grad_of(a.t), grad_of(a.t))) == 0.0);
      continue;
    }
    CHECK_REL(testutil::to_double(y), ref::scale(a.v, factor), kTightTol);
    CHECK_REL(grad_of(a.t), ref::scale(u, factor), kTightTol);
  }
}

TEST_CASE("relu matches the reference: forward and backward", "[cpu][ops][elementwise]") {
  std::mt19937 rng(107);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape_str(shape));
    auto x = make_leaf(shape, rng);
    Tensor y = ops::relu(x.t);
    CHECK_SHAPE(y, shape);
    CHECK_REL(testutil::to_double(y), ref::relu(x.v), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(x.t), ref::relu_backward(x.v, u), kTightTol);
  }
}

TEST_CASE("relu of exact zeros and negatives gives zero output and zero gradient",
          "[cpu][ops][elementwise]") {
  Tensor x = Tensor::from_vector({-2.f, 0.f, 3.f, -0.f}, {4}).set_requires_grad(true);
  Tensor y = ops::relu(x);
  CHECK(y.to_vector() == std::vector<float>{0.f, 0.f, 3.f, 0.f});
  ops::sum(y).backward();
  // The derivative at exactly 0 is taken as 0 (PyTorch's convention).
  CHECK(x.grad().to_vector() == std::vector<float>{0.f, 0.f, 1.f, 0.f});
}

TEST_CASE("sum matches the reference: forward and backward", "[cpu][ops][reduce]") {
  std::mt19937 rng(108);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape_str(shape));
    auto a = make_leaf(shape, rng);
    Tensor s = ops::sum(a.t);
    CHECK(s.dim() == 0);
    CHECK(s.numel() == 1);
    CHECK(s.item() == Approx(ref::sum(a.v)).epsilon(1e-5).margin(1e-5));
    ops::scale(s, -1.5f).backward();  // a non-trivial upstream gradient
    CHECK_REL(grad_of(a.t), ref::sum_backward(a.v.size(), -1.5), kTightTol);
  }
}

TEST_CASE("mean matches the reference: forward and backward", "[cpu][ops][reduce]") {
  std::mt19937 rng(109);
  for (const Shape& shape : kShapes) {
    INFO("shape " << shape_str(shape));
    auto a = make_leaf(shape, rng);
    Tensor m = ops::mean(a.t);
    CHECK(m.dim() == 0);
    CHECK(m.item() == Approx(ref::mean(a.v)).epsilon(1e-5).margin(1e-6));
    m.backward();
    CHECK_REL(grad_of(a.t), ref::mean_backward(a.v.size(), 1.0), kTightTol);
  }
}

TEST_CASE("sum of a large tensor stays accurate in float32", "[cpu][ops][reduce]") {
  // One million values of 0.1 sum to 1e5; a single float accumulator drifts by ~1% (each
  // addition rounds to the ulp of a large partial sum), several partial sums or a double
  // accumulator stay well within 0.2%.
  Tensor a = Tensor::full({1000, 1000}, 0.1f);
  CHECK(ops::sum(a).item() == Approx(1e5).epsilon(2e-3));
  CHECK(ops::mean(a).item() == Approx(0.1).epsilon(2e-3));
}
