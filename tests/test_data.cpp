// The CIFAR-10 reader (on small files written here in the same format, read with
// file_records set to their size; including truncated and corrupt ones), the transforms (pixels
// move where expected) and the DataLoader (every sample once per epoch, reproducible for a seed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "minidl/core/minidl.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/loader.h"
#include "minidl/data/transforms.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {
// Record r of file f: label (f + r) % 10, pixel bytes (f * 31 + r * 7 + i) % 256.
std::vector<uint8_t> record(int file, int r) {
  std::vector<uint8_t> bytes(Cifar10::kRecordBytes);
  bytes[0] = uint8_t((file + r) % 10);
  for (int i = 0; i < Cifar10::kImageBytes; ++i)
    bytes[1 + i] = uint8_t((file * 31 + r * 7 + i) % 256);
  return bytes;
}

// A fresh directory with data_batch_1..5.bin and test_batch.bin of `per_file` records each.
fs::path make_dataset(const std::string& name, int per_file) {
  const fs::path dir = fs::temp_directory_path() / ("minidl_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (int f = 1; f <= 6; ++f) {
    const std::string file = f <= 5 ? "data_batch_" + std::to_string(f) + ".bin" : "test_batch.bin";
    std::ofstream out(dir / file, std::ios::binary);
    for (int r = 0; r < per_file; ++r) {
      const auto bytes = record(f, r);
      out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
  }
  return dir;
}
}  // namespace

TEST_CASE("load_cifar10 reads labels and CHW pixels in file order", "[cpu][data]") {
  const fs::path dir = make_dataset("read", 4);
  const Cifar10 train = load_cifar10(dir.string(), Split::Train, -1, 4);
  REQUIRE(train.size() == 20);
  CHECK(train.labels[0] == 1);  // file 1, record 0
  CHECK(train.labels[5] == 3);  // file 2, record 1
  CHECK(train.image(5)[10] == record(2, 1)[11]);
  const Cifar10 test = load_cifar10(dir.string(), Split::Test, -1, 4);
  REQUIRE(test.size() == 4);
  CHECK(test.labels[3] == (6 + 3) % 10);
  CHECK(load_cifar10(dir.string(), Split::Train, 6, 4).size() == 6);  // --limit-train
}

TEST_CASE("split_off_last holds out the last images as a validation set", "[cpu][data]") {
  const fs::path dir = make_dataset("split", 4);
  Cifar10 train = load_cifar10(dir.string(), Split::Train, -1, 4);
  const Cifar10 whole = train;
  const Cifar10 held_out = split_off_last(train, 6);
  REQUIRE(train.size() == 14);
  REQUIRE(held_out.size() == 6);
  CHECK(train.pixels.size() == size_t(14) * Cifar10::kImageBytes);
  CHECK(held_out.pixels.size() == size_t(6) * Cifar10::kImageBytes);
  // Nothing lost, nothing shared: the two parts are the whole, in order.
  for (int64_t i = 0; i < whole.size(); ++i) {
    const Cifar10& part = i < 14 ? train : held_out;
    const int64_t j = i < 14 ? i : i - 14;
    CHECK(part.labels[size_t(j)] == whole.labels[size_t(i)]);
    CHECK(std::equal(part.image(j), part.image(j) + Cifar10::kImageBytes, whole.image(i)));
  }
  CHECK_THROWS_WITH(split_off_last(train, 14),
                    "split_off_last: count 14 must be at least 1 and below the set's 14 images, "
                    "so that both parts keep an image");
  CHECK_THROWS_WITH(split_off_last(train, 0), Catch::Contains("count 0 must be at least 1"));
  CHECK(train.size() == 14);  // a refused split leaves the set as it was
}

TEST_CASE("load_cifar10 rejects missing, truncated and corrupt files by name", "[cpu][data]") {
  REQUIRE_THROWS_WITH(load_cifar10("/nonexistent/cifar", Split::Train),
                      Catch::Contains("data directory '/nonexistent/cifar' does not exist"));
  const fs::path dir = make_dataset("corrupt", 3);
  fs::remove(dir / "data_batch_4.bin");
  REQUIRE_THROWS_WITH(load_cifar10(dir.string(), Split::Train, -1, 3),
                      Catch::Contains("missing file") && Catch::Contains("data_batch_4.bin"));

  fs::resize_file(dir / "test_batch.bin", 3 * 3073 - 100);  // a truncated download
  REQUIRE_THROWS_WITH(load_cifar10(dir.string(), Split::Test, -1, 3),
                      Catch::Contains("test_batch.bin") && Catch::Contains("9119 bytes") &&
                          Catch::Contains("3073"));

  const fs::path bad = make_dataset("badlabel", 3);
  {
    std::fstream f(bad / "data_batch_1.bin", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 3073);
    f.put(char(12));
  }
  REQUIRE_THROWS_WITH(load_cifar10(bad.string(), Split::Train, -1, 3),
                      Catch::Contains("data_batch_1.bin") && Catch::Contains("label byte 12") &&
                          Catch::Contains("offset 6146"));
}

