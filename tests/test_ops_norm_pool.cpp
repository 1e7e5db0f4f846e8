// Proves pooling, batch norm and dropout right on the CPU. Max, average and global average
// pooling and batch norm (training and eval, with and without gamma/beta, [N, C] and
// [N, C, H, W]) match the double reference, forward and every input gradient, on several
// shapes; batch norm updates its running statistics as documented; dropout's mask has the
// documented values, rate, seeding and gradient.
#include <cmath>
#include <limits>

#include "op_check.h"

using minidl::Generator;
using minidl::Tensor;
using testutil::backward_with_upstream;
using testutil::grad_of;
using testutil::kTightTol;
using testutil::kTol;
using testutil::make_leaf;
using testutil::Shape;
using testutil::shape_str;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

struct PoolCase {
  const char* what;
  ref::PoolShape s;  // N, C, H, W, kernel, stride, pad
};

const PoolCase kPoolCases[] = {
    {"2x2 stride 2", {2, 3, 8, 8, 2, 2, 0}},
    {"2x2 stride 2 on odd 15x9 (the last row and column unused)", {2, 3, 15, 9, 2, 2, 0}},
    {"3x3 stride 3 on 7x7", {2, 2, 7, 7, 3, 3, 0}},
    {"3x3 stride 2 pad 1 on non-square 5x7", {2, 5, 5, 7, 3, 2, 1}},
    {"stride 3 > kernel 2", {1, 13, 7, 7, 2, 3, 0}},
    {"1x1 spatial, kernel 1", {3, 4, 1, 1, 1, 1, 0}},
    {"1x1 spatial, 3x3 kernel pad 1", {2, 3, 1, 1, 3, 1, 1}},
    {"batch 1, 64 channels, 3x3 stride 2 pad 1", {1, 64, 16, 16, 3, 2, 1}},
    {"odd size, kernel 3 stride 1", {2, 5, 6, 9, 3, 1, 0}},
};

std::string describe(const PoolCase& c) {
  return std::string(c.what) + ": x " + shape_str(c.s.x_shape()) + ", kernel " +
         std::to_string(c.s.kernel) + ", stride " + std::to_string(c.s.stride) + ", pad " +
         std::to_string(c.s.pad);
}

// x [N, C, L...] as N, C and L.
struct NCL {
  int64_t N, C, L;
};
NCL ncl(const Shape& shape) {
  int64_t L = 1;
  for (size_t d = 2; d < shape.size(); ++d) L *= shape[d];
  return {shape[0], shape[1], L};
}

struct BnCase {
  Shape shape;
  double low, high;  // range of x
};
const BnCase kBnCases[] = {
    {{2, 3, 5, 7}, -1, 1}, {{1, 5, 4, 4}, -1, 1}, {{4, 13, 1, 1}, -1, 1}, {{8, 6}, -1, 1},
    {{3, 64, 2, 2}, 3, 5}, {{16, 10}, -2, 6},     {{5, 3, 3, 3}, -1, 1},
};

}  // namespace

// ---- pooling ---------------------------------------------------------------------------------

TEST_CASE("max_pool2d matches the reference: forward and backward", "[cpu][ops][pool]") {
  std::mt19937 rng(401);
  for (const PoolCase& c : kPoolCases) {
    INFO(describe(c));
    auto x = make_leaf(c.s.x_shape(), rng);
    Tensor y = ops::max_pool2d(x.t, int(c.s.kernel), int(c.s.stride), int(c.s.pad));
    CHECK_SHAPE(y, c.s.y_shape());
    CHECK_REL(testutil::to_double(y), ref::max_pool2d(x.v, c.s), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(x.t), ref::max_pool2d_backward(x.v, u, c.s), kTightTol);
  }
}

