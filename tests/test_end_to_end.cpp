// Proves that the ops and the autograd engine compose into something that learns: a small conv
// net (conv3x3 -> batch_norm -> relu -> max_pool2d -> flatten -> linear) built from ops, with
// its parameters as leaf tensors and plain SGD written here, fits a fixed random batch; and its
// first SGD steps follow, loss for loss, the same network trained with the double reference.
#include <cmath>

#include "op_check.h"

using minidl::Tensor;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

constexpr int64_t kN = 16, kC = 3, kH = 8, kW = 8, kClasses = 4, kFilters = 8;
constexpr int64_t kFeatures = kFilters * (kH / 2) * (kW / 2);

struct Net {
  Tensor conv_w, gamma, beta, fc_w, fc_b;  // leaves
  Tensor running_mean = Tensor::zeros({kFilters}), running_var = Tensor::ones({kFilters});

  std::vector<Tensor> parameters() const { return {conv_w, gamma, beta, fc_w, fc_b}; }

  Tensor forward(const Tensor& x) {
    Tensor h = ops::conv2d(x, conv_w, Tensor(), 1, 1);
    h = ops::batch_norm(h, gamma, beta, running_mean, running_var, true);
    h = ops::max_pool2d(ops::relu(h), 2, 2);
    return ops::linear(h.flatten(), fc_w, fc_b);
  }
};

// He-normal weights (std sqrt(2 / fan_in)), gamma 1, beta and biases 0.
Net he_initialized_net(minidl::Generator& gen) {
  Net net;
  net.conv_w = Tensor::normal({kFilters, kC, 3, 3}, 0.f, std::sqrt(2.f / (kC * 9)), gen);
  net.gamma = Tensor::ones({kFilters});
  net.beta = Tensor::zeros({kFilters});
  net.fc_w = Tensor::normal({kClasses, kFeatures}, 0.f, std::sqrt(2.f / kFeatures), gen);
  net.fc_b = Tensor::zeros({kClasses});
  for (Tensor p : net.parameters()) p.set_requires_grad(true);  // handles share the impl
  return net;
}

// param -= lr * grad, in place, outside the graph; then the gradient is dropped.
void sgd_step(const std::vector<Tensor>& params, float lr) {
  minidl::NoGradGuard no_grad;
  for (Tensor p : params) {
    REQUIRE(p.grad().defined());
    const std::vector<float> g = p.grad().to_vector();
    float* data = p.data();
    for (size_t i = 0; i < g.size(); ++i) data[i] -= lr * g[i];
    p.zero_grad();
  }
}

}  // namespace

TEST_CASE("a small conv net fits a fixed random batch with plain SGD", "[cpu][end_to_end]") {
  minidl::Generator gen(2024);
  const Tensor images = Tensor::normal({kN, kC, kH, kW}, 0.f, 1.f, gen);
  std::mt19937 rng(7);
  const std::vector<int> labels = testutil::random_labels(kN, int(kClasses), rng);
  Net net = he_initialized_net(gen);

  const int kMaxSteps = 300;
  float first_loss = 0.f, loss_value = 0.f;
  int step = 0;
  for (; step < kMaxSteps; ++step) {
    Tensor loss = ops::softmax_cross_entropy(net.forward(images), labels);
    loss_value = loss.item();
    REQUIRE(std::isfinite(loss_value));
    if (step == 0) first_loss = loss_value;
    if (loss_value < 0.1f * first_loss) break;
    loss.backward();
    sgd_step(net.parameters(), 0.1f);
  }
  INFO("loss " << first_loss << " -> " << loss_value << " after " << step << " steps");
  CHECK(first_loss > 0.5f);
  CHECK(loss_value < 0.1f * first_loss);
  CHECK(step < kMaxSteps);
  Tensor logits;
  {
    minidl::NoGradGuard no_grad;
    logits = net.forward(images);
  }
  CHECK_FALSE(logits.requires_grad());
  CHECK(ops::accuracy(logits, labels) == Approx(1.0));
  // The running statistics moved away from their initial values while training.
  CHECK(testutil::to_double(net.running_var) != Vec(kFilters, 1.0));
}

