// Proves cat, narrow, flip, transpose and permute of ops/ops.h right on the CPU: the result and
// every input gradient match the double references (reference/shape_ops.h) along every dimension,
// negative dims included, the gradients match finite differences of the ops themselves
// (gradcheck, op_check.h), and so do those of the reshape and flatten views.
#include "op_check.h"

using minidl::Tensor;
using testutil::backward_with_upstream;
using testutil::grad_of;
using testutil::gradcheck;
using testutil::make_leaf;
using testutil::Shape;
using testutil::shape_str;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {
// Moving elements is exact: the library must give the reference's values to the last bit.
constexpr double kExact = 0.0;
}  // namespace

TEST_CASE("cat matches the reference along every dimension: forward and backward",
          "[cpu][ops][shape]") {
  std::mt19937 rng(401);
  const Shape base = {2, 3, 4, 5};
  for (int64_t dim = -4; dim < 4; ++dim) {
    const int64_t d = dim < 0 ? dim + 4 : dim;
    INFO("dim " << dim);
    std::vector<Shape> shapes = {base, base, base};
    shapes[1][d] = 1;  // along the joined dimension: base[d], 1 and 2 long
    shapes[2][d] = 2;
    std::vector<testutil::Leaf> leaves;
    std::vector<Tensor> tensors;
    std::vector<Vec> values;
    for (const Shape& s : shapes) {
      leaves.push_back(make_leaf(s, rng));
      tensors.push_back(leaves.back().t);
      values.push_back(leaves.back().v);
    }
    Tensor y = ops::cat(tensors, dim);
    Shape expected = base;
    expected[d] = base[d] + 3;
    CHECK_SHAPE(y, expected);
    CHECK_REL(testutil::to_double(y), ref::cat(values, shapes, d), kExact);
    const Vec u = backward_with_upstream(y, rng);
    const std::vector<Vec> g = ref::cat_backward(shapes, d, u);
    for (size_t j = 0; j < leaves.size(); ++j) CHECK_REL(grad_of(leaves[j].t), g[j], kExact);
  }
}

TEST_CASE("cat of one tensor copies it and a tensor used twice gets both gradients",
          "[cpu][ops][shape]") {
  Tensor a = Tensor::from_vector({1.f, 2.f}, {2}).set_requires_grad(true);
  CHECK(ops::cat({a}).to_vector() == std::vector<float>{1.f, 2.f});
  Tensor y = ops::cat({a, a}, 0);
  CHECK(y.to_vector() == std::vector<float>{1.f, 2.f, 1.f, 2.f});
  ops::sum(ops::mul(y, Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {4}))).backward();
  CHECK(a.grad().to_vector() == std::vector<float>{4.f, 6.f});
}

TEST_CASE("narrow matches the reference: forward and backward", "[cpu][ops][shape]") {
  std::mt19937 rng(402);
  struct Case {
    Shape shape;
    int64_t dim, start, length;
  };
  const Case cases[] = {{{7}, 0, 2, 3},          {{4, 5}, 1, 0, 5},        {{4, 5}, -2, 3, 1},
                        {{2, 3, 4, 5}, 2, 1, 2}, {{2, 3, 4, 5}, -1, 4, 1}, {{2, 3, 4, 5}, 0, 1, 1}};
  for (const Case& c : cases) {
    const int64_t d = c.dim < 0 ? c.dim + int64_t(c.shape.size()) : c.dim;
    INFO("shape " << shape_str(c.shape) << " dim " << c.dim << " start " << c.start << " length "
                  << c.length);
    auto x = make_leaf(c.shape, rng);
    Tensor y = ops::narrow(x.t, c.dim, c.start, c.length);
    Shape expected = c.shape;
    expected[d] = c.length;
    CHECK_SHAPE(y, expected);
    CHECK_REL(testutil::to_double(y), ref::narrow(x.v, c.shape, d, c.start, c.length), kExact);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(x.t), ref::narrow_backward(c.shape, d, c.start, c.length, u), kExact);
  }
}

TEST_CASE("flip matches the reference along every dimension: forward and backward",
          "[cpu][ops][shape]") {
  std::mt19937 rng(405);
  const Shape shapes[] = {{1}, {7}, {4, 5}, {2, 3, 4, 5}, {3, 1, 2}};
  for (const Shape& shape : shapes) {
    for (int64_t dim = -int64_t(shape.size()); dim < int64_t(shape.size()); ++dim) {
      const int64_t d = dim < 0 ? dim + int64_t(shape.size()) : dim;
      INFO("shape " << shape_str(shape) << " dim " << dim);
      auto x = make_leaf(shape, rng);
      Tensor y = ops::flip(x.t, dim);
      CHECK_SHAPE(y, shape);
      CHECK_REL(testutil::to_double(y), ref::flip(x.v, shape, d), kExact);
      const Vec u = backward_with_upstream(y, rng);
      CHECK_REL(grad_of(x.t), ref::flip(u, shape, d), kExact);
    }
  }
  REQUIRE_THROWS_WITH(ops::flip(Tensor::zeros({2, 3}), 2),
                      Catch::Contains("flip: dim 2 is out of range for x of shape [2, 3]"));
}