TEST_CASE("max_pool2d keeps the first of tied values and lets a NaN win, in every window form",
          "[cpu][ops][pool]") {
  // Values in {0, 1, 2}: most windows hold ties, and the gradient shows which cell won.
  std::mt19937 rng(409);
  for (const PoolCase& c : {PoolCase{"2x2 stride 2", {2, 3, 9, 8, 2, 2, 0}},
                            PoolCase{"3x3 stride 2 pad 1", {2, 3, 9, 8, 3, 2, 1}}}) {
    INFO(describe(c));
    std::vector<float> values(size_t(c.s.N * c.s.C * c.s.H * c.s.W));
    for (float& v : values) v = float(rng() % 3);
    const Tensor x = Tensor::from_vector(values, c.s.x_shape()).set_requires_grad(true);
    const Tensor y = ops::max_pool2d(x, int(c.s.kernel), int(c.s.stride), int(c.s.pad));
    const Vec v(values.begin(), values.end());
    CHECK_REL(testutil::to_double(y), ref::max_pool2d(v, c.s), 0.0);
    const Vec u = backward_with_upstream(y, rng);
    // Overlapping windows add gradients in float (the reference in double); a wrong winner
    // would be off by a whole upstream value.
    CHECK_REL(grad_of(x), ref::max_pool2d_backward(v, u, c.s), 1e-6);
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor window = Tensor::from_vector({1.f, nan, 5.f, 2.f}, {1, 1, 2, 2});
  CHECK(std::isnan(ops::max_pool2d(window, 2, 2, 0).item()));
}

TEST_CASE("max_pool2d never lets the padding win", "[cpu][ops][pool]") {
  // All inputs negative: a padding cell counted as 0 would win every border window.
  Tensor x = Tensor::full({1, 1, 2, 2}, -1.f);
  x.set({0, 0, 1, 1}, -3.f);
  Tensor y = ops::max_pool2d(x, 3, 1, 1);
  CHECK(y.to_vector() == std::vector<float>{-1.f, -1.f, -1.f, -1.f});
}

TEST_CASE("avg_pool2d matches the reference: forward and backward", "[cpu][ops][pool]") {
  std::mt19937 rng(402);
  for (const PoolCase& c : kPoolCases) {
    INFO(describe(c));
    auto x = make_leaf(c.s.x_shape(), rng);
    Tensor y = ops::avg_pool2d(x.t, int(c.s.kernel), int(c.s.stride), int(c.s.pad));
    CHECK_SHAPE(y, c.s.y_shape());
    CHECK_REL(testutil::to_double(y), ref::avg_pool2d(x.v, c.s), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(x.t), ref::avg_pool2d_backward(u, c.s), kTightTol);
  }
}

TEST_CASE("avg_pool2d counts padding cells as zeros (divides by kernel * kernel)",
          "[cpu][ops][pool]") {
  Tensor x = Tensor::full({1, 1, 2, 2}, 9.f);
  // 3x3 windows with padding 1 over a 2x2 image each cover the 4 real cells: 36 / 9 = 4.
  Tensor y = ops::avg_pool2d(x, 3, 1, 1);
  for (float v : y.to_vector()) CHECK(v == Approx(4.f));
}

TEST_CASE("global_avg_pool matches the reference: forward and backward", "[cpu][ops][pool]") {
  std::mt19937 rng(403);
  const std::vector<Shape> shapes = {
      {2, 3, 5, 7}, {1, 13, 1, 1}, {4, 64, 4, 4}, {3, 5, 2, 9}, {1, 1, 3, 3}, {2, 512, 4, 4},
  };
  for (const Shape& shape : shapes) {
    INFO("x " << shape_str(shape));
    const int64_t N = shape[0], C = shape[1], H = shape[2], W = shape[3];
    auto x = make_leaf(shape, rng);
    Tensor y = ops::global_avg_pool(x.t);
    CHECK_SHAPE(y, Shape({N, C}));
    CHECK_REL(testutil::to_double(y), ref::global_avg_pool(x.v, N, C, H, W), kTightTol);
    const Vec u = backward_with_upstream(y, rng);
    CHECK_REL(grad_of(x.t), ref::global_avg_pool_backward(u, N, C, H, W), kTightTol);
  }
}

// ---- batch norm ------------------------------------------------------------------------------

TEST_CASE("batch_norm training forward matches the reference", "[cpu][ops][norm]") {
  std::mt19937 rng(411);
  for (const BnCase& c : kBnCases) {
    INFO("x " << shape_str(c.shape) << " in [" << c.low << ", " << c.high << ")");
    const NCL d = ncl(c.shape);
    auto x = make_leaf(c.shape, rng, false, c.low, c.high);
    auto gamma = make_leaf({d.C}, rng, false, 0.5, 1.5), beta = make_leaf({d.C}, rng, false);
    Tensor rm = Tensor::zeros({d.C}), rv = Tensor::ones({d.C});
    Tensor y = ops::batch_norm(x.t, gamma.t, beta.t, rm, rv, true);
    CHECK_SHAPE(y, c.shape);
    const auto f = ref::batch_norm_train(x.v, gamma.v, beta.v, d.N, d.C, d.L, 1e-5);
    CHECK_REL(testutil::to_double(y), f.y, kTol);
  }
}

TEST_CASE("batch_norm training backward (dx, dgamma, dbeta) matches the reference",
          "[cpu][ops][norm]") {
  std::mt19937 rng(412);
  for (const BnCase& c : kBnCases) {
    INFO("x " << shape_str(c.shape) << " in [" << c.low << ", " << c.high << ")");
    const NCL d = ncl(c.shape);
    auto x = make_leaf(c.shape, rng, true, c.low, c.high);
    auto gamma = make_leaf({d.C}, rng, true, 0.5, 1.5), beta = make_leaf({d.C}, rng);
    Tensor rm = Tensor::zeros({d.C}), rv = Tensor::ones({d.C});
    Tensor y = ops::batch_norm(x.t, gamma.t, beta.t, rm, rv, true);
    const Vec u = backward_with_upstream(y, rng);
    const auto g = ref::batch_norm_train_backward(x.v, gamma.v, u, d.N, d.C, d.L, 1e-5);
    CHECK_REL(grad_of(x.t), g.dx, kTol);
    CHECK_REL(grad_of(gamma.t), g.dgamma, kTol);
    CHECK_REL(grad_of(beta.t), g.dbeta, kTol);
    CHECK_FALSE(rm.requires_grad());
    CHECK_FALSE(rv.requires_grad());
  }
}

TEST_CASE("batch_norm without gamma and beta matches the reference: forward and backward",
          "[cpu][ops][norm]") {
  std::mt19937 rng(413);
  for (const Shape& shape : {Shape{4, 3, 2, 5}, Shape{6, 7}, Shape{2, 13, 1, 1}}) {
    INFO("x " << shape_str(shape));
    const NCL d = ncl(shape);
    auto x = make_leaf(shape, rng);
    Tensor rm = Tensor::zeros({d.C}), rv = Tensor::ones({d.C});
    {
      INFO("training mode");
      Tensor y = ops::batch_norm(x.t, Tensor(), Tensor(), rm, rv, true);
      CHECK_REL(testutil::to_double(y),
                ref::batch_norm_train(x.v, Vec(), Vec(), d.N, d.C, d.L, 1e-5).y, kTol);
      const Vec u = backward_with_upstream(y, rng);
      CHECK_REL(grad_of(x.t), ref::batch_norm_train_backward(x.v, Vec(), u, d.N, d.C, d.L, 1e-5).dx,
                kTol);
    }
    {
      INFO("eval mode, with the running statistics the training call left");
      x.t.zero_grad();  // the training block already accumulated a gradient into x
      const Vec rmv = testutil::to_double(rm), rvv = testutil::to_double(rv);
      Tensor y = ops::batch_norm(x.t, Tensor(), Tensor(), rm, rv, false);
      CHECK_REL(testutil::to_double(y),
                ref::batch_norm_eval(x.v, Vec(), Vec(), rmv, rvv, d.N, d.C, d.L, 1e-5), kTol);
      const Vec u = backward_with_upstream(y, rng);
      CHECK_REL(grad_of(x.t),
                ref::batch_norm_eval_backward(x.v, Vec(), rmv, rvv, u, d.N, d.C, d.L, 1e-5).dx,
                kTol);
    }
  }
}

TEST_CASE("batch_norm training updates the running statistics (momentum, unbiased variance)",
          "[cpu][ops][norm]") {
  std::mt19937 rng(414);
  struct Case {
    Shape shape;
    float momentum;
  };
  const Case cases[] = {
      {{2, 3, 5, 7}, 0.1f}, {{8, 6}, 0.1f},         {{4, 13, 1, 1}, 0.3f},
      {{1, 5, 3, 2}, 1.0f}, {{3, 64, 2, 2}, 0.01f},
  };
  for (const Case& c : cases) {
    INFO("x " << shape_str(c.shape) << ", momentum " << c.momentum);
    const NCL d = ncl(c.shape);
    auto x = make_leaf(c.shape, rng, true, -1.0, 3.0);
    auto gamma = make_leaf({d.C}, rng, true, 0.5, 1.5), beta = make_leaf({d.C}, rng);
    auto rm = make_leaf({d.C}, rng, false), rv = make_leaf({d.C}, rng, false, 0.5, 2.0);
    ops::batch_norm(x.t, gamma.t, beta.t, rm.t, rv.t, true, c.momentum);
    const auto f = ref::batch_norm_train(x.v, gamma.v, beta.v, d.N, d.C, d.L, 1e-5);
    CHECK_REL(testutil::to_double(rm.t), ref::running_update(rm.v, f.mean, c.momentum), kTol);
    CHECK_REL(testutil::to_double(rv.t), ref::running_update(rv.v, f.var_unbiased, c.momentum),
              kTol);
  }
}

TEST_CASE("batch_norm running statistics converge to the data's statistics over many steps",
          "[cpu][ops][norm]") {
  std::mt19937 rng(415);
  const Shape shape = {16, 2, 3, 3};
  auto x = make_leaf(shape, rng, false, 1.0, 5.0);
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  for (int step = 0; step < 200; ++step) ops::batch_norm(x.t, Tensor(), Tensor(), rm, rv, true);
  const auto f = ref::batch_norm_train(x.v, Vec(), Vec(), 16, 2, 9, 1e-5);
  CHECK_REL(testutil::to_double(rm), f.mean, 1e-4);
  CHECK_REL(testutil::to_double(rv), f.var_unbiased, 1e-4);
}

TEST_CASE("batch_norm eval mode matches the reference and leaves the running statistics alone",
          "[cpu][ops][norm]") {
  std::mt19937 rng(416);
  for (const BnCase& c : kBnCases) {
    INFO("x " << shape_str(c.shape));
    const NCL d = ncl(c.shape);
    auto x = make_leaf(c.shape, rng, true, c.low, c.high);
    auto gamma = make_leaf({d.C}, rng, true, 0.5, 1.5), beta = make_leaf({d.C}, rng);
    auto rm = make_leaf({d.C}, rng, false), rv = make_leaf({d.C}, rng, false, 0.5, 2.0);
    Tensor y = ops::batch_norm(x.t, gamma.t, beta.t, rm.t, rv.t, false);
    CHECK_SHAPE(y, c.shape);
    CHECK_REL(testutil::to_double(y),
              ref::batch_norm_eval(x.v, gamma.v, beta.v, rm.v, rv.v, d.N, d.C, d.L, 1e-5), kTol);
    CHECK(testutil::to_double(rm.t) == rm.v);
    CHECK(testutil::to_double(rv.t) == rv.v);
    const Vec u = backward_with_upstream(y, rng);
    const auto g = ref::batch_norm_eval_backward(x.v, gamma.v, rm.v, rv.v, u, d.N, d.C, d.L, 1e-5);
    CHECK_REL(grad_of(x.t), g.dx, kTol);
    CHECK_REL(grad_of(gamma.t), g.dgamma, kTol);
    CHECK_REL(grad_of(beta.t), g.dbeta, kTol);
  }
}

TEST_CASE("batch_norm uses the eps it is given", "[cpu][ops][norm]") {
  std::mt19937 rng(417);
  const Shape shape = {4, 3, 2, 2};
  auto x = make_leaf(shape, rng, false, -0.01, 0.01);  // variance ~3e-5, comparable to eps
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  for (double eps : {1e-5, 1e-3}) {
    INFO("eps " << eps);
    Tensor y = ops::batch_norm(x.t, Tensor(), Tensor(), rm, rv, true, 0.1f, float(eps));
    CHECK_REL(testutil::to_double(y), ref::batch_norm_train(x.v, Vec(), Vec(), 4, 3, 4, eps).y,
              kTol);
  }
}

// ---- dropout ---------------------------------------------------------------------------------

TEST_CASE("dropout with p = 0 or in eval mode returns the input and passes gradients through",
          "[cpu][ops][dropout]") {
  std::mt19937 rng(421);
  const Shape shape = {4, 5, 3, 3};
  struct Case {
    float p;
    bool training;
  };
  for (const Case c : {Case{0.f, true}, Case{0.5f, false}, Case{0.f, false}}) {
    INFO("p " << c.p << (c.training ? ", training" : ", eval"));
    auto x = make_leaf(shape, rng);
    Generator gen(7);
    Tensor y = ops::dropout(x.t, c.p, c.training, gen);
    CHECK_SHAPE(y, shape);
    CHECK(testutil::to_double(y) == x.v);
    const Vec u = backward_with_upstream(y, rng);
    CHECK(grad_of(x.t) == u);
  }
}

TEST_CASE("dropout in training zeroes a fraction p and scales the rest by 1 / (1 - p)",
          "[cpu][ops][dropout]") {
  std::mt19937 rng(422);
  const int64_t n = 200000;
  for (float p : {0.1f, 0.3f, 0.5f, 0.9f}) {
    INFO("p " << p);
    auto x = make_leaf({n}, rng, false, 0.5, 1.5);  // never 0, so a 0 output means dropped
    Generator gen(11);
    const Vec y = testutil::to_double(ops::dropout(x.t, p, true, gen));
    REQUIRE(y.size() == x.v.size());
    int64_t zeros = 0, bad = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (y[i] == 0.0) {
        ++zeros;
      } else if (std::abs(y[i] - x.v[i] / (1.0 - p)) > 2e-6 * std::abs(x.v[i] / (1.0 - p))) {
        ++bad;
      }
    }
    CHECK(bad == 0);
    // The count of zeros is Binomial(n, p): 0.01 is more than 7 standard deviations.
    CHECK(std::abs(double(zeros) / n - p) < 0.01);
  }
}

