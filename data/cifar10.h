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
  static constexpr int kImageBytes = kChannels * kHeight * kWidth;    // 3072
  static constexpr int kRecordBytes = 1 + kImageBytes;                // 3073
  static constexpr int64_t kFileRecords = 10000;                      // every file of the dataset
  static constexpr int64_t kFileBytes = kFileRecords * kRecordBytes;  // 30,730,000

  std::vector<uint8_t> pixels;  // size() * 3072 bytes, each image CHW as in the files
  std::vector<int> labels;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * kImageBytes; }
};

enum class Split { Train, Test };

// Reads the split from `dir`, at most `limit` images (all when limit < 0), in file order.
// Strict: every file must be exactly `file_records` records (10,000: 30,730,000 bytes), so a
// truncated download or an unrelated file is refused before anything is allocated. The one
// exception is a limit: a shorter file (of whole records) is accepted when it still holds
// every image the limit needs from it, and the files after it are then not opened; a longer
// file is never accepted. Only the images that will be used are allocated and read.
// Every problem is a minidl::Error naming the file or directory and what would work: a missing
// directory, a regular file given as the directory, a missing file, a directory or other
// non-file where a file is expected, an unreadable file (with the system's reason), a wrong
// size, a label byte above 9 (with its offset). The messages name this function's arguments,
// not a program's options; so that a program can name its own, the directory's problems are
// ArgumentErrors blaming "dir" and a file of the wrong size one blaming "limit".
// `file_records` exists for tests, which write small files in the same layout.
Cifar10 load_cifar10(const std::string& dir, Split split, int64_t limit = -1,
                     int64_t file_records = Cifar10::kFileRecords);

// Moves the last `count` images of `data` into a set of their own and returns it: a
// validation split held out of the training images, so that choosing among epochs or settings
// never looks at the test set. The training files are in random order, so the last images are
// a fair sample of every class (the last 5,000 of the 50,000 hold 475-532 of each). Errors:
// count < 1, or count >= data.size() (no training image would be left).
Cifar10 split_off_last(Cifar10& data, int64_t count);

// Per-channel mean and standard deviation of the pixels scaled to [0, 1].
struct ChannelStats {
  std::array<float, 3> mean, stddev;
};
ChannelStats channel_stats(const Cifar10& data);
// The values published for the CIFAR-10 training set (and computed by channel_stats on it).
ChannelStats cifar10_published_stats();

extern const char* const kCifar10ClassNames[10];

}  // namespace minidl
