// Optimizers and LR schedules against values worked out by hand from PyTorch's formulas
// (torch.optim.SGD / Adam / AdamW and torch.optim.lr_scheduler), step by step, and against the
// double-precision update loops of tests/reference/optimizer.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "minidl/core/minidl.h"
#include "minidl/layers/layers.h"
#include "minidl/optim/moving_average.h"
#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"
#include "reference/optimizer.h"

using namespace minidl;

namespace {
// A one-element parameter whose gradient is set by hand before each step.
Tensor scalar_param(float value) { return Tensor::full({1}, value).set_requires_grad(); }

void set_grad(Tensor& p, float g) {
  p.zero_grad();
  ops::scale(ops::sum(p), g).backward();  // d(g * p)/dp = g
}
}  // namespace

TEST_CASE("SGD with Nesterov momentum and weight decay matches PyTorch step by step",
          "[cpu][optim]") {
  Tensor p = scalar_param(1.f);
  SGD sgd({p}, SgdOptions(0.1f).momentum(0.9f).weight_decay(0.01f).nesterov(true));
  set_grad(p, 0.5f);
  sgd.step();
  // d = 0.5 + 0.01 * 1 = 0.51; buf = 0.51; p = 1 - 0.1 * (0.51 + 0.9 * 0.51)
  CHECK(p.item() == Approx(0.9031).epsilon(1e-6));
  set_grad(p, 0.5f);
  sgd.step();
  // d = 0.5 + 0.01 * 0.9031; buf = 0.9 * 0.51 + d; p -= 0.1 * (d + 0.9 * buf)
  const double d = 0.5 + 0.01 * 0.9031, buf = 0.9 * 0.51 + d;
  CHECK(p.item() == Approx(0.9031 - 0.1 * (d + 0.9 * buf)).epsilon(1e-6));
  CHECK(sgd.steps_taken() == 2);
  // The same two steps through the reference loop.
  ref::Vec rp{1.0}, rbuf{0.0};
  for (int t = 0; t < 2; ++t) ref::sgd_step({0.1f, 0.9f, 0.01f, true}, rp, {0.5}, rbuf);
  CHECK(p.item() == Approx(rp[0]).epsilon(1e-6));
}

TEST_CASE("SGD with plain momentum and without momentum", "[cpu][optim]") {
  Tensor a = scalar_param(2.f), b = scalar_param(2.f);
  SGD heavy({a}, SgdOptions(0.5f).momentum(0.5f).weight_decay(0.f).nesterov(false));
  SGD plain({b}, SgdOptions(0.5f).momentum(0.f).weight_decay(0.f).nesterov(false));
  for (int i = 0; i < 2; ++i) {
    set_grad(a, 1.f);
    set_grad(b, 1.f);
    heavy.step();
    plain.step();
  }
  CHECK(a.item() == Approx(2.0 - 0.5 * 1.0 - 0.5 * 1.5));  // buf: 1, then 0.5 * 1 + 1
  CHECK(b.item() == Approx(1.0));
  ref::Vec ra{2.0}, rb{2.0}, rbuf{0.0}, none;
  for (int t = 0; t < 2; ++t) {
    ref::sgd_step({0.5, 0.5, 0.0, false}, ra, {1.0}, rbuf);
    ref::sgd_step({0.5, 0.0, 0.0, false}, rb, {1.0}, none);
  }
  CHECK(a.item() == Approx(ra[0]));
  CHECK(b.item() == Approx(rb[0]));
  REQUIRE_THROWS_WITH(
      SGD({scalar_param(0)}, SgdOptions(0.1f).momentum(0.f).weight_decay(0.f).nesterov(true)),
      Catch::Contains("Nesterov"));
}

TEST_CASE("Adam and AdamW follow PyTorch for two steps", "[cpu][optim]") {
  const float lr = 0.1f, wd = 0.1f;
  Tensor a = scalar_param(1.f), w = scalar_param(1.f);
  Adam adam({a}, AdamOptions(lr).weight_decay(wd));
  AdamW adamw({w}, AdamOptions(lr).weight_decay(wd));

  // The reference loops in double (tests/reference/optimizer.cpp).
  const ref::AdamHyper adam_ref{lr, 0.9, 0.999, 1e-8, wd, false};
  const ref::AdamHyper adamw_ref{lr, 0.9, 0.999, 1e-8, wd, true};
  ref::Vec pa{1}, ma{0}, va{0}, pw{1}, mw{0}, vw{0};
  for (int t = 1; t <= 2; ++t) {
    set_grad(a, 0.3f);
    set_grad(w, 0.3f);
    adam.step();
    adamw.step();
    ref::adam_step(adam_ref, t, pa, {0.3f}, ma, va);   // Adam: L2 decay joins the gradient
    ref::adam_step(adamw_ref, t, pw, {0.3f}, mw, vw);  // AdamW: decoupled decay first
    CHECK(a.item() == Approx(pa[0]).epsilon(1e-5));
    CHECK(w.item() == Approx(pw[0]).epsilon(1e-5));
  }
}

