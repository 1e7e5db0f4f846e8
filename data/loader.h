// DataLoader: batches of a Cifar10 dataset as tensors, shuffled and augmented reproducibly,
// assembled on a background thread so the next batch is ready when the training step wants it.
//
// Reproducibility: the order of epoch e is a shuffle seeded by (seed, e), and the augmentation
// of batch b by (seed, e, b), so a run resumed at epoch e sees exactly the batches the
// uninterrupted run saw, whatever the thread timing.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "data/cifar10.h"
#include "data/transforms.h"

namespace minidl {

struct Batch {
  Tensor images;            // [B, 3, 32, 32], normalized, on the CPU
  std::vector<int> labels;  // B labels
};

struct LoaderOptions {
  int batch_size = 128;
  bool shuffle = true;
  bool augment = false;  // training transform (crop, flip, cutout) when true
  AugmentOptions augment_options{};
  ChannelStats stats = cifar10_published_stats();
  uint64_t seed = 0;
  bool drop_last = false;  // drop a final batch smaller than batch_size
  int prefetch = 2;        // batches prepared ahead
};

// Batches are CPU tensors; move them with Tensor::to or, on a GPU, BatchUploader.
class DataLoader {
 public:
  // `data` must outlive the loader. Errors: batch_size <= 0, an empty dataset, prefetch < 1.
  DataLoader(const Cifar10& data, const LoaderOptions& options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts producing the batches of `epoch` (stopping any epoch in progress).
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch; false when the epoch is over. An Error before the
  // first start_epoch(); a failure while the batch was assembled is rethrown here.
  bool next(Batch& batch);
  int64_t batches_per_epoch() const;
  int64_t size() const { return data_.size(); }

 private:
  Batch make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const;
  void produce(int64_t epoch);
  void stop();

  const Cifar10& data_;
  LoaderOptions options_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  bool stopping_ = false;
  std::exception_ptr error_;  // a failure on the worker, rethrown by next()
  int64_t consumed_ = 0;      // batches handed out in this epoch
};

}  // namespace minidl
