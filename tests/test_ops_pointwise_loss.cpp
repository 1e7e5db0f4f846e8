// Proves mse_loss, l1_loss and binary_cross_entropy_with_logits of ops/ops.h right on the CPU:
// the loss and the gradients of input and target match the double references
// (reference/pointwise_loss.h) on several shapes, the gradients match finite differences of
// the ops themselves (gradcheck, op_check.h), hand-computed values come out, and the BCE stays
// finite for logits where the textbook form gives log(0).
#include <cmath>

#include "op_check.h"

using minidl::Tensor;
using testutil::gradcheck;
using testutil::kTightTol;
using testutil::make_leaf;
using testutil::Shape;
using testutil::shape_str;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

struct Loss {
  const char* name;
  Tensor (*op)(const Tensor&, const Tensor&);
  double (*forward)(const Vec&, const Vec&);
  ref::LossGrads (*backward)(const Vec&, const Vec&, double);
};

const Loss kLosses[] = {
    {"mse_loss", ops::mse_loss, ref::mse_loss, ref::mse_loss_backward},
    {"l1_loss", ops::l1_loss, ref::l1_loss, ref::l1_loss_backward},
    {"binary_cross_entropy_with_logits", ops::binary_cross_entropy_with_logits,
     ref::bce_with_logits, ref::bce_with_logits_backward},
};

}  // namespace

TEST_CASE("pointwise losses match the reference: forward and both gradients", "[cpu][ops][loss]") {
  std::mt19937 rng(301);
  const std::vector<Shape> shapes = {{}, {1}, {7}, {4, 3}, {2, 3, 5, 7}, {64, 33}};
  for (const Loss& loss : kLosses) {
    for (const Shape& shape : shapes) {
      INFO(loss.name << " of shape " << shape_str(shape));
      auto x = make_leaf(shape, rng, true, -3.0, 3.0), y = make_leaf(shape, rng, true, 0.0, 1.0);
      Tensor out = loss.op(x.t, y.t);
      CHECK(out.dim() == 0);
      CHECK(out.item() == Approx(loss.forward(x.v, y.v)).epsilon(1e-5));
      ops::scale(out, -1.5f).backward();  // a non-trivial upstream gradient
      const ref::LossGrads g = loss.backward(x.v, y.v, -1.5);
      CHECK_REL(testutil::grad_of(x.t), g.dinput, kTightTol);
      CHECK_REL(testutil::grad_of(y.t), g.dtarget, kTightTol);
    }
  }
}

TEST_CASE("pointwise loss gradients match finite differences", "[cpu][ops][loss][gradcheck]") {
  std::mt19937 rng(302);
  const auto x = make_leaf({3, 5}, rng, false, -3.0, 3.0);
  // Targets at least 0.1 from the inputs, so l1's kink is never within the step.
  Vec offsets = testutil::random_vec(15, rng, 0.1, 1.0);
  for (size_t i = 0; i < offsets.size(); i += 2) offsets[i] = -offsets[i];
  const Tensor y = ops::add(x.t, testutil::to_tensor(offsets, {3, 5}));
  const auto probabilities = make_leaf({3, 5}, rng, false, 0.0, 1.0);
  for (const Loss& loss : kLosses) {
    INFO(loss.name);
    const bool bce = loss.op == ops::binary_cross_entropy_with_logits;
    gradcheck([&loss](const std::vector<Tensor>& t) { return loss.op(t[0], t[1]); },
              {x.t, bce ? probabilities.t : y});
  }
}

TEST_CASE("pointwise losses have the hand-computed values", "[cpu][ops][loss]") {
  const Tensor x = Tensor::from_vector({1.f, 2.f, 3.f}, {3});
  const Tensor y = Tensor::from_vector({1.f, 0.f, 0.f}, {3});
  CHECK(ops::mse_loss(x, y).item() == Approx(13.0 / 3.0));  // (0 + 4 + 9) / 3
  CHECK(ops::l1_loss(x, y).item() == Approx(5.0 / 3.0));    // (0 + 2 + 3) / 3
  // Logit 0 is probability 1/2 whatever the target: log 2 each.
  CHECK(ops::binary_cross_entropy_with_logits(Tensor::zeros({2, 2}),
                                              Tensor::from_vector({0.f, 1.f, 0.5f, 1.f}, {2, 2}))
            .item() == Approx(std::log(2.0)));
  // l1's gradient at x == y is 0, as PyTorch's sign(0).
  Tensor same = Tensor::from_vector({2.f}, {1}).set_requires_grad(true);
  ops::l1_loss(same, Tensor::from_vector({2.f}, {1})).backward();
  CHECK(same.grad().item() == 0.f);
}

TEST_CASE("binary_cross_entropy_with_logits stays finite for large logits", "[cpu][ops][loss]") {
  // sigmoid(100) rounds to 1 in float, so log(1 - sigmoid(x)) would be log(0) = -inf; the
  // stable form gives the exact loss, 100 for the wrong target and ~0 for the right one.
  Tensor x = Tensor::from_vector({100.f, -100.f, 100.f}, {3}).set_requires_grad(true);
  const Tensor t = Tensor::from_vector({0.f, 1.f, 1.f}, {3});
  Tensor loss = ops::binary_cross_entropy_with_logits(x, t);
  CHECK(loss.item() == Approx(200.0 / 3.0));
  loss.backward();
  const std::vector<float> g = x.grad().to_vector();  // (sigmoid(x) - t) / 3
  CHECK(g[0] == Approx(1.0 / 3.0));
  CHECK(g[1] == Approx(-1.0 / 3.0));
  CHECK(g[2] == Approx(0.0).margin(1e-12));
}
