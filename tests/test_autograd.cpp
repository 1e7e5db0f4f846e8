// Proves the autograd engine's contract: gradients of shared sub-expressions are summed,
// .grad accumulates across backward() calls until zero_grad(), NoGradGuard and detach() stop
// recording, a graph can be walked only once, only one-element tensors start a backward pass,
// gradients flow through reshape/flatten, leaves that do not require grad get none, and a
// node's edges keep no op result's data alive.
#include <cmath>
#include <memory>

#include "minidl/optim/optimizer.h"
#include "op_check.h"

using minidl::Tensor;
using testutil::grad_of;
using testutil::kTightTol;
using testutil::make_leaf;
using testutil::Vec;
namespace ops = minidl::ops;

TEST_CASE("a shared sub-expression receives the sum of its consumers' gradients",
          "[cpu][autograd]") {
  std::mt19937 rng(601);
  auto x = make_leaf({3, 4}, rng);
  // y = x * x + x is used twice: L = sum(y * y + y), so dL/dx = (2y + 1)(2x + 1).
  Tensor y = ops::add(ops::mul(x.t, x.t), x.t);
  ops::sum(ops::add(ops::mul(y, y), y)).backward();
  Vec expected(x.v.size());
  for (size_t i = 0; i < x.v.size(); ++i) {
    const double xi = x.v[i], yi = xi * xi + xi;
    expected[i] = (2 * yi + 1) * (2 * xi + 1);
  }
  CHECK_REL(grad_of(x.t), expected, kTightTol);
}

TEST_CASE("a diamond graph (x feeds two branches that meet again) gets every path",
          "[cpu][autograd]") {
  std::mt19937 rng(602);
  auto x = make_leaf({5}, rng);
  // L = sum(relu(x) * 3x + (x - 2x)): a tensor reached through several paths of different
  // lengths must only be processed after all of them delivered their gradient.
  Tensor a = ops::relu(x.t);
  Tensor b = ops::scale(x.t, 3.f);
  Tensor c = ops::sub(x.t, ops::scale(x.t, 2.f));
  ops::sum(ops::add(ops::mul(a, b), c)).backward();
  Vec expected(x.v.size());
  for (size_t i = 0; i < x.v.size(); ++i) expected[i] = (x.v[i] > 0 ? 6 * x.v[i] : 0.0) - 1.0;
  CHECK_REL(grad_of(x.t), expected, kTightTol);
}

TEST_CASE("gradients accumulate in .grad across backward() of separate forward passes",
          "[cpu][autograd]") {
  std::mt19937 rng(603);
  auto x = make_leaf({2, 3}, rng);
  ops::sum(ops::scale(x.t, 2.f)).backward();
  CHECK_REL(grad_of(x.t), Vec(6, 2.0), kTightTol);
  ops::sum(ops::mul(x.t, x.t)).backward();  // a second, different graph
  Vec expected(6);
  for (int i = 0; i < 6; ++i) expected[i] = 2.0 + 2 * x.v[i];
  CHECK_REL(grad_of(x.t), expected, kTightTol);
}

TEST_CASE("zero_grad drops the accumulated gradient", "[cpu][autograd]") {
  std::mt19937 rng(604);
  auto x = make_leaf({4}, rng);
  ops::sum(ops::scale(x.t, 5.f)).backward();
  REQUIRE(x.t.grad().defined());
  x.t.zero_grad();
  // Either no gradient at all or an all-zero one: both mean "nothing accumulated".
  if (x.t.grad().defined()) CHECK(x.t.grad().to_vector() == std::vector<float>(4, 0.f));
  ops::sum(ops::scale(x.t, -1.f)).backward();
  CHECK_REL(grad_of(x.t), Vec(4, -1.0), kTightTol);
}

TEST_CASE("NoGradGuard records no graph and restores the previous mode", "[cpu][autograd]") {
  std::mt19937 rng(605);
  auto x = make_leaf({3}, rng);
  REQUIRE(minidl::grad_enabled());
  {
    minidl::NoGradGuard guard;
    CHECK_FALSE(minidl::grad_enabled());
    Tensor y = ops::mul(x.t, x.t);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    CHECK(y.impl()->grad_fn == nullptr);
    {
      minidl::NoGradGuard nested;
      CHECK_FALSE(minidl::grad_enabled());
    }
    CHECK_FALSE(minidl::grad_enabled());  // the inner guard restores "disabled"
  }
  CHECK(minidl::grad_enabled());
  Tensor z = ops::mul(x.t, x.t);
  CHECK(z.requires_grad());
  CHECK_FALSE(z.is_leaf());
}

