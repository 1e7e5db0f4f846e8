// The DataLoader's throughput on CIFAR-10-shaped data: one epoch of 50,000 generated images,
// augmented as train_cifar10 trains (crop, flip, cutout 12), taken as fast as the loader gives
// them; ms per epoch and images/s. Nothing else runs, so this is the worker thread's speed:
// the bound on how fast a GPU step could be fed.
//   build/bench/bench_loader [batch_size] [epochs]      (defaults 512 and 3)
//   ... --generic    through Dataset::get() and a pass-through transform: the generic path,
//                    one tensor per image, instead of Cifar10Dataset's in-place write()
//   ... --resident cpu|cuda   ResidentLoader instead (data/resident_loader.h): the images on
//                    that device, each batch made there by the augmentation kernel; on a GPU
//                    the epoch's time includes waiting for its last batch
// The checksum (a sum over every batch's first value and first label) is the same for the two
// host paths and for every run with the same arguments: the batches are reproducible. The
// resident loader draws other shifts, so its checksum differs (but not between devices).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/loader.h"
#include "minidl/data/resident_loader.h"

using namespace minidl;

int main(int argc, char** argv) {
  int batch = 512, epochs = 3;
  bool generic = false;
  std::string resident;  // "", "cpu" or "cuda"
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--generic") {
      generic = true;
    } else if (arg == "--resident" && i + 1 < argc) {
      resident = argv[++i];
    } else if (positional++ == 0) {
      batch = std::atoi(argv[i]);
    } else {
      epochs = std::atoi(argv[i]);
    }
  }
  const int64_t n = 50000;
  Cifar10 raw;
  raw.pixels.resize(size_t(n) * Cifar10::kImageBytes);
  raw.labels.resize(size_t(n));
  uint64_t x = 88172645463325252ULL;  // xorshift: any bytes will do
  for (uint8_t& p : raw.pixels) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p = uint8_t(x);
  }
  for (int64_t i = 0; i < n; ++i) raw.labels[size_t(i)] = int(i % 10);
  Cifar10Transform augmented;
  augmented.augment = true;
  augmented.augment_options.cutout_size = 12;
  if (!resident.empty()) {
    ResidentLoaderOptions options;
    options.batch_size = batch;
    options.seed = 1;
    options.translate = augmented.augment_options.crop_padding;
    options.flip = kernels::FlipMode::Random;
    options.cutout = 12;
    ResidentLoader loader(raw, parse_device(resident), options);
    for (int epoch = 0; epoch < epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      double checksum = 0;
      DeviceBatch b;
      for (loader.start_epoch(epoch); loader.next(b);) {
        // Reading the first value back waits for this batch's kernel: on a GPU the time then
        // includes every kernel, at the cost of one small copy per batch.
        checksum += ops::narrow(b.inputs, 0, 0, 1).to(Device::CPU).data()[0];
      }
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      std::printf("epoch %d: %.1f ms (%.0f images/s) checksum %.3f (resident, %s)\n", epoch, ms,
                  n / ms * 1000, checksum, resident.c_str());
    }
    return 0;
  }
  const Cifar10Dataset data(raw, augmented);
  LoaderOptions options = LoaderOptions().batch_size(batch).seed(1);
  if (generic) options.transform([](Example e, Generator&) { return e; });
  DataLoader loader(data, options);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    Batch b;
    double checksum = 0;
    for (loader.start_epoch(epoch); loader.next(b);) checksum += b.inputs.data()[0] + b.labels[0];
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("epoch %d: %.1f ms (%.0f images/s) checksum %.3f%s\n", epoch, ms, n / ms * 1000,
                checksum, generic ? " (generic path)" : "");
  }
}
