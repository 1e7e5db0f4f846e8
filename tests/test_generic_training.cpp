// Models that are not the CIFAR-10 ResNet, trained on the CPU through the generic DataLoader
// (tests/generic_models.h): a regression MLP and a 1-channel 28x28 CNN.
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