TEST_CASE("crop_and_flip moves pixels where expected", "[cpu][data]") {
  std::vector<uint8_t> in(Cifar10::kImageBytes), out(Cifar10::kImageBytes);
  for (int i = 0; i < Cifar10::kImageBytes; ++i) in[i] = uint8_t(i % 251 + 1);  // never 0
  auto at = [](const std::vector<uint8_t>& img, int c, int y, int x) {
    return img[c * 1024 + y * 32 + x];
  };

  crop_and_flip(in.data(), 4, 4, 4, false, out.data());  // centred crop: identity
  CHECK(out == in);

  crop_and_flip(in.data(), 4, 6, 1, false, out.data());  // window 2 down, 3 left
  CHECK(at(out, 1, 0, 3) == at(in, 1, 2, 0));
  CHECK(at(out, 2, 29, 31) == at(in, 2, 31, 28));
  CHECK(at(out, 0, 30, 5) == 0);  // below the image: zero padding
  CHECK(at(out, 0, 5, 2) == 0);   // left of the image

  crop_and_flip(in.data(), 4, 4, 4, true, out.data());  // flip only
  for (int x = 0; x < 32; ++x) CHECK(at(out, 0, 7, x) == at(in, 0, 7, 31 - x));

  // Reflected padding (airbench's translate): the border mirrored about its edge pixel.
  crop_and_flip(in.data(), 2, 0, 4, false, out.data(), Padding::Reflect);  // 2 up, 2 right
  CHECK(at(out, 1, 0, 0) == at(in, 1, 2, 2));                              // row -2 -> 2, column 2
  CHECK(at(out, 1, 1, 5) == at(in, 1, 1, 7));                              // row -1 -> 1
  CHECK(at(out, 1, 2, 5) == at(in, 1, 0, 7));                              // inside: row 0
  CHECK(at(out, 2, 9, 30) == at(in, 2, 7, 30));                            // column 32 -> 30
  CHECK(at(out, 2, 9, 31) == at(in, 2, 7, 29));                            // column 33 -> 29
  crop_and_flip(in.data(), 2, 4, 2, true, out.data(), Padding::Reflect);   // 2 down, mirrored
  CHECK(at(out, 0, 30, 31) == at(in, 0, 30, 0));                           // row 32 -> 30, x' = 0
  CHECK(at(out, 0, 31, 0) == at(in, 0, 29, 31));                           // row 33 -> 29
  // Centred, reflection changes nothing.
  crop_and_flip(in.data(), 2, 2, 2, false, out.data(), Padding::Reflect);
  CHECK(out == in);
}

TEST_CASE("normalize and cutout", "[cpu][data]") {
  std::vector<uint8_t> in(Cifar10::kImageBytes, 255);
  std::vector<float> out(Cifar10::kImageBytes);
  const ChannelStats stats{{0.5f, 0.25f, 0.f}, {0.5f, 0.25f, 1.f}};
  normalize(in.data(), stats, out.data());
  CHECK(out[0] == Approx(1.0));
  CHECK(out[1024] == Approx(3.0));
  CHECK(out[2048] == Approx(1.0));
  cutout(out.data(), 8, 0, 0);  // clipped at the corner: rows and columns 0..3
  CHECK(out[0] == 0.f);
  CHECK(out[3 * 32 + 3] == 0.f);
  CHECK(out[4 * 32] != 0.f);
  CHECK(out[2048 + 3] == 0.f);  // every channel
}

TEST_CASE("channel_stats of the training data", "[cpu][data]") {
  Cifar10 data;
  data.labels = {0, 1};
  data.pixels.assign(2 * Cifar10::kImageBytes, 0);
  std::fill(data.pixels.begin() + Cifar10::kImageBytes, data.pixels.end(), 255);  // image 2 white
  const ChannelStats stats = channel_stats(data);
  for (int c = 0; c < 3; ++c) {
    CHECK(stats.mean[c] == Approx(0.5));
    CHECK(stats.stddev[c] == Approx(0.5));
  }
}

