// Proves the activations (sigmoid, tanh, exp, log, gelu) and softmax / log_softmax of ops/ops.h
// right on the CPU: forward output and input gradient match the double references
// (reference/activation.h, reference/softmax.h) on shapes of rank 0 to 4, the gradients match
// finite differences of the ops themselves (gradcheck, op_check.h), and the edge values (log of
// 0 and of negatives, large logits) are PyTorch's.
#include <cmath>
#include <limits>

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

namespace {

const std::vector<Shape> kShapes = {{}, {1}, {7}, {3, 5}, {1, 13, 1, 1}, {2, 3, 5, 7}};

struct Activation {
  const char* name;
  Tensor (*op)(const Tensor&);
  Vec (*forward)(const Vec&);
  Vec (*backward)(const Vec&, const Vec&);
  double low, high;  // the inputs drawn: log needs positive ones
};

const Activation kActivations[] = {
    {"sigmoid", ops::sigmoid, ref::sigmoid, ref::sigmoid_backward, -4.0, 4.0},
    {"tanh", ops::tanh, ref::tanh, ref::tanh_backward, -3.0, 3.0},
    {"exp", ops::exp, ref::exp, ref::exp_backward, -3.0, 3.0},
    {"log", ops::log, ref::log, ref::log_backward, 0.2, 5.0},
    {"gelu", ops::gelu, ref::gelu, ref::gelu_backward, -4.0, 4.0},
};

}  // namespace

TEST_CASE("sigmoid tanh exp log and gelu match the reference: forward and backward",
          "[cpu][ops][activation]") {
  std::mt19937 rng(201);
  for (const Activation& f : kActivations) {
    for (const Shape& shape : kShapes) {
      INFO(f.name << " of shape " << shape_str(shape));
      auto x = make_leaf(shape, rng, true, f.low, f.high);
      Tensor y = f.op(x.t);
      CHECK_SHAPE(y, shape);
      CHECK_REL(testutil::to_double(y), f.forward(x.v), kTightTol);
      const Vec u = backward_with_upstream(y, rng);
      CHECK_REL(grad_of(x.t), f.backward(x.v, u), kTightTol);
    }
  }
}

TEST_CASE("sigmoid tanh exp log and gelu gradients match finite differences",
          "[cpu][ops][activation][gradcheck]") {
  std::mt19937 rng(202);
  for (const Activation& f : kActivations) {
    INFO(f.name);
    const auto x = make_leaf({3, 4}, rng, false, f.low, f.high);
    gradcheck([&f](const std::vector<Tensor>& t) { return f.op(t[0]); }, {x.t});
  }
}

TEST_CASE("log of zero and negatives gives PyTorch's -inf and NaN", "[cpu][ops][activation]") {
  Tensor x = Tensor::from_vector({0.f, -1.f, 1.f}, {3}).set_requires_grad(true);
  Tensor y = ops::log(x);
  const std::vector<float> v = y.to_vector();
  CHECK(v[0] == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(v[1]));
  CHECK(v[2] == 0.f);
  ops::sum(y).backward();
  const std::vector<float> g = x.grad().to_vector();  // 1 / x
  CHECK(g[0] == std::numeric_limits<float>::infinity());
  CHECK(g[1] == -1.f);
  CHECK(g[2] == 1.f);
}

TEST_CASE("sigmoid and tanh saturate without overflow and keep NaN", "[cpu][ops][activation]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> s =
      ops::sigmoid(Tensor::from_vector({-100.f, 100.f, 0.f, nan}, {4})).to_vector();
  CHECK(s[0] > 0.f);  // exp(-100) / (1 + exp(-100)) = 3.7e-44, a float denormal, not 0
  CHECK(s[0] < 1e-43f);
  CHECK(s[1] == 1.f);
  CHECK(s[2] == 0.5f);
  CHECK(std::isnan(s[3]));
  const std::vector<float> t = ops::tanh(Tensor::from_vector({-50.f, 50.f}, {2})).to_vector();
  CHECK(t == std::vector<float>{-1.f, 1.f});
  CHECK(ops::exp(Tensor::scalar(0.f)).item() == 1.f);
}