TEST_CASE("the first SGD steps of the library follow the double reference's loss curve",
          "[cpu][end_to_end]") {
  std::mt19937 rng(11);
  const Vec x = testutil::random_vec(kN * kC * kH * kW, rng);
  const std::vector<int> labels = testutil::random_labels(kN, int(kClasses), rng);
  Vec w = testutil::random_vec(kFilters * kC * 9, rng, -0.4, 0.4);
  Vec gamma = testutil::random_vec(kFilters, rng, 0.8, 1.2), beta(kFilters, 0.0);
  Vec fc_w = testutil::random_vec(kClasses * kFeatures, rng, -0.15, 0.15), fc_b(kClasses, 0.0);

  Net net;
  net.conv_w = testutil::to_tensor(w, {kFilters, kC, 3, 3}, true);
  net.gamma = testutil::to_tensor(gamma, {kFilters}, true);
  net.beta = testutil::to_tensor(beta, {kFilters}, true);
  net.fc_w = testutil::to_tensor(fc_w, {kClasses, kFeatures}, true);
  net.fc_b = testutil::to_tensor(fc_b, {kClasses}, true);
  const Tensor images = testutil::to_tensor(x, {kN, kC, kH, kW});

  const ref::ConvShape cs{kN, kC, kH, kW, kFilters, 3, 3, 1, 1};
  const ref::PoolShape ps{kN, kFilters, kH, kW, 2, 2, 0};
  const double lr = 0.1;
  for (int step = 0; step < 5; ++step) {
    INFO("step " << step);
    // Reference forward and backward, written out layer by layer.
    const Vec c = ref::conv2d(x, w, Vec(), cs);
    const auto bn = ref::batch_norm_train(c, gamma, beta, kN, kFilters, kH * kW, 1e-5);
    const Vec r = ref::relu(bn.y);
    const Vec p = ref::max_pool2d(r, ps);
    const Vec z = ref::linear(p, fc_w, fc_b, kN, kFeatures, kClasses);
    const double ref_loss = ref::softmax_cross_entropy(z, labels, kN, kClasses, 0.0);

    Tensor loss = ops::softmax_cross_entropy(net.forward(images), labels);
    CHECK(loss.item() == Approx(ref_loss).epsilon(1e-4));
    loss.backward();

    const Vec dz = ref::softmax_cross_entropy_backward(z, labels, kN, kClasses, 0.0, 1.0);
    const auto lg = ref::linear_backward(p, fc_w, true, dz, kN, kFeatures, kClasses);
    const Vec dr = ref::max_pool2d_backward(r, lg.dx, ps);
    const auto bg = ref::batch_norm_train_backward(c, gamma, ref::relu_backward(bn.y, dr), kN,
                                                   kFilters, kH * kW, 1e-5);
    const auto cg = ref::conv2d_backward(x, w, false, bg.dx, cs);
    CHECK_REL(testutil::grad_of(net.conv_w), cg.dw, 1e-3);
    CHECK_REL(testutil::grad_of(net.fc_w), lg.dw, 1e-3);
    w = ref::sub(w, ref::scale(cg.dw, lr));
    gamma = ref::sub(gamma, ref::scale(bg.dgamma, lr));
    beta = ref::sub(beta, ref::scale(bg.dbeta, lr));
    fc_w = ref::sub(fc_w, ref::scale(lg.dw, lr));
    fc_b = ref::sub(fc_b, ref::scale(lg.db, lr));
    sgd_step(net.parameters(), float(lr));
  }
}

TEST_CASE("a residual block with global average pooling fits a fixed random batch",
          "[cpu][end_to_end]") {
  // conv-BN-relu-conv-BN, identity shortcut added, relu, global average pool, linear: the shape
  // of one ResNet block and the classifier head, trained with SGD as above.
  minidl::Generator gen(77);
  const int64_t C = 16;
  const Tensor images = Tensor::normal({kN, kC, kH, kW}, 0.f, 1.f, gen);
  std::mt19937 rng(3);
  const std::vector<int> labels = testutil::random_labels(kN, int(kClasses), rng);
  auto he = [&gen](const minidl::Shape& shape, int64_t fan_in) {
    return Tensor::normal(shape, 0.f, std::sqrt(2.f / float(fan_in)), gen).set_requires_grad(true);
  };
  Tensor stem_w = he({C, kC, 3, 3}, kC * 9), w1 = he({C, C, 3, 3}, C * 9),
         w2 = he({C, C, 3, 3}, C * 9);
  Tensor fc_w = he({kClasses, C}, C), fc_b = Tensor::zeros({kClasses}).set_requires_grad(true);
  std::vector<Tensor> params = {stem_w, w1, w2, fc_w, fc_b};
  std::vector<Tensor> running;
  for (int i = 0; i < 3; ++i) {
    params.push_back(Tensor::ones({C}).set_requires_grad(true));   // gamma
    params.push_back(Tensor::zeros({C}).set_requires_grad(true));  // beta
    running.push_back(Tensor::zeros({C}));
    running.push_back(Tensor::ones({C}));
  }
  auto bn = [&](const Tensor& x, int i) {
    return ops::batch_norm(x, params[5 + 2 * i], params[6 + 2 * i], running[2 * i],
                           running[2 * i + 1], true);
  };
  auto forward = [&] {
    Tensor h = ops::relu(bn(ops::conv2d(images, stem_w, Tensor(), 1, 1), 0));
    Tensor r = ops::relu(bn(ops::conv2d(h, w1, Tensor(), 1, 1), 1));
    r = bn(ops::conv2d(r, w2, Tensor(), 1, 1), 2);
    h = ops::relu(ops::add(r, h));
    return ops::linear(ops::global_avg_pool(ops::max_pool2d(h, 2, 2)), fc_w, fc_b);
  };

  const int kMaxSteps = 300;
  float first_loss = 0.f, loss_value = 0.f;
  int step = 0;
  for (; step < kMaxSteps; ++step) {
    Tensor loss = ops::softmax_cross_entropy(forward(), labels);
    loss_value = loss.item();
    REQUIRE(std::isfinite(loss_value));
    if (step == 0) first_loss = loss_value;
    if (loss_value < 0.1f * first_loss) break;
    loss.backward();
    sgd_step(params, 0.05f);
  }
  INFO("loss " << first_loss << " -> " << loss_value << " after " << step << " steps");
  CHECK(loss_value < 0.1f * first_loss);
}
