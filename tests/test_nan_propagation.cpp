// NaN is never hidden (issue 11): ReLU, max pooling and the fused batch norm + ReLU pass a NaN
// through as PyTorch does, so a loss that went NaN shows it instead of training on silently.
// Checked on the CPU here and, through the same ops, on CUDA (native or emulated).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "minidl/core/minidl.h"

using namespace minidl;

namespace {
const float kNan = std::nanf("");

// The ops below on `device`: each returns its output as host values.
std::vector<float> relu_of(const std::vector<float>& x, Device device) {
  return ops::relu(Tensor::from_vector(x, {int64_t(x.size())}, device)).to_vector();
}

void check_on(Device device) {
  SECTION("relu keeps NaN and +-0 maps to 0") {
    const std::vector<float> y = relu_of({kNan, -1.f, 2.f, -0.f}, device);
    CHECK(std::isnan(y[0]));
    CHECK(y[1] == 0.f);
    CHECK(y[2] == 2.f);
    CHECK(y[3] == 0.f);
  }
  SECTION("relu's gradient passes where the output is NaN, stops where it is <= 0") {
    Tensor x = Tensor::from_vector({kNan, -1.f, 2.f}, {3}, device).set_requires_grad(true);
    ops::sum(ops::relu(x)).backward();
    CHECK(x.grad().to_vector() == std::vector<float>{1.f, 0.f, 1.f});
  }
  SECTION("max pooling makes a window with a NaN NaN and routes its gradient to the NaN") {
    Tensor x = Tensor::from_vector({1.f, kNan, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f}, {1, 2, 2, 2}, device)
                   .set_requires_grad(true);
    const Tensor y = ops::max_pool2d(x, 2, 2);
    const std::vector<float> values = y.to_vector();
    CHECK(std::isnan(values[0]));
    CHECK(values[1] == 8.f);
    ops::sum(y).backward();
    CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 0, 0, 0, 0, 1});
  }
  SECTION("batch_norm_relu carries a NaN input to its whole channel, not to the others") {
    std::vector<float> values(2 * 2 * 3, 1.f);
    for (size_t i = 0; i < values.size(); ++i) values[i] = float(i % 5);
    values[0] = kNan;  // channel 0 of image 0
    const Tensor x = Tensor::from_vector(values, {2, 2, 3, 1}, device);
    Tensor rm = Tensor::zeros({2}, device), rv = Tensor::ones({2}, device);
    const std::vector<float> y =
        ops::batch_norm_relu(x, Tensor(), Tensor(), rm, rv, true).to_vector();
    for (int n = 0; n < 2; ++n) {
      for (int i = 0; i < 3; ++i) {
        CHECK(std::isnan(y[(n * 2 + 0) * 3 + i]));
        CHECK_FALSE(std::isnan(y[(n * 2 + 1) * 3 + i]));
      }
    }
    CHECK(std::isnan(rm.to_vector()[0]));  // and to its running mean
  }
}
}  // namespace

TEST_CASE("NaN propagates through relu max pooling and fused batch norm on the CPU", "[cpu][nan]") {
  check_on(Device::CPU);
}

TEST_CASE("NaN propagates through relu max pooling and fused batch norm on CUDA", "[gpu][nan]") {
  if (!cuda_available()) {
    WARN("SKIPPED: " << cuda_status());
    return;
  }
  check_on(Device::CUDA);
}
