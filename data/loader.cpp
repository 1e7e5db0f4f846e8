#include "minidl/data/loader.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

#include "minidl/core/error.h"
#include "minidl/kernels/augment.h"

namespace minidl {

namespace {
// Mixes seeds so that nearby (seed, epoch, batch) triples give unrelated streams (splitmix64;
// the resident loader's kernel hashes with the same function).
uint64_t mix(uint64_t a, uint64_t b) { return kernels::seed_mix(a, b); }
}  // namespace

std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(size, 0)));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) {
    Generator gen(mix(seed, uint64_t(epoch)) ^ 0x5bd1e995ULL);
    std::shuffle(order.begin(), order.end(), gen.engine());
  }
  return order;
}

namespace {
// One example through the generic path: the dataset's get(), then the loader's transform,
// checked against the shapes of example 0.
Example checked_example(const Dataset& data, const ExampleTransform& transform, int64_t index,
                        Generator& gen) {
  Example e = data.get(index, gen);
  if (transform) e = transform(std::move(e), gen);
  MINIDL_CHECK(e.input.defined() && e.input.device() == Device::CPU, "DataLoader", "example ",
               index, "'s input must be a CPU tensor, got ",
               e.input.defined() ? device_name(e.input.device()) : "an undefined one");
  MINIDL_CHECK(!e.target.defined() || e.target.device() == Device::CPU, "DataLoader", "example ",
               index, "'s target must be on the CPU");
  MINIDL_CHECK(e.target.defined() || e.label >= 0, "DataLoader", "example ", index,
               " has neither a label (>= 0) nor a target");
  return e;
}
}  // namespace

DataLoader::DataLoader(const Dataset& data, LoaderOptions options)
    : data_(data), options_(std::move(options)) {
  MINIDL_CHECK(options_.batch_size() > 0, "DataLoader", "batch_size must be positive, got ",
               options_.batch_size());
  MINIDL_CHECK(data.size() > 0, "DataLoader", "the dataset is empty");
  MINIDL_CHECK(options_.prefetch() >= 1, "DataLoader", "prefetch must be >= 1, got ",
               options_.prefetch());
  Generator gen(options_.seed());
  const Example first = checked_example(data_, options_.transform(), 0, gen);
  input_shape_ = first.input.shape();
  has_targets_ = first.target.defined();
  if (has_targets_) target_shape_ = first.target.shape();
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = data_.size(), b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
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

namespace {
// Shape with a leading batch dimension.
Shape batched(int64_t count, const Shape& example) {
  Shape shape{count};
  shape.insert(shape.end(), example.begin(), example.end());
  return shape;
}
}  // namespace

Batch DataLoader::make_batch(int64_t epoch, int64_t index,
                             const std::vector<int64_t>& order) const {
  const int64_t first = index * options_.batch_size();
  const int64_t count = std::min<int64_t>(options_.batch_size(), data_.size() - first);
  Batch batch;
  batch.inputs = Tensor::empty(batched(count, input_shape_));
  if (has_targets_) batch.targets = Tensor::empty(batched(count, target_shape_));
  const int64_t input_size = batch.inputs.numel() / count;
  const int64_t target_size = has_targets_ ? batch.targets.numel() / count : 0;
  Generator gen(mix(mix(options_.seed(), uint64_t(epoch)), uint64_t(index)));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t sample = order[first + i];
    float* input = batch.inputs.data() + i * input_size;
    float* target = has_targets_ ? batch.targets.data() + i * target_size : nullptr;
    int label = -1;
    if (options_.transform()) {  // the generic path: get(), transform, check, copy
      const Example e = checked_example(data_, options_.transform(), sample, gen);
      MINIDL_CHECK(e.input.shape() == input_shape_ && e.target.defined() == has_targets_ &&
                       (!has_targets_ || e.target.shape() == target_shape_),
                   "DataLoader", "example ", sample, " has input ", e.input.shape_str(),
                   " and target ", e.target.shape_str(), " but example 0 has input ",
                   shape_str(input_shape_), " and target ",
                   has_targets_ ? shape_str(target_shape_) : std::string("undefined"));
      std::copy_n(e.input.data(), input_size, input);
      if (has_targets_) std::copy_n(e.target.data(), target_size, target);
      label = e.label;
    } else {  // the dataset writes the example in place (Dataset::write)
      label = data_.write(sample, gen, input, target);
    }
    if (options_.alternating_flip() && mirrored(epoch, sample)) {
      const int64_t width = input_shape_.empty() ? 1 : input_shape_.back();
      for (float* row = input; row < input + input_size; row += width)
        std::reverse(row, row + width);
    }
    if (!has_targets_) batch.labels.push_back(label);
  }
  return batch;
}

bool DataLoader::mirrored(int64_t epoch, int64_t index) const {
  return kernels::alternating_mirror(options_.seed(), epoch, index);
}

void DataLoader::produce(int64_t epoch) {
  try {
    const std::vector<int64_t> order =
        epoch_order(data_.size(), options_.seed(), epoch, options_.shuffle());
    for (int64_t b = 0; b < batches_per_epoch(); ++b) {
      Batch batch = make_batch(epoch, b, order);
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || int(ready_.size()) < options_.prefetch(); });
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
