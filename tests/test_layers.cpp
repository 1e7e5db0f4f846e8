// Layers and the reference model: shapes, parameter names and counts, train/eval behaviour,
// initialization statistics, and the exact parameter count of the reference ResNet
// (docs/design.md, section 2).
#include <catch2/catch.hpp>

#include <cmath>

#include "minidl/core/minidl.h"
#include "minidl/layers/init.h"
#include "minidl/layers/layers.h"
#include "minidl/layers/summary.h"
#include "minidl/layers/test_time_augmentation.h"
#include "minidl/models/basic_block.h"
#include "minidl/models/fast_net.h"
#include "minidl/models/resnet.h"
#include "minidl/optim/optimizer.h"
#include "op_check.h"

using namespace minidl;

TEST_CASE("the reference ResNet has exactly 4910922 trainable parameters", "[cpu][layers]") {
  ResNet model;
  CHECK(model.parameter_count() == 4910922);
  Tensor logits;
  {
    NoGradGuard no_grad;
    model.eval();
    logits = model.forward(Tensor::zeros({2, 3, 32, 32}));
  }
  CHECK(logits.shape() == Shape{2, 10});
}

TEST_CASE("ResNet variants are one config away", "[cpu][layers]") {
  ResNetConfig small;
  small.stem = "3x3";
  small.widths = {16, 32};
  small.blocks = {2, 1};
  small.dropout = 0.2f;
  ResNet model(small);
  // stem 3*16*9 + bn 32; stage1: two blocks of 2*(16*16*9 + 32); stage2: 16*32*9 + 32*32*9 +
  // projection 16*32 + 3 bn of 64; head 32*10 + 10.
  const int64_t expected = (432 + 32) + 2 * (2 * (2304 + 32)) + (4608 + 9216 + 512 + 3 * 64) + 330;
  CHECK(model.parameter_count() == expected);
  NoGradGuard no_grad;
  CHECK(model.forward(Tensor::zeros({1, 3, 32, 32})).shape() == Shape{1, 10});
  ResNetConfig bad;
  bad.stem = "5x5";
  REQUIRE_THROWS_WITH(ResNet(bad), Catch::Contains("unknown stem '5x5'"));
}

TEST_CASE("named_parameters and named_buffers use dotted paths", "[cpu][layers]") {
  BasicBlock block(8, 16, 2);
  std::vector<std::string> names;
  for (const auto& [name, t] : block.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                          "bn2.weight", "bn2.bias", "shortcut_conv.weight",
                                          "shortcut_bn.weight", "shortcut_bn.bias"});
  std::vector<std::string> buffers;
  for (const auto& [name, t] : block.named_buffers()) buffers.push_back(name);
  CHECK(buffers.size() == 6);
  CHECK(buffers.front() == "bn1.running_mean");
  for (const Tensor& p : block.parameters()) CHECK(p.requires_grad());

  BasicBlock identity(8, 8, 1);  // same shape: no projection
  CHECK(identity.named_parameters().size() == 6);
}

TEST_CASE("train() and eval() reach every child and change BatchNorm and Dropout",
          "[cpu][layers]") {
  Sequential net;
  auto bn = std::make_shared<BatchNorm2d>(3);
  auto drop = std::make_shared<Dropout>(0.5f);
  net.add(bn).add(drop);
  net.eval();
  CHECK_FALSE(bn->is_training());
  CHECK_FALSE(drop->is_training());
  Generator gen(3);
  const Tensor x = Tensor::normal({4, 3, 5, 5}, 2.f, 3.f, gen);
  // eval: running stats (0, 1) and no dropout: the identity up to eps.
  const Tensor y = net.forward(x);
  const auto xv = x.to_vector(), yv = y.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) CHECK(yv[i] == Approx(xv[i] / std::sqrt(1.f + 1e-5f)));
  CHECK(bn->running_mean.to_vector() == std::vector<float>(3, 0.f));

  net.train();
  CHECK(bn->is_training());
  net.forward(x);
  CHECK(bn->running_mean.at({0}) != 0.f);  // training updated the statistics
}

