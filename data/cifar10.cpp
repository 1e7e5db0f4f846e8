#include "data/cifar10.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace minidl {

const char* const kCifar10ClassNames[10] = {"airplane", "automobile", "bird", "cat", "deer",
                                            "dog", "frog", "horse", "ship", "truck"};

namespace {

namespace fs = std::filesystem;

// Appends the records of one file (at most `budget`) to `data`.
void read_file(const fs::path& path, int64_t budget, Cifar10& data) {
  MINIDL_CHECK(fs::is_regular_file(path), "cifar10", "missing file ", path.string(),
               " (expected the binary version: data_batch_1..5.bin and test_batch.bin)");
  const auto bytes = static_cast<int64_t>(fs::file_size(path));
  MINIDL_CHECK(bytes > 0 && bytes % Cifar10::kRecordBytes == 0, "cifar10", "file ",
               path.string(), " has ", bytes, " bytes, not a positive multiple of the ",
               Cifar10::kRecordBytes, "-byte record (truncated or not CIFAR-10 binary?)");
  const int64_t records = std::min(bytes / Cifar10::kRecordBytes, budget);
  std::ifstream in(path, std::ios::binary);
  MINIDL_CHECK(in.good(), "cifar10", "cannot open ", path.string());
  std::vector<uint8_t> buffer(records * Cifar10::kRecordBytes);
  in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
  MINIDL_CHECK(in.gcount() == static_cast<std::streamsize>(buffer.size()), "cifar10",
               "short read from ", path.string());

  const size_t first = data.pixels.size();
  data.pixels.resize(first + records * Cifar10::kImageBytes);
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* record = buffer.data() + r * Cifar10::kRecordBytes;
    MINIDL_CHECK(record[0] < Cifar10::kClasses, "cifar10", "file ", path.string(),
                 ": label byte ", int(record[0]), " at offset ", r * Cifar10::kRecordBytes,
                 " (record ", r, ") is not in 0..9");
    data.labels.push_back(record[0]);
    std::copy_n(record + 1, Cifar10::kImageBytes, data.pixels.begin() + first + r * Cifar10::kImageBytes);
  }
}

}  // namespace

Cifar10 load_cifar10(const std::string& dir, Split split, int64_t limit) {
  MINIDL_CHECK(fs::is_directory(dir), "cifar10", "data directory '", dir,
               "' does not exist (set CIFAR10_DIR or --data; scripts/download_cifar10.sh "
               "fetches the dataset)");
  std::vector<std::string> files;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) files.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back("test_batch.bin");
  }
  Cifar10 data;
  const int64_t wanted = limit < 0 ? INT64_MAX : limit;
  for (const std::string& file : files) {
    if (data.size() >= wanted) break;
    read_file(fs::path(dir) / file, wanted - data.size(), data);
  }
  return data;
}

ChannelStats channel_stats(const Cifar10& data) {
  MINIDL_CHECK(data.size() > 0, "channel_stats", "the dataset is empty");
  ChannelStats stats{};
  constexpr int plane = Cifar10::kHeight * Cifar10::kWidth;
  for (int c = 0; c < 3; ++c) {
    double sum = 0.0, squares = 0.0;
    for (int64_t i = 0; i < data.size(); ++i) {
      const uint8_t* p = data.image(i) + c * plane;
      for (int j = 0; j < plane; ++j) {
        const double v = p[j] / 255.0;
        sum += v;
        squares += v * v;
      }
    }
    const double n = double(data.size()) * plane, mean = sum / n;
    stats.mean[c] = float(mean);
    stats.stddev[c] = float(std::sqrt(squares / n - mean * mean));
  }
  return stats;
}

ChannelStats cifar10_published_stats() {
  return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
}

}  // namespace minidl
