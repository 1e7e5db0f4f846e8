// The generic DataLoader's models (tests/generic_models.h) on CUDA: inputs, labels and targets
// go through BatchUploader, and a few steps must lower the loss. Under the emulator in every
// `make test`, so the runs are short.
#include "cuda_check.h"
#include "generic_models.h"

TEST_CASE("cuda trains a regression MLP from a TensorDataset of targets", "[gpu][data][train]") {
  if (cudatest::skip_without_cuda()) return;
  const generic::Losses l = generic::train_regression(minidl::Device::CUDA, 256, 6);
  INFO("MSE: first epoch " << l.first_epoch << ", last " << l.last_epoch);
  CHECK(l.last_epoch < 0.5 * l.first_epoch);
}

TEST_CASE("cuda trains a 28x28 CNN from a TensorDataset of labels", "[gpu][data][train]") {
  if (cudatest::skip_without_cuda()) return;
  const generic::Losses l = generic::train_strokes(minidl::Device::CUDA, 128, 3, 0);
  INFO("loss: first epoch " << l.first_epoch << ", last " << l.last_epoch);
  CHECK(l.last_epoch < l.first_epoch);
}

TEST_CASE("cuda trains a denoiser whose last step takes two inputs", "[gpu][data][train]") {
  if (cudatest::skip_without_cuda()) return;
  const generic::Losses l = generic::train_denoiser(minidl::Device::CUDA, 16, 3);
  INFO("MSE: first epoch " << l.first_epoch << ", last " << l.last_epoch);
  CHECK(l.last_epoch < l.first_epoch);
}