TEST_CASE("Conv2d and Linear use He initialization with the documented scales", "[cpu][layers]") {
  Generator gen(11);
  Conv2d conv(Conv2dOptions{64, 128, 3, 1, 1}, gen);
  const auto w = conv.weight.to_vector();
  double sum = 0, squares = 0;
  for (float v : w) sum += v, squares += double(v) * v;
  const double mean = sum / w.size(), stddev = std::sqrt(squares / w.size() - mean * mean);
  CHECK(std::abs(mean) < 0.005);
  CHECK(stddev == Approx(std::sqrt(2.0 / (128 * 9))).epsilon(0.03));  // fan_out = 128 * 3 * 3
  CHECK_FALSE(conv.bias.defined());

  Linear fc(512, 10, true, gen);
  const float bound = 1.f / std::sqrt(512.f);
  for (float v : fc.weight.to_vector()) REQUIRE(std::abs(v) <= bound);
  for (float v : fc.bias.to_vector()) REQUIRE(std::abs(v) <= bound);
  CHECK(fc.forward(Tensor::zeros({3, 512})).shape() == Shape{3, 10});
}

TEST_CASE("pooling, flatten and sequential layers produce the expected shapes", "[cpu][layers]") {
  Sequential net;
  net.add(std::make_shared<MaxPool2d>(2, 2))
      .add(std::make_shared<AvgPool2d>(3, 1, 1))
      .add(std::make_shared<ReLU>())
      .add(std::make_shared<Flatten>());
  CHECK(net.size() == 4);
  CHECK(net.forward(Tensor::ones({2, 3, 8, 6})).shape() == Shape{2, 3 * 4 * 3});
  CHECK(GlobalAvgPool().forward(Tensor::ones({2, 5, 3, 3})).shape() == Shape{2, 5});
  std::vector<std::string> names;
  for (const auto& [name, child] : net.children()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0", "1", "2", "3"});
}

TEST_CASE("zero_grad clears the gradients of every parameter", "[cpu][layers]") {
  Linear fc(4, 2);
  ops::sum(fc.forward(Tensor::ones({3, 4}))).backward();
  CHECK(fc.weight.grad().defined());
  fc.zero_grad();
  CHECK_FALSE(fc.weight.grad().defined());
  CHECK_FALSE(fc.bias.grad().defined());
}

TEST_CASE("print_summary lists every layer with its output shape and the total", "[cpu][layers]") {
  ResNet model;
  std::ostringstream out;
  print_summary(model, {1, 3, 32, 32}, out);
  const std::string text = out.str();
  CHECK_THAT(text, Catch::Contains("stem.0") && Catch::Contains("[1, 64, 16, 16]") &&
                       Catch::Contains("BasicBlock(256, 512, stride=2, projection)") &&
                       Catch::Contains("[1, 512, 2, 2]") && Catch::Contains("Linear(512, 10)") &&
                       Catch::Contains("total trainable parameters 4910922"));
  CHECK(model.is_training());  // restored after the summary's eval-mode pass
}

TEST_CASE("Sequential takes its modules in its constructor, in order", "[cpu][layers]") {
  Sequential net(std::make_shared<Linear>(3, 4), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(4, 2));
  REQUIRE(net.size() == 3);
  Sequential same;
  same.add(std::make_shared<Linear>(3, 4)).add(std::make_shared<ReLU>());
  same.add(std::make_shared<Linear>(4, 2));
  CHECK(net.named_parameters().size() == same.named_parameters().size());
  const Tensor y = net.forward(Tensor::ones({5, 3}));
  CHECK(y.shape() == Shape{5, 2});
}

TEST_CASE("BatchNorm2d with a frozen scale trains its bias only, and with none has no parameters",
          "[cpu][layers]") {
  Generator gen(8);
  const Tensor x = Tensor::normal({4, 3, 5, 5}, 1.f, 2.f, gen);
  const Tensor upstream = Tensor::normal({4, 3, 5, 5}, 0.f, 1.f, gen);
  auto reference = [&](const Tensor& gamma, const Tensor& beta) {
    return ops::batch_norm(x, gamma, beta, Tensor::zeros({3}), Tensor::ones({3}), true, 0.3f,
                           1e-3f);
  };

  BatchNorm2d frozen(BatchNorm2dOptions{3, 0.3f, 1e-3f, BatchNormAffine::Frozen});
  CHECK(frozen.describe() == "BatchNorm2d(3, scale frozen)");
  REQUIRE(frozen.named_parameters().size() == 1);
  CHECK(frozen.named_parameters()[0].first == "bias");
  CHECK(frozen.named_buffers().size() == 3);  // weight (the frozen 1s), running mean and var
  CHECK(frozen.named_buffers()[0].first == "weight");
  ops::sum(ops::mul(frozen(x), upstream)).backward();
  CHECK_FALSE(frozen.weight.grad().defined());
  CHECK(frozen.bias.grad().defined());
  CHECK(frozen(x).to_vector() == reference(Tensor::ones({3}), Tensor::zeros({3})).to_vector());
  // The options' momentum reaches the op: after two training calls on x, the running mean is
  // 0.7 (0.3 m) + 0.3 m = 0.51 m, m the batch mean.
  const double batch_mean = ops::mean(ops::narrow(x, 1, 0, 1)).item();
  CHECK(frozen.running_mean.to_vector()[0] == Approx(0.51 * batch_mean));

  BatchNorm2d none(BatchNorm2dOptions{3, 0.3f, 1e-3f, BatchNormAffine::None});
  CHECK(none.parameters().empty());
  CHECK_FALSE(none.weight.defined());
  CHECK_FALSE(none.bias.defined());
  CHECK(none(x).to_vector() == reference(Tensor(), Tensor()).to_vector());

  REQUIRE_THROWS_WITH(BatchNorm2d(BatchNorm2dOptions{3, 1.5f}),
                      Catch::Contains("BatchNorm2d: momentum must be in [0, 1], got 1.5"));
  REQUIRE_THROWS_WITH(BatchNorm2d(BatchNorm2dOptions{3, 0.1f, 0.f}),
                      Catch::Contains("BatchNorm2d: eps must be positive and finite, got 0"));
}

TEST_CASE("dirac_ makes a convolution's first channels copy its input, and keeps the rest",
          "[cpu][layers][init]") {
  Generator gen(4);
  Conv2d conv(Conv2dOptions{3, 5, 3, 1, 1}, gen);
  const std::vector<float> before = conv.weight.to_vector();
  init::dirac_(conv.weight);
  const Tensor x = Tensor::normal({2, 3, 6, 6}, 0.f, 1.f, gen);
  const Tensor y = conv(x);
  // Output channels 0..2 are the input channels; 3 and 4 keep their random filters.
  const std::vector<float> copied = ops::narrow(y, 1, 0, 3).to_vector(), input = x.to_vector();
  REQUIRE(copied.size() == input.size());
  for (size_t i = 0; i < input.size(); ++i) REQUIRE(copied[i] == Approx(input[i]).margin(1e-6));
  const std::vector<float> after = conv.weight.to_vector();
  const size_t filter = 3 * 3 * 3;
  CHECK(std::vector<float>(after.begin() + 3 * filter, after.end()) ==
        std::vector<float>(before.begin() + 3 * filter, before.end()));
  // More input channels than output channels: every filter is an identity.
  Tensor wide = Tensor::ones({2, 4, 3, 3});
  init::dirac_(wide);
  CHECK(ops::sum(wide).item() == 2.f);
  Tensor even = Tensor::ones({2, 2, 2, 2});
  REQUIRE_THROWS_WITH(init::dirac_(even), Catch::Contains("init::dirac_: needs an odd kernel"));
}

TEST_CASE("translate_reflect shifts images and fills the edge by reflection",
          "[cpu][layers][tta]") {
  // One 1x5 row per image: 0 1 2 3 4.
  const Tensor row = Tensor::from_vector({0.f, 1.f, 2.f, 3.f, 4.f}, {1, 1, 1, 5});
  CHECK(translate_reflect(row, 0, 2).to_vector() == std::vector<float>{2.f, 1.f, 0.f, 1.f, 2.f});
  CHECK(translate_reflect(row, 0, -2).to_vector() == std::vector<float>{2.f, 3.f, 4.f, 3.f, 2.f});
  CHECK(translate_reflect(row, 0, 0).to_vector() == row.to_vector());
  // Rows move the same way: a 3x1 column shifted down by 1.
  const Tensor column = Tensor::from_vector({5.f, 6.f, 7.f}, {1, 1, 3, 1});
  CHECK(translate_reflect(column, 1, 0).to_vector() == std::vector<float>{6.f, 5.f, 6.f});
  REQUIRE_THROWS_WITH(translate_reflect(row, 0, 5),
                      Catch::Contains("translate_reflect: shift (0, 5) must be smaller"));
  testutil::gradcheck(
      [](const std::vector<Tensor>& t) { return translate_reflect(t[0], 1, -2); },
      {Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f, 10.f, 11.f, 12.f},
                           {1, 1, 3, 4})});
}