TEST_CASE("an op's output requires grad exactly when an input does", "[cpu][autograd]") {
  std::mt19937 rng(606);
  auto a = make_leaf({3}, rng, true), b = make_leaf({3}, rng, false);
  CHECK(ops::add(a.t, b.t).requires_grad());
  CHECK(ops::add(b.t, a.t).requires_grad());
  CHECK_FALSE(ops::add(b.t, b.t).requires_grad());
  CHECK_FALSE(ops::relu(b.t).requires_grad());
  CHECK(ops::relu(a.t).impl()->grad_fn != nullptr);
}

TEST_CASE("detach stops gradients", "[cpu][autograd]") {
  std::mt19937 rng(607);
  auto x = make_leaf({6}, rng);
  // L = sum(detach(x) * x): only the second factor is differentiated, so dL/dx = x, not 2x.
  ops::sum(ops::mul(x.t.detach(), x.t)).backward();
  CHECK_REL(grad_of(x.t), x.v, kTightTol);
  // A loss built only from detached values has no graph at all.
  CHECK_FALSE(ops::sum(ops::mul(x.t.detach(), x.t.detach())).requires_grad());
}

TEST_CASE("backward twice on the same graph throws minidl::Error", "[cpu][autograd]") {
  std::mt19937 rng(608);
  auto x = make_leaf({3}, rng);
  Tensor loss = ops::sum(ops::mul(x.t, x.t));
  loss.backward();
  CHECK_THROWS_AS(loss.backward(), minidl::Error);
}

TEST_CASE("backward on a tensor with more than one element throws minidl::Error",
          "[cpu][autograd]") {
  std::mt19937 rng(609);
  auto x = make_leaf({2, 3}, rng);
  Tensor y = ops::scale(x.t, 2.f);
  CHECK_THROWS_AS(y.backward(), minidl::Error);
  // A one-element tensor of any rank is a valid root.
  Tensor one = ops::sum(x.t).reshape({1, 1});
  one.backward();
  CHECK_REL(grad_of(x.t), Vec(6, 1.0), kTightTol);
}

TEST_CASE("gradients flow through reshape and flatten", "[cpu][autograd]") {
  std::mt19937 rng(610);
  auto x = make_leaf({2, 3, 2, 2}, rng);
  auto u = make_leaf({6, 4}, rng, false);
  auto w = make_leaf({2, 12}, rng, false);
  // L = sum(reshape(x) * u) + sum(flatten(x) * w): dL/dx is u + w laid out as x.
  Tensor l1 = ops::sum(ops::mul(x.t.reshape({6, -1}), u.t));
  Tensor l2 = ops::sum(ops::mul(x.t.flatten(), w.t));
  ops::add(l1, l2).backward();
  CHECK_REL(grad_of(x.t), ref::add(u.v, w.v), kTightTol);
}

TEST_CASE("a leaf that does not require grad gets no gradient", "[cpu][autograd]") {
  std::mt19937 rng(611);
  auto x = make_leaf({4}, rng, true), c = make_leaf({4}, rng, false);
  ops::sum(ops::mul(x.t, c.t)).backward();
  CHECK_FALSE(c.t.grad().defined());
  CHECK_REL(grad_of(x.t), c.v, kTightTol);
}

TEST_CASE("backward through a long chain of ops is exact", "[cpu][autograd]") {
  // 200 scalings by 1.01 in a row: each must be visited once, in order.
  Tensor x = Tensor::full({3}, 1.f).set_requires_grad(true);
  Tensor y = x;
  for (int i = 0; i < 200; ++i) y = ops::scale(y, 1.01f);
  ops::sum(y).backward();
  const double expected = std::pow(1.01, 200);
  for (float g : x.grad().to_vector()) CHECK(g == Approx(expected).epsilon(1e-4));
}

