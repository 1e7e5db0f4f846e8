// Models that are not the CIFAR-10 ResNet, trained on the CPU through the generic DataLoader
// (tests/generic_models.h): a regression MLP, a 1-channel 28x28 CNN, and a denoiser with a
// two-input step.
#include <catch2/catch.hpp>

#include "generic_models.h"

TEST_CASE("a regression MLP learns synthetic points through a TensorDataset of targets",
          "[cpu][data][train]") {
  const generic::Losses l = generic::train_regression(minidl::Device::CPU, 512, 40);
  INFO("MSE: first epoch " << l.first_epoch << ", last " << l.last_epoch);
  CHECK(l.last_epoch < 0.1 * l.first_epoch);
  CHECK(l.last_epoch < 0.01);
}

TEST_CASE("a CNN learns 1-channel 28x28 generated strokes through a TensorDataset of labels",
          "[cpu][data][train]") {
  const generic::Losses l = generic::train_strokes(minidl::Device::CPU, 512, 4, 256);
  INFO("loss: first epoch " << l.first_epoch << ", last " << l.last_epoch << "; held-out accuracy "
                            << l.accuracy);
  CHECK(l.last_epoch < 0.5 * l.first_epoch);
  CHECK(l.accuracy > 0.9);
}

TEST_CASE("a model with a two-input step (an encoder skip joined by cat) learns to denoise",
          "[cpu][data][train]") {
  const generic::Losses l = generic::train_denoiser(minidl::Device::CPU, 256, 6);
  const double all_zeros = l.accuracy;  // the MSE of answering a black image
  INFO("MSE: first epoch " << l.first_epoch << ", last " << l.last_epoch << "; all zeros "
                           << all_zeros << "; the noisy input itself 0.25");
  CHECK(l.last_epoch < 0.3 * all_zeros);
  CHECK(l.last_epoch < 0.5 * l.first_epoch);
}

TEST_CASE("a module of two inputs called with one, as a Sequential step, names itself",
          "[cpu][layers][errors]") {
  using namespace minidl;
  Generator init(1);
  Sequential net(std::make_shared<generic::SkipMerge>(2, 2, 1, init));
  REQUIRE_THROWS_WITH(net(Tensor::zeros({1, 2, 4, 4})),
                      Catch::Contains("SkipMerge was called with one input ([1, 2, 4, 4])") &&
                          Catch::Contains("call the forward it defines with all of its inputs"));
}