TEST_CASE("tta_logits averages the model over mirrored and translated views",
          "[cpu][layers][tta]") {
  Generator gen(12);
  Sequential model(std::make_shared<Flatten>(), std::make_shared<Linear>(2 * 4 * 4, 3, true, gen));
  model.eval();
  const Tensor x = Tensor::normal({5, 2, 4, 4}, 0.f, 1.f, gen);
  NoGradGuard no_grad;
  auto close = [](const Tensor& a, const Tensor& b) {
    const std::vector<float> u = a.to_vector(), v = b.to_vector();
    REQUIRE(u.size() == v.size());
    for (size_t i = 0; i < u.size(); ++i) REQUIRE(u[i] == Approx(v[i]).margin(1e-5));
  };
  // No views: the model itself.
  close(tta_logits(model, x, TtaOptions{false, 0}), model(x));
  // The mirror: the mean of the two.
  const Tensor mirrored = model(ops::flip(x, 3));
  close(tta_logits(model, x), ops::scale(ops::add(model(x), mirrored), 0.5f));
  // Translated by 1: half the plain views, half the four shifted ones.
  const Tensor shifted = ops::add(
      ops::add(model(translate_reflect(x, 1, 1)), model(ops::flip(translate_reflect(x, 1, 1), 3))),
      ops::add(model(translate_reflect(x, -1, -1)),
               model(ops::flip(translate_reflect(x, -1, -1), 3))));
  close(tta_logits(model, x, TtaOptions{true, 1}),
        ops::add(ops::scale(ops::add(model(x), mirrored), 0.25f), ops::scale(shifted, 0.125f)));
  REQUIRE_THROWS_WITH(tta_logits(model, x, TtaOptions{true, 4}),
                      Catch::Contains("tta_logits: translate 4 must be >= 0 and smaller"));
}