TEST_CASE("dropout masks are reproducible from the generator's seed", "[cpu][ops][dropout]") {
  std::mt19937 rng(423);
  auto x = make_leaf({64, 100}, rng, false, 0.5, 1.5);
  Generator a(5), b(5), c(6);
  const std::vector<float> ya = ops::dropout(x.t, 0.5f, true, a).to_vector();
  const std::vector<float> yb = ops::dropout(x.t, 0.5f, true, b).to_vector();
  const std::vector<float> yc = ops::dropout(x.t, 0.5f, true, c).to_vector();
  CHECK(ya == yb);
  CHECK(ya != yc);
  // The generator advances: the next mask from the same generator differs.
  CHECK(ops::dropout(x.t, 0.5f, true, a).to_vector() != ya);
}

TEST_CASE("dropout backward multiplies the gradient by the same mask and scale",
          "[cpu][ops][dropout]") {
  std::mt19937 rng(424);
  const Shape shape = {8, 3, 5, 5};
  const float p = 0.3f;
  auto x = make_leaf(shape, rng, true, 0.5, 1.5);
  Generator gen(3);
  Tensor y = ops::dropout(x.t, p, true, gen);
  const Vec yv = testutil::to_double(y);
  const Vec u = backward_with_upstream(y, rng);
  Vec expected(u.size());
  for (size_t i = 0; i < u.size(); ++i) expected[i] = yv[i] == 0.0 ? 0.0 : u[i] / (1.0 - p);
  CHECK_REL(grad_of(x.t), expected, kTightTol);
}
