#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace minidl {

namespace {
// Mixes seeds so that nearby (seed, epoch, batch) triples give unrelated streams (splitmix64).
uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

DataLoader::DataLoader(const Cifar10& data, const LoaderOptions& options)
    : data_(data), options_(options) {
  MINIDL_CHECK(options.batch_size > 0, "DataLoader", "batch_size must be positive, got ",
               options.batch_size);
  MINIDL_CHECK(data.size() > 0, "DataLoader", "the dataset is empty");
  MINIDL_CHECK(options.prefetch >= 1, "DataLoader", "prefetch must be >= 1, got ",
               options.prefetch);
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = data_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
  ready_.clear();
  stopping_ = false;
  error_ = nullptr;
}

void DataLoader::start_epoch(int64_t epoch) {
  stop();
  consumed_ = 0;
  worker_ = std::thread([this, epoch] { produce(epoch); });
}

Batch DataLoader::make_batch(int64_t epoch, int64_t index,
                             const std::vector<int64_t>& order) const {
  const int64_t first = index * options_.batch_size;
  const int64_t count = std::min<int64_t>(options_.batch_size, data_.size() - first);
  Batch batch;
  batch.images = Tensor::empty({count, Cifar10::kChannels, Cifar10::kHeight, Cifar10::kWidth});
  batch.labels.resize(count);
  Generator gen(mix(mix(options_.seed, uint64_t(epoch)), uint64_t(index)));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t sample = order[first + i];
    float* out = batch.images.data() + i * Cifar10::kImageBytes;
    if (options_.augment) {
      augment(data_.image(sample), options_.augment_options, options_.stats, gen, out);
    } else {
      normalize(data_.image(sample), options_.stats, out);
    }
    batch.labels[i] = data_.labels[sample];
  }
  return batch;
}

void DataLoader::produce(int64_t epoch) {
  try {
    std::vector<int64_t> order(data_.size());
    std::iota(order.begin(), order.end(), 0);
    if (options_.shuffle) {
      Generator gen(mix(options_.seed, uint64_t(epoch)) ^ 0x5bd1e995ULL);
      std::shuffle(order.begin(), order.end(), gen.engine());
    }
    for (int64_t b = 0; b < batches_per_epoch(); ++b) {
      Batch batch = make_batch(epoch, b, order);
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || int(ready_.size()) < options_.prefetch; });
      if (stopping_) return;
      ready_.push_back(std::move(batch));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
    changed_.notify_all();
  }
}

bool DataLoader::next(Batch& batch) {
  MINIDL_CHECK(worker_.joinable(), "DataLoader::next", "call start_epoch() first");
  if (consumed_ >= batches_per_epoch()) return false;
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !ready_.empty() || error_; });
  if (error_) std::rethrow_exception(error_);
  batch = std::move(ready_.front());
  ready_.pop_front();
  ++consumed_;
  changed_.notify_all();
  return true;
}

}  // namespace minidl
