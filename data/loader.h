// DataLoader: batches of any Dataset (data/dataset.h) as tensors, shuffled and transformed
// reproducibly, assembled on a background thread so the next batch is ready when the training
// step wants it.
//
//   TensorDataset data(inputs, targets);                 // or your own Dataset
//   DataLoader loader(data, LoaderOptions().batch_size(64).seed(1));
//   Batch batch;
//   for (loader.start_epoch(epoch); loader.next(batch);) { ... batch.inputs, batch.targets ... }
//
// Reproducibility: the order of epoch e is a shuffle seeded by (seed, e), and the examples of
// batch b are made with a generator seeded by (seed, e, b), so a run resumed at epoch e sees
// exactly the batches the uninterrupted run saw, whatever the thread timing.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/data/dataset.h"

namespace minidl {

// A batch on the CPU: inputs [B, ...input shape]; labels (B of them) for a dataset with
// labels, or targets [B, ...target shape] for one with targets.
struct Batch {
  Tensor inputs;
  std::vector<int> labels;
  Tensor targets;
  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
};

// An optional transform of every example, after the dataset's get(): it may replace the
// input (and target) as long as every example keeps one shape; random choices draw from `gen`.
using ExampleTransform = std::function<Example(Example example, Generator& gen)>;

// The loader's settings, chained: LoaderOptions().batch_size(64).shuffle(false).
class LoaderOptions {
 public:
  LoaderOptions& batch_size(int value) {
    batch_size_ = value;
    return *this;
  }
  LoaderOptions& shuffle(bool value) {
    shuffle_ = value;
    return *this;
  }
  LoaderOptions& seed(uint64_t value) {
    seed_ = value;
    return *this;
  }
  LoaderOptions& drop_last(bool value) {  // drop a final batch smaller than batch_size
    drop_last_ = value;
    return *this;
  }
  LoaderOptions& prefetch(int value) {  // batches prepared ahead
    prefetch_ = value;
    return *this;
  }
  LoaderOptions& transform(ExampleTransform value) {
    transform_ = std::move(value);
    return *this;
  }
  // Derandomized flip (airbench): every input mirrored along its last dimension (an image's
  // width) in alternate epochs, example i in epoch e when its seeded coin (a fixed bit per
  // example, from the seed) differs from e's parity. Each example is seen both ways in every
  // two epochs, and half of them each way in every epoch, where random flips leave about a
  // quarter of the images seen one way only over two epochs. Use it instead of a dataset's
  // random flip (Cifar10Transform: augment_options.horizontal_flip = false).
  LoaderOptions& alternating_flip(bool value) {
    alternating_flip_ = value;
    return *this;
  }
  int batch_size() const { return batch_size_; }
  bool shuffle() const { return shuffle_; }
  uint64_t seed() const { return seed_; }
  bool drop_last() const { return drop_last_; }
  int prefetch() const { return prefetch_; }
  const ExampleTransform& transform() const { return transform_; }
  bool alternating_flip() const { return alternating_flip_; }

 private:
  int batch_size_ = 128;
  bool shuffle_ = true;
  uint64_t seed_ = 0;
  bool drop_last_ = false;
  int prefetch_ = 2;
  ExampleTransform transform_;
  bool alternating_flip_ = false;
};

// The order in which an epoch visits `size` examples: 0, 1, ... without shuffling, else a
// shuffle seeded by (seed, epoch). DataLoader and ResidentLoader (data/resident_loader.h) share
// it, so both visit the same examples in the same order.
std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch, bool shuffle);

// Batches are CPU tensors; move them with Tensor::to or, on a GPU, BatchUploader.
class DataLoader {
 public:
  // `data` must outlive the loader. Reads example 0 once to learn the shapes. Errors:
  // batch_size <= 0, an empty dataset, prefetch < 1, an example off the CPU.
  DataLoader(const Dataset& data, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts producing the batches of `epoch` (stopping any epoch in progress).
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch; false when the epoch is over. An Error before the
  // first start_epoch(); a failure while the batch was assembled (an example of another
  // shape, say) is rethrown here.
  bool next(Batch& batch);
  int64_t batches_per_epoch() const;
  int64_t size() const { return data_.size(); }
  // With alternating_flip: whether example `index` is mirrored in `epoch`.
  bool mirrored(int64_t epoch, int64_t index) const;

 private:
  Batch make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const;
  void produce(int64_t epoch);
  void stop();

  const Dataset& data_;
  LoaderOptions options_;
  Shape input_shape_, target_shape_;  // one example's, from example 0
  bool has_targets_ = false;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  bool stopping_ = false;
  std::exception_ptr error_;  // a failure on the worker, rethrown by next()
  int64_t consumed_ = 0;      // batches handed out in this epoch
};

}  // namespace minidl