TEST_CASE("decay_groups exempts BatchNorm parameters and biases from weight decay",
          "[cpu][optim]") {
  Sequential net;
  net.add(std::make_shared<Conv2d>(Conv2dOptions{3, 4, 3, 1, 1, true}))
      .add(std::make_shared<BatchNorm2d>(4))
      .add(std::make_shared<Flatten>())
      .add(std::make_shared<Linear>(4 * 5 * 5, 2));
  const std::vector<ParamGroup> groups = decay_groups(net.parameters());
  REQUIRE(groups.size() == 2);
  CHECK(!groups[0].weight_decay.has_value());  // the optimizer's
  CHECK(groups[1].weight_decay == 0.f);
  CHECK(!groups[0].lr.has_value());
  CHECK(!groups[1].lr.has_value());
  CHECK(groups[0].params.size() == 2);  // conv weight, linear weight
  CHECK(groups[1].params.size() == 4);  // conv bias, gamma, beta, linear bias
  for (const Tensor& p : groups[1].params) CHECK(p.dim() == 1);
  // The optimizer fills in what the groups leave unset, and nothing else.
  const SGD filled(groups, SgdOptions(0.05f).momentum(0.9f).weight_decay(5e-4f));
  CHECK(filled.groups()[0].lr == 0.05f);
  CHECK(filled.groups()[0].weight_decay == 5e-4f);
  CHECK(filled.groups()[1].lr == 0.05f);
  CHECK(filled.groups()[1].weight_decay == 0.f);

  // Per-group learning rates are honoured: a zero-lr group does not move.
  Tensor moving = scalar_param(1.f), frozen = scalar_param(1.f);
  SGD sgd({ParamGroup{{moving}, 0.5f, 0.f}, ParamGroup{{frozen}, 0.f, 0.f}}, SgdOptions(0.1f));
  set_grad(moving, 1.f);
  set_grad(frozen, 1.f);
  sgd.step();
  CHECK(moving.item() == Approx(0.5));
  CHECK(frozen.item() == 1.f);
}

TEST_CASE("StepLR and MultiStepLR factors", "[cpu][scheduler]") {
  const auto step = step_schedule(3, 0.1);
  const double expected_step[] = {1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01};
  for (int t = 0; t < 8; ++t) CHECK(step->factor(t) == Approx(expected_step[t]));
  const auto multi = multistep_schedule({2, 5}, 0.5);
  const double expected_multi[] = {1, 1, 0.5, 0.5, 0.5, 0.25, 0.25};
  for (int t = 0; t < 7; ++t) CHECK(multi->factor(t) == Approx(expected_multi[t]));
}

TEST_CASE("cosine annealing and linear warmup factors", "[cpu][scheduler]") {
  const auto cosine = cosine_schedule(10, 0.0);
  CHECK(cosine->factor(0) == Approx(1.0));
  CHECK(cosine->factor(3) == Approx((1 + std::cos(0.3 * M_PI)) / 2));  // 0.7938926
  CHECK(cosine->factor(5) == Approx(0.5));
  CHECK(cosine->factor(10) == Approx(0.0).margin(1e-12));
  CHECK(cosine->factor(25) == Approx(0.0).margin(1e-12));
  CHECK(cosine_schedule(10, 0.1)->factor(5) == Approx(0.55));
  const auto warmup = linear_warmup(4, 0.25);
  const double expected[] = {0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0};
  for (int t = 0; t < 6; ++t) CHECK(warmup->factor(t) == Approx(expected[t]));
}

