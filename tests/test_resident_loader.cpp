// ResidentLoader (data/resident_loader.h) on the CPU: its batches are the per-image transforms
// of data/transforms.h for the choices augment_draw makes, bit for bit; without random choices
// they are DataLoader's batches bit for bit (same order, same alternating flips, same
// arithmetic); its draws cover every shift, and its refusals name the setting. The CUDA kernel
// is checked against this one in tests/test_cuda_resident_loader.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "minidl/core/minidl.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/loader.h"
#include "minidl/data/resident_loader.h"
#include "minidl/data/transforms.h"

using namespace minidl;

namespace {
// `count` images of seeded random bytes, label i % 10.
Cifar10 random_images(int64_t count, uint64_t seed) {
  Cifar10 data;
  data.pixels.resize(size_t(count) * Cifar10::kImageBytes);
  data.labels.resize(size_t(count));
  Generator gen(seed);
  for (auto& byte : data.pixels) byte = uint8_t(gen.next_u64() & 0xff);
  for (int64_t i = 0; i < count; ++i) data.labels[size_t(i)] = int(i % 10);
  return data;
}

std::vector<float> values(const Tensor& t) {
  const Tensor host = t.to(Device::CPU);
  return std::vector<float>(host.data(), host.data() + host.numel());
}
}  // namespace

TEST_CASE("ResidentLoader's images are data/transforms.h's for the choices it draws",
          "[cpu][data][resident]") {
  const Cifar10 data = random_images(23, 7);
  ResidentLoaderOptions options;
  options.batch_size = 10;
  options.seed = 5;
  options.translate = 2;
  options.padding = Padding::Reflect;
  options.flip = kernels::FlipMode::Random;
  options.cutout = 8;
  ResidentLoader loader(data, Device::CPU, options);
  REQUIRE(loader.batches_per_epoch() == 3);
  const ChannelStats stats = cifar10_published_stats();
  for (int64_t epoch : {0, 1}) {
    const std::vector<int64_t> order = epoch_order(data.size(), options.seed, epoch, true);
    const kernels::AugmentParams p = loader.params(epoch);
    loader.start_epoch(epoch);
    DeviceBatch batch;
    int64_t seen = 0;
    while (loader.next(batch)) {
      const std::vector<float> got = values(batch.inputs);
      std::vector<int32_t> labels(size_t(batch.size()));
      std::copy_n(batch.labels.data(), batch.size(), labels.begin());
      for (int64_t b = 0; b < batch.size(); ++b, ++seen) {
        const int64_t image = order[size_t(seen)];
        const kernels::AugmentDraw d = kernels::augment_draw(p, image);
        uint8_t moved[Cifar10::kImageBytes];
        crop_and_flip(data.image(image), 2, d.dy + 2, d.dx + 2, d.flip, moved, Padding::Reflect);
        std::vector<float> want(Cifar10::kImageBytes);
        normalize(moved, stats, want.data());
        cutout(want.data(), 8, d.cy, d.cx);
        INFO("epoch " << epoch << " image " << image << " shift (" << d.dy << ", " << d.dx
                      << ") flip " << d.flip);
        CHECK(std::equal(want.begin(), want.end(), got.begin() + b * Cifar10::kImageBytes));
        CHECK(labels[size_t(b)] == data.labels[size_t(image)]);
      }
    }
    CHECK(seen == data.size());
  }
}

TEST_CASE("Without random shifts ResidentLoader's batches are DataLoader's, bit for bit",
          "[cpu][data][resident]") {
  // The same order (epoch_order), the same alternating flips, the same normalization.
  const Cifar10 data = random_images(19, 11);
  Cifar10Transform transform;
  transform.augment = true;
  transform.augment_options.crop_padding = 0;
  transform.augment_options.horizontal_flip = false;
  const Cifar10Dataset dataset(data, transform);
  DataLoader host(dataset, LoaderOptions().batch_size(8).seed(3).alternating_flip(true));
  ResidentLoaderOptions options;
  options.batch_size = 8;
  options.seed = 3;
  options.flip = kernels::FlipMode::Alternating;
  ResidentLoader resident(data, Device::CPU, options);
  REQUIRE(resident.batches_per_epoch() == host.batches_per_epoch());
  for (int64_t epoch : {0, 1, 2}) {
    host.start_epoch(epoch);
    resident.start_epoch(epoch);
    Batch want;
    DeviceBatch got;
    while (host.next(want)) {
      REQUIRE(resident.next(got));
      CHECK(values(got.inputs) == values(want.inputs));
      CHECK(std::vector<int>(got.labels.data(), got.labels.data() + got.size()) == want.labels);
    }
    CHECK_FALSE(resident.next(got));
  }
}

TEST_CASE("ResidentLoader's draws cover every shift, and flips are fair or alternate",
          "[cpu][data][resident]") {
  ResidentLoaderOptions options;
  options.translate = 2;
  options.seed = 9;
  options.flip = kernels::FlipMode::Random;
  const Cifar10 one = random_images(1, 1);
  const ResidentLoader loader(one, Device::CPU, options);
  const kernels::AugmentParams p = loader.params(4);
  std::set<std::pair<int, int>> shifts;
  int flips = 0;
  const int images = 4000;
  for (int64_t i = 0; i < images; ++i) {
    const kernels::AugmentDraw d = kernels::augment_draw(p, i);
    REQUIRE(std::abs(d.dy) <= 2);
    REQUIRE(std::abs(d.dx) <= 2);
    shifts.insert({d.dy, d.dx});
    flips += d.flip;
  }
  CHECK(shifts.size() == 25);
  CHECK(std::abs(flips - images / 2) < 200);  // 6 standard deviations
  // Alternating: every image is seen both ways in any two consecutive epochs.
  kernels::AugmentParams alternating = p;
  alternating.flip = kernels::FlipMode::Alternating;
  int mirrored = 0;
  for (int64_t i = 0; i < images; ++i) {
    alternating.epoch = 6;
    const bool even = kernels::augment_draw(alternating, i).flip;
    alternating.epoch = 7;
    REQUIRE(kernels::augment_draw(alternating, i).flip != even);
    mirrored += even;
  }
  CHECK(std::abs(mirrored - images / 2) < 200);
}

TEST_CASE("ResidentLoader refuses what it cannot load, naming the setting",
          "[cpu][data][resident]") {
  const Cifar10 data = random_images(4, 2);
  ResidentLoaderOptions options;
  CHECK_THROWS_WITH(ResidentLoader(Cifar10{}, Device::CPU, options),
                    "ResidentLoader: the image set is empty");
  options.batch_size = 0;
  CHECK_THROWS_WITH(ResidentLoader(data, Device::CPU, options),
                    "ResidentLoader: batch_size must be at least 1, got 0");
  options.batch_size = 2;
  options.translate = 32;
  CHECK_THROWS_WITH(ResidentLoader(data, Device::CPU, options),
                    "ResidentLoader: translate must be in [0, 32), got 32");
  options.translate = 0;
  Cifar10 bad_label = data;
  bad_label.labels[2] = 10;
  CHECK_THROWS_WITH(ResidentLoader(bad_label, Device::CPU, options),
                    "ResidentLoader: label 10 of image 2 is outside [0, 10)");
  ResidentLoader loader(data, Device::CPU, options);
  DeviceBatch batch;
  CHECK_THROWS_WITH(loader.next(batch), "ResidentLoader::next: call start_epoch() first");
}
