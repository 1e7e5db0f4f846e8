#include "minidl/data/cifar10.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "minidl/core/error.h"

namespace minidl {

const char* const kCifar10ClassNames[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                            "dog",      "frog",       "horse", "ship", "truck"};

namespace {

namespace fs = std::filesystem;

constexpr const char* kLayout =
    "the binary version: data_batch_1..5.bin and test_batch.bin, 10000 records of 3073 bytes each";

// One file of the split and how many of its records this load uses.
struct FilePlan {
  fs::path path;
  int64_t records = 0;
};

// Checks that `dir` is a directory, with a message for each way it is not (an ArgumentError
// blaming "dir").
void check_directory(const std::string& dir) {
  MINIDL_CHECK_ARGUMENT(!dir.empty(), "dir", "cifar10", "the data directory name is empty; give ",
                        "the folder holding ", kLayout);
  std::error_code error;
  const fs::file_status status = fs::status(dir, error);
  MINIDL_CHECK_ARGUMENT(status.type() != fs::file_type::not_found, "dir", "cifar10",
                        "data directory '", dir,
                        "' does not exist (scripts/download_cifar10.sh fetches the dataset)");
  MINIDL_CHECK_ARGUMENT(!error, "dir", "cifar10", "cannot access data directory '", dir,
                        "': ", error.message());
  MINIDL_CHECK_ARGUMENT(fs::is_directory(status), "dir", "cifar10", "data directory '", dir,
                        "' is a file, not a directory: give the folder that holds it (", kLayout,
                        ")");
}

// Checks one file before anything is read or allocated and returns how many records to read:
// `needed` (the rest of a limit) or, without a limit, the whole file, which must then be complete.
// A wrong size is an ArgumentError blaming "limit": a limit is what would accept a shorter file.
int64_t plan_records(const fs::path& path, int64_t needed, bool limited, int64_t file_records) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  MINIDL_CHECK(status.type() != fs::file_type::not_found, "cifar10", "missing file ", path.string(),
               " (expected ", kLayout, ")");
  MINIDL_CHECK(!error, "cifar10", "cannot access ", path.string(), ": ", error.message());
  MINIDL_CHECK(!fs::is_directory(status), "cifar10", path.string(), " is a directory, not a ",
               "file (expected ", kLayout, "; was the archive unpacked one level too deep?)");
  MINIDL_CHECK(fs::is_regular_file(status), "cifar10", path.string(),
               " is not a regular file (expected ", kLayout, ")");
  const auto bytes = static_cast<int64_t>(fs::file_size(path));
  const int64_t full_bytes = file_records * Cifar10::kRecordBytes;
  if (bytes == full_bytes) return std::min(file_records, needed);
  // A shorter file of whole records is enough when a limit only needs its first records.
  const bool whole_records = bytes > 0 && bytes % Cifar10::kRecordBytes == 0;
  const int64_t records = bytes / Cifar10::kRecordBytes;
  if (limited && whole_records && bytes < full_bytes && records >= needed) return needed;
  if (limited && whole_records && bytes < full_bytes) {
    detail::fail_argument("limit", "cifar10", path.string(), " holds ", records, " images (", bytes,
                          " bytes), fewer than the ", needed, " the limit still needs from it; a ",
                          "complete file holds ", file_records, " (", full_bytes,
                          " bytes): lower the limit or fetch the dataset again");
  }
  detail::fail_argument("limit", "cifar10", path.string(), " has ", bytes,
                        " bytes but a CIFAR-10 binary file has exactly ", full_bytes, " (",
                        file_records, " records of ", Cifar10::kRecordBytes,
                        " bytes): a truncated or corrupt download, or not the binary version? "
                        "(a shorter file is accepted only with a limit that its whole records "
                        "satisfy)");
}

// Reads `records` records of `path` straight into `data` from image `first` on.
void read_records(const fs::path& path, int64_t records, int64_t first, Cifar10& data) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  MINIDL_CHECK(file != nullptr, "cifar10", "cannot read ", path.string(), ": ",
               std::strerror(errno), " (check its permissions)");
  for (int64_t r = 0; r < records; ++r) {
    uint8_t label = 0;
    uint8_t* pixels = data.pixels.data() + (first + r) * Cifar10::kImageBytes;
    const bool ok =
        std::fread(&label, 1, 1, file.get()) == 1 &&
        std::fread(pixels, 1, Cifar10::kImageBytes, file.get()) == size_t(Cifar10::kImageBytes);
    MINIDL_CHECK(ok, "cifar10", "short read from ", path.string(), " at record ", r,
                 " (did the file change while it was read?)");
    MINIDL_CHECK(label < Cifar10::kClasses, "cifar10", "file ", path.string(), ": label byte ",
                 int(label), " at offset ", r * Cifar10::kRecordBytes, " (record ", r,
                 ") is not in 0..9");
    data.labels[first + r] = label;
  }
}

}  // namespace

Cifar10 load_cifar10(const std::string& dir, Split split, int64_t limit, int64_t file_records) {
  MINIDL_CHECK(file_records > 0, "cifar10", "file_records must be positive, got ", file_records);
  check_directory(dir);
  std::vector<std::string> names;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  // Check every file the load needs before allocating or reading anything.
  const bool limited = limit >= 0;
  const int64_t wanted = limited ? limit : INT64_MAX;
  std::vector<FilePlan> plan;
  int64_t total = 0;
  for (const std::string& name : names) {
    if (total >= wanted) break;  // the limit is met: later files are not even opened
    const fs::path path = fs::path(dir) / name;
    plan.push_back({path, plan_records(path, wanted - total, limited, file_records)});
    total += plan.back().records;
  }
  Cifar10 data;
  data.pixels.resize(size_t(total) * Cifar10::kImageBytes);
  data.labels.resize(size_t(total));
  int64_t first = 0;
  for (const FilePlan& file : plan) {
    read_records(file.path, file.records, first, data);
    first += file.records;
  }
  return data;
}

Cifar10 split_off_last(Cifar10& data, int64_t count) {
  MINIDL_CHECK(count >= 1 && count < data.size(), "split_off_last", "count ", count,
               " must be at least 1 and below the set's ", data.size(),
               " images, so that both parts keep an image");
  const int64_t kept = data.size() - count;
  Cifar10 tail;
  tail.labels.assign(data.labels.begin() + kept, data.labels.end());
  tail.pixels.assign(data.pixels.begin() + kept * Cifar10::kImageBytes, data.pixels.end());
  data.labels.resize(size_t(kept));
  data.pixels.resize(size_t(kept) * Cifar10::kImageBytes);
  data.labels.shrink_to_fit();
  data.pixels.shrink_to_fit();
  return tail;
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