TEST_CASE("transpose and permute match the reference: forward and backward", "[cpu][ops][shape]") {
  std::mt19937 rng(403);
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;  // for permute, already in [0, rank)
  };
  const Case cases[] = {{{5}, {0}},
                        {{3, 4}, {1, 0}},
                        {{1, 7}, {1, 0}},
                        {{2, 3, 4}, {2, 0, 1}},
                        {{2, 3, 4}, {0, 2, 1}},
                        {{2, 3, 4, 5}, {3, 1, 0, 2}},
                        {{2, 3, 4, 5}, {0, 2, 3, 1}},
                        {{2, 1, 3, 1, 2}, {4, 3, 2, 1, 0}}};
  for (const Case& c : cases) {
    INFO("permute " << shape_str(c.shape) << " by " << shape_str(c.dims));
    auto x = make_leaf(c.shape, rng);
    Tensor y = ops::permute(x.t, c.dims);
    CHECK_SHAPE(y, ref::permuted_shape(c.shape, c.dims));
    CHECK_REL(testutil::to_double(y), ref::permute(x.v, c.shape, c.dims), kExact);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(x.t), ref::permute_backward(c.shape, c.dims, u), kExact);
  }
  // transpose(d0, d1) is the permutation that swaps them; negative dims count from the end.
  const Shape shape = {2, 3, 4, 5};
  for (int64_t d0 = -4; d0 < 4; ++d0) {
    for (int64_t d1 : {0, 2, -1}) {
      INFO("transpose " << d0 << " " << d1);
      std::vector<int64_t> dims = {0, 1, 2, 3};
      std::swap(dims[d0 < 0 ? d0 + 4 : d0], dims[d1 < 0 ? d1 + 4 : d1]);
      auto x = make_leaf(shape, rng);
      Tensor y = ops::transpose(x.t, d0, d1);
      CHECK_SHAPE(y, ref::permuted_shape(shape, dims));
      CHECK_REL(testutil::to_double(y), ref::permute(x.v, shape, dims), kExact);
      const Vec u = backward_with_upstream(y, rng);
      CHECK_REL(grad_of(x.t), ref::permute_backward(shape, dims, u), kExact);
    }
  }
}

TEST_CASE("transpose of a matrix has the hand-computed values", "[cpu][ops][shape]") {
  const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  const Tensor t = ops::transpose(x, 0, 1);
  CHECK(t.shape() == minidl::Shape{3, 2});
  CHECK(t.to_vector() == std::vector<float>{1.f, 4.f, 2.f, 5.f, 3.f, 6.f});
  CHECK(ops::narrow(x, 1, 1, 2).to_vector() == std::vector<float>{2.f, 3.f, 5.f, 6.f});
  CHECK(ops::cat({x, x}, 1).to_vector() ==
        std::vector<float>{1.f, 2.f, 3.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 4.f, 5.f, 6.f});
}

TEST_CASE(
    "cat narrow flip transpose permute reshape and flatten gradients match finite differences",
    "[cpu][ops][shape][gradcheck]") {
  std::mt19937 rng(404);
  const Tensor a = make_leaf({2, 3, 4}, rng, false).t, b = make_leaf({2, 2, 4}, rng, false).t;
  gradcheck([](const std::vector<Tensor>& t) { return ops::cat(t, 1); }, {a, b});
  gradcheck([](const std::vector<Tensor>& t) { return ops::narrow(t[0], 2, 1, 2); }, {a});
  gradcheck([](const std::vector<Tensor>& t) { return ops::flip(t[0], -1); }, {a});
  gradcheck([](const std::vector<Tensor>& t) { return ops::flip(t[0], 1); }, {a});
  gradcheck([](const std::vector<Tensor>& t) { return ops::transpose(t[0], 0, 2); }, {a});
  gradcheck([](const std::vector<Tensor>& t) { return ops::permute(t[0], {1, 2, 0}); }, {a});
  // The views: reshape and flatten share the input's storage; their gradient is reshaped back.
  gradcheck([](const std::vector<Tensor>& t) { return t[0].reshape({4, -1}); }, {a});
  gradcheck([](const std::vector<Tensor>& t) { return t[0].flatten(1); }, {a});
  // A chain: a view of a copy of a view, each recorded in the graph.
  gradcheck(
      [](const std::vector<Tensor>& t) {
        return ops::transpose(t[0].reshape({6, 4}), 0, 1).reshape({2, 12});
      },
      {a});
}