TEST_CASE("linear_schedule moves from its start to its end factor, the triangle composes",
          "[cpu][scheduler]") {
  const auto down = linear_schedule(4, 1.0, 0.0);  // PyTorch's LinearLR(1, 0, total_iters=4)
  const double expected[] = {1.0, 0.75, 0.5, 0.25, 0.0, 0.0};
  for (int t = 0; t < 6; ++t) CHECK(down->factor(t) == Approx(expected[t]).margin(1e-12));
  const auto triangle =
      sequential({linear_schedule(2, 0.2, 1.0), linear_schedule(8, 1.0, 0.0)}, {2});
  CHECK(triangle->factor(0) == Approx(0.2));
  CHECK(triangle->factor(1) == Approx(0.6));
  CHECK(triangle->factor(2) == Approx(1.0));
  CHECK(triangle->factor(6) == Approx(0.5));
  CHECK(triangle->factor(10) == Approx(0.0).margin(1e-12));
  REQUIRE_THROWS_WITH(linear_schedule(0, 1.0, 0.0),
                      Catch::Contains("linear_schedule: need steps > 0"));
}

TEST_CASE("one-cycle matches PyTorch's OneCycleLR at its landmarks", "[cpu][scheduler]") {
  // OneCycleLR(max_lr=1, total_steps=100, pct_start=0.3, div_factor=25, final_div_factor=1e4,
  // anneal_strategy='cos'): starts at 1/25, peaks at step 29 (0.3 * 100 - 1), ends at
  // 1/25/1e4 at step 99; halfway down (step 64) it is the mean of the peak and the end.
  const auto cycle = one_cycle(100, 0.3, 25.0, 1e4);
  CHECK(cycle->factor(0) == Approx(0.04));
  CHECK(cycle->factor(29) == Approx(1.0));
  CHECK(cycle->factor(64) == Approx((1.0 + 4e-6) / 2));
  CHECK(cycle->factor(99) == Approx(4e-6));
  CHECK(cycle->factor(14) == Approx(1.0 + (0.04 - 1.0) * (1 + std::cos(M_PI * 14 / 29)) / 2));
  for (int t = 1; t <= 29; ++t) CHECK(cycle->factor(t) > cycle->factor(t - 1));
  for (int t = 30; t < 100; ++t) CHECK(cycle->factor(t) < cycle->factor(t - 1));
}

TEST_CASE("one-cycle's documented difference: a short run peaks at step 1, not before",
          "[cpu][scheduler]") {
  // pct_start * total = 0.9: OneCycleLR's peak would be at step -0.1; here it is at step 1
  // (optim/scheduler.h), so the run still rises, then falls.
  const auto short_cycle = one_cycle(3, 0.3, 25.0, 1e4);
  CHECK(short_cycle->factor(0) == Approx(0.04));
  CHECK(short_cycle->factor(1) == Approx(1.0));
  CHECK(short_cycle->factor(2) == Approx(4e-6));
}

TEST_CASE("schedules compose: warmup then cosine", "[cpu][scheduler]") {
  const auto composed = sequential({linear_warmup(5, 0.2), cosine_schedule(10)}, {5});
  CHECK(composed->factor(0) == Approx(0.2));
  CHECK(composed->factor(4) == Approx(0.84));
  CHECK(composed->factor(5) == Approx(1.0));   // the cosine's step 0
  CHECK(composed->factor(10) == Approx(0.5));  // the cosine's step 5
  REQUIRE_THROWS_WITH(sequential({cosine_schedule(3)}, {2}),
                      Catch::Contains("one milestone fewer"));
}

TEST_CASE("LRScheduler drives every group's lr from its own base lr", "[cpu][scheduler]") {
  Tensor a = scalar_param(0), b = scalar_param(0);
  SGD sgd({ParamGroup{{a}, 0.2f, 0.f}, ParamGroup{{b}, 0.02f, 0.f}}, SgdOptions(0.1f));
  LRScheduler scheduler(sgd, step_schedule(2, 0.5));
  CHECK(scheduler.lr(0) == Approx(0.2));
  scheduler.step();
  scheduler.step();
  CHECK(scheduler.steps_taken() == 2);
  CHECK(scheduler.lr(0) == Approx(0.1));
  CHECK(scheduler.lr(1) == Approx(0.01));
  scheduler.set_steps_taken(4);  // as a resumed run does
  CHECK(scheduler.lr(1) == Approx(0.005));
}

