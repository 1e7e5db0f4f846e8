// Proves the fused batch-norm ops right on the CPU: batch_norm_relu and batch_norm_add_relu
// give the same output, the same gradients for every input (x, gamma, beta, residual) and the
// same running statistics as the unfused composition relu(batch_norm(x) + residual), in
// training and in eval (with gradients: the composed path; without: the fused eval kernel),
// with and without gamma/beta, on the batch-norm shapes plus one where most values are
// negative (the ReLU mask matters). The layers use them: a Sequential fuses BatchNorm2d + ReLU.
#include "minidl/core/autograd.h"
#include "minidl/layers/layers.h"
#include "op_check.h"

using minidl::Tensor;
using testutil::grad_of;
using testutil::kTightTol;
using testutil::make_leaf;
using testutil::Shape;
using testutil::shape_str;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

const Shape kShapes[] = {{2, 3, 5, 7}, {1, 5, 4, 4}, {4, 13, 1, 1}, {8, 6}, {3, 64, 2, 2}};

struct Run {
  Vec y, dx, dgamma, dbeta, dresidual, running_mean, running_var;
};

// Runs either the fused op or the composition on fresh leaves made from the same seed.
Run run(const Shape& shape, bool fused, bool with_residual, bool affine, bool training,
        bool shift_negative) {
  std::mt19937 rng(77);
  const int64_t channels = shape[1];
  auto x = make_leaf(shape, rng, true, shift_negative ? -3.0 : -1.0, 1.0);
  auto gamma = make_leaf({channels}, rng, affine, 0.5, 1.5),
       beta = make_leaf({channels}, rng, affine);
  auto residual = make_leaf(shape, rng, true);
  const Tensor g = affine ? gamma.t : Tensor(), b = affine ? beta.t : Tensor();
  const Tensor r = with_residual ? residual.t : Tensor();
  Tensor rm = Tensor::full({channels}, 0.2f), rv = Tensor::full({channels}, 1.5f);

  Tensor y;
  if (fused) {
    y = with_residual ? ops::batch_norm_add_relu(x.t, r, g, b, rm, rv, training)
                      : ops::batch_norm_relu(x.t, g, b, rm, rv, training);
  } else {
    y = ops::batch_norm(x.t, g, b, rm, rv, training);
    if (with_residual) y = ops::add(y, r);
    y = ops::relu(y);
  }
  Run out;
  out.y = testutil::to_double(y);
  testutil::backward_with_upstream(y, rng);
  out.dx = grad_of(x.t);
  if (affine) {
    out.dgamma = grad_of(gamma.t);
    out.dbeta = grad_of(beta.t);
  }
  if (with_residual) out.dresidual = grad_of(residual.t);
  out.running_mean = testutil::to_double(rm);
  out.running_var = testutil::to_double(rv);
  return out;
}

}  // namespace

TEST_CASE("fused batch_norm_relu and batch_norm_add_relu match the unfused composition",
          "[cpu][ops][norm][fused]") {
  for (const Shape& shape : kShapes) {
    for (bool with_residual : {false, true}) {
      for (bool affine : {true, false}) {
        for (bool training : {true, false}) {
          for (bool shift_negative : {false, true}) {
            INFO("x " << shape_str(shape) << (with_residual ? " + residual" : "")
                      << (affine ? " affine" : " no gamma/beta")
                      << (training ? " training" : " eval")
                      << (shift_negative ? " mostly negative" : ""));
            const Run fused = run(shape, true, with_residual, affine, training, shift_negative);
            const Run plain = run(shape, false, with_residual, affine, training, shift_negative);
            CHECK_REL(fused.y, plain.y, kTightTol);
            CHECK_REL(fused.dx, plain.dx, kTightTol);
            CHECK_REL(fused.dgamma, plain.dgamma, kTightTol);
            CHECK_REL(fused.dbeta, plain.dbeta, kTightTol);
            CHECK_REL(fused.dresidual, plain.dresidual, kTightTol);
            CHECK(fused.running_mean == plain.running_mean);
            CHECK(fused.running_var == plain.running_var);
          }
        }
      }
    }
  }
}

TEST_CASE("fused eval batch norm without gradients matches the composition",
          "[cpu][ops][norm][fused]") {
  // Under NoGradGuard nothing is recorded, so eval runs the fused eval kernel itself.
  std::mt19937 rng(78);
  const Shape shape{3, 4, 5, 6};
  auto x = make_leaf(shape, rng, false), residual = make_leaf(shape, rng, false);
  auto gamma = make_leaf({4}, rng, false, 0.5, 1.5), beta = make_leaf({4}, rng, false);
  const Tensor rm = Tensor::full({4}, 0.1f), rv = Tensor::full({4}, 0.7f);
  minidl::NoGradGuard no_grad;
  const Tensor fused = ops::batch_norm_add_relu(x.t, residual.t, gamma.t, beta.t, rm, rv, false);
  const Tensor plain =
      ops::relu(ops::add(ops::batch_norm(x.t, gamma.t, beta.t, rm, rv, false), residual.t));
  CHECK_REL(testutil::to_double(fused), testutil::to_double(plain), kTightTol);
}

TEST_CASE("fused batch norm rejects a residual of another shape",
          "[cpu][ops][norm][fused][errors]") {
  const Tensor x = Tensor::zeros({2, 3, 4, 4}), residual = Tensor::zeros({2, 3, 4, 5});
  const Tensor c = Tensor::ones({3});
  try {
    ops::batch_norm_add_relu(x, residual, c, c, c, c, true);
    FAIL("no error");
  } catch (const minidl::Error& e) {
    const std::string message = e.what();
    CHECK(message.find("batch_norm_add_relu") != std::string::npos);
    CHECK(message.find("[2, 3, 4, 5]") != std::string::npos);
  }
}

TEST_CASE("Sequential runs BatchNorm2d followed by ReLU as the fused op", "[cpu][layers][fused]") {
  minidl::Sequential fused_seq;
  auto bn = std::make_shared<minidl::BatchNorm2d>(3);
  fused_seq.add(bn);
  fused_seq.add(std::make_shared<minidl::ReLU>());
  minidl::Generator gen(5);
  const Tensor x = Tensor::normal({2, 3, 4, 4}, 0.f, 1.f, gen).set_requires_grad(true);
  const Tensor y = fused_seq.forward(x);
  REQUIRE(y.impl()->grad_fn != nullptr);
  CHECK(y.impl()->grad_fn->op == "batch_norm_relu");
}