TEST_CASE("gelu keeps its relative accuracy in the negative tail, element by element",
          "[cpu][ops][activation]") {
  // The CPU kernel's vectorized 1 + erf would lose digits below x = -2 (its tail is redone
  // with erfc): each of 12001 points on [-6, 6] within 1e-5 of the double reference, relative
  // to the value; the gradient, which crosses zero at x = -0.75, within 1e-6 absolute.
  std::vector<float> grid;
  for (int i = -6000; i <= 6000; ++i) grid.push_back(float(i) / 1000.f);
  const Tensor x = Tensor::from_vector(grid, {int64_t(grid.size())}).set_requires_grad(true);
  const Tensor y = ops::gelu(x);
  ops::sum(y).backward();
  const std::vector<float> got = y.to_vector(), grad = x.grad().to_vector();
  const Vec v(grid.begin(), grid.end());
  const Vec expected = ref::gelu(v), expected_grad = ref::gelu_backward(v, Vec(v.size(), 1.0));
  for (size_t i = 0; i < grid.size(); ++i) {
    INFO("x = " << grid[i] << ": gelu " << got[i] << " against " << expected[i] << ", gradient "
                << grad[i] << " against " << expected_grad[i]);
    if (expected[i] != 0.0) REQUIRE(std::abs(got[i] - expected[i]) <= 1e-5 * std::abs(expected[i]));
    REQUIRE(std::abs(grad[i] - expected_grad[i]) <= 1e-6);
  }
}

TEST_CASE("gelu is x at large x, 0 at very negative x, and keeps NaN", "[cpu][ops][activation]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> y =
      ops::gelu(Tensor::from_vector({-20.f, 20.f, 0.f, nan}, {4})).to_vector();
  CHECK(y[0] == 0.f);  // -20 Phi(-20): erf rounds to -1 in float, so exactly -0
  CHECK(y[1] == 20.f);
  CHECK(y[2] == 0.f);
  CHECK(std::isnan(y[3]));
}

TEST_CASE("softmax and log_softmax match the reference along every dimension",
          "[cpu][ops][softmax]") {
  std::mt19937 rng(203);
  const std::vector<Shape> shapes = {{1}, {7}, {3, 5}, {4, 1}, {2, 3, 5, 7}, {2, 40, 3}};
  for (const Shape& shape : shapes) {
    const int64_t rank = int64_t(shape.size());
    for (int64_t dim = -rank; dim < rank; ++dim) {
      const int64_t d = dim < 0 ? dim + rank : dim;
      INFO("shape " << shape_str(shape) << " dim " << dim);
      auto x = make_leaf(shape, rng, true, -3.0, 3.0);
      Tensor y = ops::softmax(x.t, dim);
      CHECK_SHAPE(y, shape);
      CHECK_REL(testutil::to_double(y), ref::softmax(x.v, shape, d), kTightTol);
      Vec u = backward_with_upstream(y, rng);
      CHECK_REL(grad_of(x.t), ref::softmax_backward(x.v, shape, d, u), kTightTol);

      auto z = make_leaf(shape, rng, true, -3.0, 3.0);
      Tensor log_y = ops::log_softmax(z.t, dim);
      CHECK_REL(testutil::to_double(log_y), ref::log_softmax(z.v, shape, d), kTightTol);
      u = backward_with_upstream(log_y, rng);
      CHECK_REL(grad_of(z.t), ref::log_softmax_backward(z.v, shape, d, u), kTightTol);
    }
  }
}

TEST_CASE("softmax and log_softmax gradients match finite differences",
          "[cpu][ops][softmax][gradcheck]") {
  std::mt19937 rng(204);
  const auto x = make_leaf({2, 3, 4}, rng, false, -2.0, 2.0);
  for (int64_t dim : {0, 1, -1}) {
    INFO("dim " << dim);
    gradcheck([dim](const std::vector<Tensor>& t) { return ops::softmax(t[0], dim); }, {x.t});
    gradcheck([dim](const std::vector<Tensor>& t) { return ops::log_softmax(t[0], dim); }, {x.t});
  }
}

TEST_CASE("softmax and log_softmax stay finite for large logits", "[cpu][ops][softmax]") {
  // exp(1000) overflows float; around the row maximum nothing does.
  const Tensor x = Tensor::from_vector({1000.f, 1001.f, 1002.f, -1000.f, 0.f, -200.f}, {2, 3});
  const std::vector<float> p = ops::softmax(x).to_vector();
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0);
  CHECK(p[2] == Approx(1.0 / (1.0 + e1 + e2)));
  CHECK(p[0] == Approx(e2 / (1.0 + e1 + e2)));
  CHECK(p[4] == 1.f);  // e^-200 and e^-1000 are below float's resolution of 1
  // log_softmax keeps what log(softmax) would round to log(0) = -inf.
  const std::vector<float> log_p = ops::log_softmax(x).to_vector();
  CHECK(log_p[5] == Approx(-200.0));
  CHECK(log_p[3] == Approx(-1000.0));
  CHECK(log_p[2] == Approx(-std::log(1.0 + e1 + e2)));
  for (float v : log_p) CHECK(std::isfinite(v));
}