TEST_CASE("DataLoader visits every sample once per epoch, in a seeded order", "[cpu][data]") {
  const fs::path dir = make_dataset("loader", 7);
  const Cifar10 raw = load_cifar10(dir.string(), Split::Train, -1, 7);  // 35 images
  Cifar10Transform augmented;
  augmented.augment = true;
  const Cifar10Dataset data(raw, augmented);
  const LoaderOptions options = LoaderOptions().batch_size(8).seed(5);
  auto epoch_batches = [&](int64_t epoch, const LoaderOptions& o) {
    DataLoader loader(data, o);
    loader.start_epoch(epoch);
    std::vector<Batch> batches;
    Batch b;
    while (loader.next(b)) batches.push_back(b);
    return batches;
  };
  const auto first = epoch_batches(0, options);
  REQUIRE(first.size() == 5);  // 4 full batches and one of 3
  CHECK(first.back().labels.size() == 3);
  CHECK(first[0].inputs.shape() == Shape{8, 3, 32, 32});
  CHECK(!first[0].targets.defined());  // a dataset with labels

  std::multiset<int> labels;
  for (const Batch& b : first) labels.insert(b.labels.begin(), b.labels.end());
  std::multiset<int> expected(raw.labels.begin(), raw.labels.end());
  CHECK(labels == expected);

  const auto again = epoch_batches(0, options);
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(again[i].labels == first[i].labels);
    CHECK(again[i].inputs.to_vector() == first[i].inputs.to_vector());  // same augmentation
  }
  const auto other_epoch = epoch_batches(1, options);
  CHECK(other_epoch[0].labels != first[0].labels);

  // The generic path (get(), then a transform) gives the same batches as the dataset's
  // in-place write(), generator draws included.
  const auto through_get =
      epoch_batches(0, LoaderOptions(options).transform([](Example e, Generator&) { return e; }));
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(through_get[i].labels == first[i].labels);
    CHECK(through_get[i].inputs.to_vector() == first[i].inputs.to_vector());
  }

  CHECK(DataLoader(data, LoaderOptions(options).drop_last(true)).batches_per_epoch() == 4);
}

TEST_CASE("DataLoader without shuffling keeps file order and can restart an epoch", "[cpu][data]") {
  const fs::path dir = make_dataset("ordered", 2);
  const Cifar10 raw = load_cifar10(dir.string(), Split::Train, -1, 2);
  const Cifar10Dataset data(raw);
  DataLoader loader(data, LoaderOptions().batch_size(4).shuffle(false));
  loader.start_epoch(0);
  Batch b;
  REQUIRE(loader.next(b));
  CHECK(b.labels == std::vector<int>(raw.labels.begin(), raw.labels.begin() + 4));
  loader.start_epoch(0);  // abandon the epoch half-way: the worker is stopped cleanly
  int count = 0;
  while (loader.next(b)) ++count;
  CHECK(count == 3);
  REQUIRE_THROWS_WITH(DataLoader(data, LoaderOptions().batch_size(0)),
                      Catch::Contains("batch_size must be positive"));
}

