// layers/inspect.h: naming where values went non-finite, as train_cifar10 reports it when its
// loss does.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "minidl/core/minidl.h"
#include "minidl/layers/inspect.h"
#include "minidl/layers/layers.h"

using namespace minidl;

namespace {
std::shared_ptr<Sequential> small_net() {
  Generator gen(7);
  auto net = std::make_shared<Sequential>();
  net->add(std::make_shared<Conv2d>(Conv2dOptions{2, 3, 3, 1, 1}, gen));
  net->add(std::make_shared<BatchNorm2d>(3));
  net->add(std::make_shared<ReLU>());
  net->add(std::make_shared<Flatten>());
  net->add(std::make_shared<Linear>(3 * 4 * 4, 2, true, gen));
  return net;
}
}  // namespace

TEST_CASE("first_nonfinite_state names the first non-finite parameter gradient or buffer",
          "[cpu][layers][nan]") {
  auto net = small_net();
  CHECK(first_nonfinite_state(*net).empty());
  auto* linear = dynamic_cast<Linear*>(net->children()[4].second.get());
  linear->bias.set({1}, std::numeric_limits<float>::infinity());
  CHECK(first_nonfinite_state(*net) == "parameter 4.bias");
  auto* bn = dynamic_cast<BatchNorm2d*>(net->children()[1].second.get());
  bn->running_var.set({0}, std::nanf(""));
  CHECK(first_nonfinite_state(*net) == "parameter 4.bias");  // parameters come first
  linear->bias.set({1}, 0.f);
  CHECK(first_nonfinite_state(*net) == "buffer 1.running_var");
}

TEST_CASE("first_nonfinite_output names the first layer whose output is not finite",
          "[cpu][layers][nan]") {
  auto net = small_net();
  Generator gen(8);
  const Tensor x = Tensor::normal({2, 2, 4, 4}, 0.f, 1.f, gen);
  NoGradGuard no_grad;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>> chain{{"net", net}};
  CHECK(first_nonfinite_output(chain, x).empty());
  auto* linear = dynamic_cast<Linear*>(net->children()[4].second.get());
  linear->weight.set({0, 5}, std::nanf(""));
  CHECK(first_nonfinite_output(chain, x) == "net.4");
  auto* conv = dynamic_cast<Conv2d*>(net->children()[0].second.get());
  conv->weight.set({1, 0, 1, 1}, std::nanf(""));
  CHECK(first_nonfinite_output(chain, x) == "net.0");
  Tensor bad = x.clone();
  bad.set({0, 0, 0, 0}, std::nanf(""));
  CHECK(first_nonfinite_output(chain, bad) == "input");
}