TEST_CASE("optimizer options chain, and groups inherit what they leave unset", "[cpu][optim]") {
  const SgdOptions sgd = SgdOptions(0.05f).momentum(0.9f).weight_decay(5e-4f).nesterov(true);
  CHECK(sgd.lr() == 0.05f);
  CHECK(sgd.momentum() == 0.9f);
  CHECK(sgd.weight_decay() == 5e-4f);
  CHECK(sgd.nesterov());
  const AdamOptions adam = AdamOptions().beta2(0.99f);
  CHECK(adam.lr() == 1e-3f);  // PyTorch's defaults for what is not set
  CHECK(adam.beta1() == 0.9f);
  CHECK(adam.beta2() == 0.99f);
  CHECK(adam.eps() == 1e-8f);
  CHECK(adam.weight_decay() == 0.f);

  // A group that sets its lr keeps it; one that does not takes the optimizer's.
  Tensor own = scalar_param(1.f), inherits = scalar_param(1.f);
  ParamGroup own_group{{own}, 0.5f, std::nullopt};
  ParamGroup inheriting{{inherits}, std::nullopt, std::nullopt};
  SGD optimizer({own_group, inheriting}, SgdOptions(0.1f).weight_decay(1.f));
  CHECK(optimizer.groups()[0].lr == 0.5f);
  CHECK(optimizer.groups()[1].lr == 0.1f);
  CHECK(optimizer.groups()[1].weight_decay == 1.f);
  set_grad(own, 1.f);
  set_grad(inherits, 1.f);
  optimizer.step();
  CHECK(own.item() == Approx(1.f - 0.5f * (1.f + 1.f)));       // d = grad + wd * p = 2
  CHECK(inherits.item() == Approx(1.f - 0.1f * (1.f + 1.f)));  // the optimizer's lr and wd
}

TEST_CASE("a group's lr_scale multiplies its rate once, and a schedule scales the product",
          "[cpu][optim][scheduler]") {
  Tensor weight = Tensor::ones({2, 2}).set_requires_grad(true), bias = scalar_param(1.f);
  std::vector<ParamGroup> groups = decay_groups({weight, bias}, 64.f);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].lr_scale == 1.f);
  CHECK(groups[1].lr_scale == 64.f);  // the rank-1 group: biases and BatchNorm parameters
  SGD sgd(groups, SgdOptions(0.01f));
  CHECK(sgd.groups()[0].lr == 0.01f);
  CHECK(sgd.groups()[1].lr == Approx(0.64f));
  LRScheduler schedule(sgd, cosine_schedule(10));
  schedule.step();
  const float factor = schedule.lr(0) / 0.01f;
  CHECK(schedule.lr(1) == Approx(0.64f * factor));
  set_grad(bias, 1.f);
  const float before = bias.item();
  sgd.step();
  CHECK(bias.item() == Approx(before - schedule.lr(1)));
  // A group's own lr is scaled too; a scale that is not positive is refused by group.
  ParamGroup own{{scalar_param(1.f)}, 0.5f, std::nullopt, 2.f};
  CHECK(SGD({own}, SgdOptions(0.1f)).groups()[0].lr == 1.f);
  own.lr_scale = 0.f;
  REQUIRE_THROWS_WITH(
      SGD({own}, SgdOptions(0.1f)),
      Catch::Contains("Optimizer: group 0: lr_scale must be positive and finite, got 0"));
}

TEST_CASE("ExponentialMovingAverage averages, swaps in and out, and copies back",
          "[cpu][optim][average]") {
  Tensor w = Tensor::from_vector({1.f, 2.f}, {2}).set_requires_grad(true);
  Tensor buffer = Tensor::from_vector({10.f}, {1});  // a running statistic, no grad
  ExponentialMovingAverage ema({w, buffer});
  CHECK(ema.averages()[0].to_vector() == std::vector<float>{1.f, 2.f});  // starts as a copy
  w.copy_(Tensor::from_vector({3.f, 6.f}, {2}));
  buffer.copy_(Tensor::from_vector({20.f}, {1}));
  ema.update(0.75f);  // 0.75 * old + 0.25 * new
  CHECK(ema.averages()[0].to_vector() == std::vector<float>{1.5f, 3.f});
  CHECK(ema.averages()[1].to_vector() == std::vector<float>{12.5f});
  ema.update(1.f);  // keeps the average
  CHECK(ema.averages()[0].to_vector() == std::vector<float>{1.5f, 3.f});

  const float* storage = w.data();
  ema.swap();  // evaluate with the average...
  CHECK(w.to_vector() == std::vector<float>{1.5f, 3.f});
  CHECK(w.data() == storage);  // in place: an optimizer's handle sees the same tensor
  ema.swap();                  // ...and train on
  CHECK(w.to_vector() == std::vector<float>{3.f, 6.f});
  CHECK(ema.averages()[0].to_vector() == std::vector<float>{1.5f, 3.f});
  ema.copy_to_tensors();
  CHECK(buffer.to_vector() == std::vector<float>{12.5f});
  ema.update(0.f);  // copies the tensors
  CHECK(ema.averages()[0].to_vector() == w.to_vector());
  CHECK_FALSE(w.grad().defined());  // no graph was recorded

  REQUIRE_THROWS_WITH(ema.update(1.5f), Catch::Contains("decay must be in [0, 1], got 1.5"));
  REQUIRE_THROWS_WITH(ExponentialMovingAverage({w, Tensor()}),
                      Catch::Contains("ExponentialMovingAverage: tensor 1 is undefined"));
}