TEST_CASE("DataLoader batches a TensorDataset of targets, shuffled, transformed and in order",
          "[cpu][data]") {
  // Regression data: input i is [i, -i], target i is [2 i].
  const int n = 10;
  Tensor inputs = Tensor::empty({n, 2}), targets = Tensor::empty({n, 1});
  for (int i = 0; i < n; ++i) {
    inputs.set({i, 0}, float(i));
    inputs.set({i, 1}, float(-i));
    targets.set({i, 0}, 2.f * i);
  }
  const TensorDataset data(inputs, targets);
  DataLoader loader(data, LoaderOptions().batch_size(4).seed(9));
  REQUIRE(loader.batches_per_epoch() == 3);
  loader.start_epoch(0);
  Batch b;
  std::multiset<float> seen;
  int64_t total = 0;
  while (loader.next(b)) {
    REQUIRE(b.targets.defined());
    CHECK(b.labels.empty());
    CHECK(b.inputs.size(1) == 2);
    for (int64_t r = 0; r < b.size(); ++r) {  // every row keeps its own target
      CHECK(b.targets.at({r, 0}) == 2.f * b.inputs.at({r, 0}));
      CHECK(b.inputs.at({r, 1}) == -b.inputs.at({r, 0}));
      seen.insert(b.inputs.at({r, 0}));
    }
    total += b.size();
  }
  CHECK(total == n);
  CHECK(seen.size() == size_t(n));

  // A transform sees every example, draws from the batch's generator, and may change the
  // input's shape as long as all examples agree.
  DataLoader doubled(
      data, LoaderOptions().batch_size(5).shuffle(false).transform([](Example e, Generator&) {
        e.input = ops::scale(e.input, 2.f).reshape({1, 2});
        return e;
      }));
  doubled.start_epoch(0);
  REQUIRE(doubled.next(b));
  CHECK(b.inputs.shape() == Shape{5, 1, 2});
  CHECK(b.inputs.at({3, 0, 0}) == 6.f);

  // A transform that breaks the shape agreement is named, with the example.
  DataLoader broken(
      data, LoaderOptions().batch_size(10).shuffle(false).transform([](Example e, Generator&) {
        if (e.input.at({0}) == 7.f) e.input = Tensor::zeros({3});
        return e;
      }));
  broken.start_epoch(0);
  CHECK_THROWS_WITH(broken.next(b), Catch::Contains("example 7 has input [3]"));
}

TEST_CASE("alternating_flip mirrors each example in every other epoch, half of them each epoch",
          "[cpu][data]") {
  // Example i is a 1x1x3 image [i, i + 0.25, i + 0.5]: mirrored, its first pixel is the largest.
  const int n = 64;
  Tensor images = Tensor::empty({n, 1, 1, 3});
  std::vector<int> labels(n);
  for (int i = 0; i < n; ++i) {
    for (int x = 0; x < 3; ++x) images.set({i, 0, 0, x}, float(i) + 0.25f * x);
    labels[size_t(i)] = i;
  }
  const TensorDataset data(images, labels);
  DataLoader loader(data, LoaderOptions().batch_size(16).seed(3).alternating_flip(true));
  std::vector<std::vector<bool>> flipped(3, std::vector<bool>(n));
  for (int epoch = 0; epoch < 3; ++epoch) {
    Batch b;
    for (loader.start_epoch(epoch); loader.next(b);) {
      for (int64_t r = 0; r < b.size(); ++r) {
        const int i = b.labels[size_t(r)];
        const float first = b.inputs.at({r, 0, 0, 0}), last = b.inputs.at({r, 0, 0, 2});
        CHECK(first + last ==
              Approx(2.f * i + 0.5f));  // the same pixels, in one order or the other
        flipped[size_t(epoch)][size_t(i)] = first > last;
        CHECK(flipped[size_t(epoch)][size_t(i)] == loader.mirrored(epoch, i));
      }
    }
  }
  int flipped_in_epoch0 = 0;
  for (int i = 0; i < n; ++i) {
    CHECK(flipped[0][size_t(i)] != flipped[1][size_t(i)]);  // both ways in two epochs
    CHECK(flipped[0][size_t(i)] == flipped[2][size_t(i)]);
    flipped_in_epoch0 += flipped[0][size_t(i)];
  }
  CHECK(flipped_in_epoch0 > n / 4);  // the coins are fair: about half
  CHECK(flipped_in_epoch0 < 3 * n / 4);
  // Off by default: nothing is mirrored.
  DataLoader plain(data, LoaderOptions().batch_size(64).shuffle(false));
  Batch b;
  plain.start_epoch(1);
  REQUIRE(plain.next(b));
  CHECK(b.inputs.at({5, 0, 0, 0}) == 5.f);
}

TEST_CASE("TensorDataset refuses tensors that do not line up", "[cpu][data]") {
  CHECK_THROWS_WITH(TensorDataset(Tensor::zeros({4, 2}), std::vector<int>{0, 1, 2}),
                    Catch::Contains("inputs [4, 2] hold 4 examples but there are 3 labels"));
  CHECK_THROWS_WITH(TensorDataset(Tensor::zeros({4, 2}), Tensor::zeros({5, 1})),
                    Catch::Contains("inputs [4, 2] hold 4 examples but there are 5 targets"));
  CHECK_THROWS_WITH(TensorDataset(Tensor::zeros({2, 2}), std::vector<int>{0, -1}),
                    Catch::Contains("label -1 at index 1 is negative"));
}