TEST_CASE("backward frees the forward graph's inputs", "[cpu][autograd]") {
  std::mt19937 rng(612);
  auto x = make_leaf({3}, rng);
  Tensor loss = ops::sum(ops::mul(x.t, x.t));
  std::shared_ptr<minidl::Node> node = loss.impl()->grad_fn;
  REQUIRE(node != nullptr);
  CHECK_FALSE(node->edges.empty());
  loss.backward();
  CHECK(node->edges.empty());
  CHECK(node->released);
}

TEST_CASE("an edge leads to the producing node or to the leaf, never to an op result's data",
          "[cpu][autograd]") {
  Tensor x = Tensor::full({4}, 2.f).set_requires_grad(true);
  const Tensor constant = Tensor::full({4}, 3.f);  // needs no gradient
  Tensor y = ops::scale(x, 2.f);                   // scale's backward keeps no values
  const std::weak_ptr<minidl::Storage> y_storage = y.impl()->storage;
  const std::shared_ptr<minidl::Node> y_node = y.impl()->grad_fn;
  Tensor z = ops::add(y, constant);

  const std::vector<minidl::Edge>& edges = z.impl()->grad_fn->edges;
  REQUIRE(edges.size() == 2);
  CHECK(edges[0].producer == y_node);
  CHECK_FALSE(edges[0].leaf.defined());
  CHECK(edges[0].shape == minidl::Shape{4});
  CHECK(edges[0].device == minidl::Device::CPU);
  CHECK_FALSE(edges[1].needs_grad());
  REQUIRE(y_node->edges.size() == 1);
  CHECK(y_node->edges[0].leaf.impl() == x.impl());
  CHECK(y_node->edges[0].producer == nullptr);

  y = Tensor();  // the graph does not keep the intermediate result's memory alive
  CHECK(y_storage.expired());
  ops::sum(z).backward();
  CHECK(x.grad().to_vector() == std::vector<float>(4, 2.f));
}

TEST_CASE("backward refuses a saved tensor written in place since the forward pass",
          "[cpu][autograd][errors]") {
  using namespace minidl;
  // The case: an optimizer step between a forward pass and its backward. matmul's
  // backward reads the weight; the step has changed it, so the gradient would be 270% off.
  Generator gen(4);
  Tensor w = Tensor::normal({3, 2}, 0.f, 1.f, gen).set_requires_grad(true);
  const Tensor x = Tensor::normal({4, 3}, 0.f, 1.f, gen).set_requires_grad(true);
  SGD sgd({w}, SgdOptions(0.5f));
  // One step so that w has a gradient to step with.
  ops::sum(ops::matmul(x, w)).backward();
  const Tensor loss = ops::sum(ops::matmul(x, w));
  const uint64_t before = w.version();
  sgd.step();
  CHECK(w.version() == before + 1);
  const std::vector<float> x_grad = x.grad().to_vector();
  CHECK_THROWS_WITH(loss.backward(),
                    "backward: input 1 (shape [3, 2]) of op 'matmul' was written in place after "
                    "the forward pass saved it (its version is " +
                        std::to_string(before + 1) + ", was " + std::to_string(before) +
                        "): an optimizer step, fill_ or copy_ between forward and backward? "
                        "Call backward() first; the gradient would come from values the forward "
                        "pass never saw");
  CHECK(x.grad().to_vector() == x_grad);  // refused before any gradient was added
  // fill_ and copy_ under NoGradGuard count too; a write through a view of the storage counts.
  for (int how = 0; how < 3; ++how) {
    INFO("write " << how);
    const Tensor y = ops::mul(x, x);
    {
      NoGradGuard no_grad;
      if (how == 0) x.detach().fill_(1.f);
      if (how == 1) x.reshape({12}).copy_(Tensor::zeros({12}));
      if (how == 2) x.detach().set({0, 0}, 5.f);
    }
    CHECK_THROWS_WITH(ops::sum(y).backward(), Catch::Contains("of op 'mul' was written in place"));
  }
  // An op that reads only shapes (add) does not mind; nor does a write after backward.
  const Tensor z = ops::add(x, x);
  x.detach().fill_(2.f);
  CHECK_NOTHROW(ops::sum(z).backward());
  const Tensor ok = ops::sum(ops::matmul(x, w));
  ok.backward();
  CHECK_NOTHROW(sgd.step());
}
