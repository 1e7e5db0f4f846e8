// Layers and the reference model: shapes, parameter names and counts, train/eval behaviour,
// initialization statistics, and the exact parameter count of the reference ResNet
// (docs/design.md, section 2).
#include <catch2/catch.hpp>

#include <cmath>

#include "minidl/core/minidl.h"
#include "minidl/layers/layers.h"
#include "minidl/layers/summary.h"
#include "minidl/models/basic_block.h"
#include "minidl/models/resnet.h"

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
