// The CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html): files of 3073-byte
// records, one label byte (0..9) then 1024 red, 1024 green and 1024 blue bytes, each plane a
// row-major 32x32 image. Training: data_batch_1.bin .. data_batch_5.bin; test: test_batch.bin.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace minidl {

struct Cifar10 {
  static constexpr int kChannels = 3, kHeight = 32, kWidth = 32, kClasses = 10;
  static constexpr int kImageBytes = kChannels * kHeight * kWidth;  // 3072
  static constexpr int kRecordBytes = 1 + kImageBytes;             // 3073

  std::vector<uint8_t> pixels;  // size() * 3072 bytes, each image CHW as in the files
  std::vector<int> labels;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * kImageBytes; }
};

enum class Split { Train, Test };

// Reads the split from `dir`, at most `limit` images (all when limit < 0), in file order.
// Every problem is a minidl::Error naming the file: a missing directory or file, a size that
// is not a multiple of 3073 bytes (truncated download), a label byte above 9 (with its offset).
Cifar10 load_cifar10(const std::string& dir, Split split, int64_t limit = -1);

// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
struct ChannelStats {
  std::array<float, 3> mean, stddev;
};
ChannelStats channel_stats(const Cifar10& data);
// The values published for the CIFAR-10 training set (and computed by channel_stats on it).
ChannelStats cifar10_published_stats();

extern const char* const kCifar10ClassNames[10];

}  // namespace minidl