TEST_CASE("Lookahead pulls the weights back every k steps", "[cpu][optim][average]") {
  Tensor p = scalar_param(0.f);
  SGD sgd({p}, SgdOptions(1.f));
  Lookahead lookahead({p}, 3, 0.5f);
  for (int step = 1; step <= 6; ++step) {
    set_grad(p, -1.f);  // each SGD step adds 1
    sgd.step();
    lookahead.step();
    if (step == 2) CHECK(p.item() == 2.f);   // fast weights run ahead
    if (step == 3) CHECK(p.item() == 1.5f);  // slow 0 -> 0 + 0.5 (3 - 0); fast = slow
    if (step == 6) CHECK(p.item() == 3.f);   // slow 1.5 -> 1.5 + 0.5 (4.5 - 1.5)
  }
  CHECK(lookahead.steps_taken() == 6);
  set_grad(p, -1.f);
  sgd.step();  // fast 4, slow 3
  lookahead.restore_slow_weights();
  CHECK(p.item() == 3.f);
  CHECK(lookahead.slow_weights()[0].item() == 3.f);
  REQUIRE_THROWS_WITH(Lookahead({p}, 0), Catch::Contains("Lookahead: k (steps between"));
  REQUIRE_THROWS_WITH(lookahead.set_alpha(-0.1f),
                      Catch::Contains("Lookahead: alpha must be in [0, 1], got -0.1"));
}

TEST_CASE("optimizers and schedulers refuse NaN, infinite and negative settings by name",
          "[cpu][optim][errors]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor p = Tensor::zeros({2}).set_requires_grad(true);
  for (float bad : {nan, inf, -0.1f}) {
    INFO("value " << bad);
    CHECK_THROWS_WITH(SGD({p}, SgdOptions(bad)),
                      Catch::Contains("the learning rate must be finite and >= 0, got"));
    CHECK_THROWS_WITH(SGD({p}, SgdOptions(0.1f).weight_decay(bad)),
                      Catch::Contains("weight_decay must be finite and >= 0, got"));
    CHECK_THROWS_WITH(Adam({p}, AdamOptions(bad)),
                      Catch::Contains("the learning rate must be finite and >= 0"));
  }
  CHECK_THROWS_WITH(SGD({p}, SgdOptions(0.1f).momentum(nan)), Catch::Contains("momentum"));
  CHECK_THROWS_WITH(Adam({p}, AdamOptions(0.1f).eps(inf)), Catch::Contains("eps"));
  ParamGroup group;
  group.params = {p};
  group.lr = nan;
  CHECK_THROWS_WITH(SGD({group}, SgdOptions(0.1f)),
                    "Optimizer: group 0: the learning rate must be finite and >= 0, got nan");

  SGD sgd({p}, SgdOptions(0.1f));
  CHECK_THROWS_WITH(LRScheduler(sgd, nullptr), "LRScheduler: the schedule is null");
  CHECK_THROWS_WITH(sequential({cosine_schedule(3), nullptr}, {3}),
                    "sequential: schedule 1 is null");
  // A schedule of the user's own that returns a NaN at step 2.
  struct Broken : Schedule {
    double factor(int64_t step) const override { return step == 2 ? std::nan("") : 1.0; }
  };
  LRScheduler scheduler(sgd, std::make_shared<Broken>());
  scheduler.step();
  CHECK_THROWS_WITH(
      scheduler.step(),
      "LRScheduler: the schedule's factor at step 2 is nan: it must be finite and >= 0");
  CHECK_THROWS_WITH(scheduler.set_steps_taken(-1),
                    "LRScheduler::set_steps_taken: steps must be >= 0, got -1");
}
