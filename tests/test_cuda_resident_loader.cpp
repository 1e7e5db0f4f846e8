// ResidentLoader on a CUDA device against the same loader on the CPU (itself checked against
// data/transforms.h in test_resident_loader.cpp): the augmentation kernel must give the same
// bits, write every element (device memory is poisoned with NaN) and the same labels. Built
// twice, like every CUDA suite: native on a GPU, and on the emulator everywhere.
#include "cuda_check.h"

#include <algorithm>
#include <vector>

#include "minidl/core/cuda/runtime.h"
#include "minidl/data/resident_loader.h"

using namespace minidl;

TEST_CASE("cuda ResidentLoader makes the CPU's batches bit for bit", "[gpu][data]") {
  if (cudatest::skip_without_cuda()) return;
  Cifar10 data;
  const int64_t count = 7;
  data.pixels.resize(size_t(count) * Cifar10::kImageBytes);
  Generator gen(21);
  for (auto& byte : data.pixels) byte = uint8_t(gen.next_u64() & 0xff);
  for (int64_t i = 0; i < count; ++i) data.labels.push_back(int((3 * i) % 10));

  ResidentLoaderOptions options;
  options.batch_size = 4;  // a full batch and a partial one
  options.seed = 13;
  options.translate = 2;
  options.cutout = 8;
  for (const auto& [padding, flip] : {std::pair{Padding::Reflect, kernels::FlipMode::Alternating},
                                      std::pair{Padding::Zero, kernels::FlipMode::Random}}) {
    options.padding = padding;
    options.flip = flip;
    ResidentLoader cpu(data, Device::CPU, options), gpu(data, Device::CUDA, options);
    for (int64_t epoch : {0, 1}) {
      cpu.start_epoch(epoch);
      gpu.start_epoch(epoch);
      DeviceBatch want, got;
      while (cpu.next(want)) {
        REQUIRE(gpu.next(got));
        REQUIRE(got.inputs.device() == Device::CUDA);
        const Tensor host = got.inputs.to(Device::CPU);
        const std::vector<float> a(host.data(), host.data() + host.numel());
        const std::vector<float> b(want.inputs.data(), want.inputs.data() + want.inputs.numel());
        CHECK(a == b);  // NaN (an unwritten element) never compares equal
        std::vector<int32_t> labels(size_t(got.size()));
        cuda_runtime::copy_device_to_host(labels.data(), got.labels.data(),
                                          labels.size() * sizeof(int32_t));
        CHECK(std::equal(labels.begin(), labels.end(), want.labels.data()));
      }
      CHECK_FALSE(gpu.next(got));
    }
  }
}