TEST_CASE("patch_whitening gives a first convolution whose outputs are decorrelated",
          "[cpu][layers][init]") {
  // Correlated 2-channel images: channel 1 is channel 0 plus a little noise, and neighbouring
  // pixels share a component, so raw 2x2 patches are far from white.
  Generator gen(21);
  const int n = 64, size = 8;
  const Tensor base = Tensor::normal({n, 1, size, size}, 0.f, 1.f, gen);
  const Tensor smooth = ops::add(base, translate_reflect(base, 0, 1));
  const Tensor images =
      ops::cat({smooth, ops::add(smooth, Tensor::normal({n, 1, size, size}, 0.f, 0.3f, gen))}, 1);
  const float eps = 1e-4f;
  const Tensor weight = init::patch_whitening(images, 2, eps);
  REQUIRE(weight.shape() == Shape{16, 2, 2, 2});  // d = 2 * 2 * 2 = 8 filters and negatives
  // The first 8 outputs over every stride-1 patch: second moments ~ identity (each
  // l / (l + eps), within 1% for these eigenvalues), cross moments ~ 0.
  const Tensor out = ops::conv2d(images, ops::narrow(weight, 0, 0, 8), Tensor(), 1, 0);
  const Tensor rows = ops::permute(out, {1, 0, 2, 3}).reshape({8, -1});  // [8, patches]
  const Tensor moment =
      ops::scale(ops::matmul(rows, ops::transpose(rows, 0, 1)), 1.f / float(rows.size(1)));
  for (int a = 0; a < 8; ++a) {
    for (int b = 0; b < 8; ++b) {
      INFO("moment[" << a << ", " << b << "]");
      CHECK(moment.at({a, b}) == Approx(a == b ? 1.0 : 0.0).margin(0.02));
    }
  }
  // The second half are the negatives of the first.
  CHECK(ops::add(ops::narrow(weight, 0, 0, 8), ops::narrow(weight, 0, 8, 8)).to_vector() ==
        std::vector<float>(64, 0.f));
  REQUIRE_THROWS_WITH(init::patch_whitening(images, 9),
                      Catch::Contains("init::patch_whitening: kernel 9 must be in [1, 8]"));
}

TEST_CASE("FastNet is the airbench94-class network: 1971640 parameters, 32x32 in, logits out",
          "[cpu][layers][fastnet]") {
  Generator gen(3);
  FastNet net(FastNetConfig{}, gen);
  CHECK(net.parameter_count() == 1971640);
  // Every batch norm keeps its scale frozen: 2 per group, with a bias only.
  int frozen_scales = 0;
  for (const auto& [name, buffer] : net.named_buffers()) {
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) ++frozen_scales;
  }
  CHECK(frozen_scales == 6);

  const Tensor images = Tensor::normal({16, 3, 32, 32}, 0.f, 1.f, gen);
  net.init_whitening(images);
  net.init_dirac();
  CHECK_FALSE(net.whiten().weight.requires_grad());
  CHECK(net.whiten().bias.requires_grad());
  const std::vector<ParamGroup> groups = decay_groups(net.parameters());
  CHECK(groups[0].params.size() + groups[1].params.size() == net.parameters().size() - 1);

  const Tensor logits = net(images);
  CHECK(logits.shape() == Shape{16, 10});
  ops::sum(logits).backward();
  CHECK_FALSE(net.whiten().weight.grad().defined());  // frozen: no gradient
  CHECK(net.whiten().bias.grad().defined());
  REQUIRE_THROWS_WITH(FastNet(FastNetConfig{2, {}}), Catch::Contains("FastNet: widths must name"));
}

namespace {
// A module that registers whatever a test asks, as a user's module would in its constructor.
struct Registrar : minidl::Module {
  using Module::register_buffer;
  using Module::register_module;
  using Module::register_parameter;
  std::string describe() const override { return "Registrar"; }
};
}  // namespace

TEST_CASE("register_parameter, register_buffer and register_module refuse a name in use",
          "[cpu][layers][errors]") {
  using minidl::Tensor;
  Registrar m;
  m.register_parameter("w", Tensor::zeros({2}));
  m.register_buffer("stats", Tensor::zeros({2}));
  m.register_module("child", std::make_shared<Registrar>());
  CHECK_THROWS_WITH(m.register_parameter("w", Tensor::zeros({3})),
                    "register_parameter: the name 'w' is already taken by a parameter of this "
                    "module: names must be unique within a module");
  CHECK_THROWS_WITH(m.register_buffer("w", Tensor::zeros({3})),
                    Catch::Contains("the name 'w' is already taken by a parameter"));
  CHECK_THROWS_WITH(m.register_parameter("stats", Tensor::zeros({3})),
                    Catch::Contains("already taken by a buffer"));
  CHECK_THROWS_WITH(m.register_module("stats", std::make_shared<Registrar>()),
                    Catch::Contains("already taken by a buffer"));
  CHECK_THROWS_WITH(m.register_parameter("child", Tensor::zeros({3})),
                    Catch::Contains("already taken by a child module"));
  CHECK_THROWS_WITH(m.register_parameter("a.b", Tensor::zeros({3})),
                    "register_parameter: the name 'a.b' must be non-empty and without '.' (the "
                    "separator of parameter paths)");
  CHECK_THROWS_WITH(m.register_buffer("", Tensor::zeros({3})), Catch::Contains("non-empty"));
  CHECK_THROWS_WITH(m.register_parameter("v", Tensor()), "register_parameter: 'v' is undefined");
  CHECK_THROWS_WITH(m.register_module("none", std::shared_ptr<Registrar>()),
                    "register_module: 'none' is null");
  CHECK(m.named_parameters().size() == 1);  // nothing refused was registered
}
