// A training set kept on the device that trains on it, whose batches are made there.
// ResidentLoader copies the images (as bytes: CIFAR-10's 50,000 take 154 MB) and the labels to
// the device once. Each batch is then one kernel (kernels/augment.h) that gathers the batch's
// images, translates, mirrors, normalizes and cuts them out, and gathers their labels; per
// epoch only the order of the images (8 bytes each) goes up. On a GPU no host thread
// assembles images and no batch is copied, so the step never waits for the loader, as in
// airbench. On the CPU the same kernel runs as a loop (without DataLoader's prefetch thread).
//
// Against DataLoader + Cifar10Dataset (+ BatchUploader on a GPU): the same order of images
// for the same seed (epoch_order), the same alternating flips, the same transforms with the
// same arithmetic (data/transforms.h), but other random shifts, flips and cutouts: hashes of
// (seed, epoch, image) instead of a generator per batch.
//
//   ResidentLoader loader(train_set, Device::CUDA, options);
//   loader.start_epoch(epoch);
//   for (DeviceBatch batch; loader.next(batch);) { ... batch.inputs, batch.labels ... }
#pragma once

#include <cstdint>
#include <memory>

#include "minidl/core/storage.h"
#include "minidl/data/batch_upload.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/transforms.h"
#include "minidl/kernels/augment.h"

namespace minidl {

struct ResidentLoaderOptions {
  int batch_size = 128;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;           // drop a final batch smaller than batch_size
  int translate = 0;                // random shifts of up to this many pixels each way (0 = none)
  Padding padding = Padding::Zero;  // what a shift uncovers
  kernels::FlipMode flip = kernels::FlipMode::None;  // Random, or Alternating (airbench's)
  int cutout = 0;                                    // side of the zeroed square (0 = none)
  ChannelStats stats = cifar10_published_stats();    // normalization
};

class ResidentLoader {
 public:
  // Copies `data` to `device` (it need not outlive the loader). Errors: an empty set,
  // batch_size < 1, translate outside [0, 32), cutout outside [0, 32], a label outside [0, 10),
  // a standard deviation that is not positive.
  ResidentLoader(const Cifar10& data, Device device, const ResidentLoaderOptions& options);

  // Starts `epoch`: its order of images, and the seed of its random choices.
  void start_epoch(int64_t epoch);
  // Queues the next batch's kernel and returns its tensors on the device; false when the
  // epoch is over. An Error before the first start_epoch().
  bool next(DeviceBatch& batch);
  int64_t batches_per_epoch() const;
  int64_t size() const { return size_; }
  Device device() const { return device_; }
  // The kernel's settings for `epoch` (count 0), e.g. to recompute an image's choices with
  // kernels::augment_draw.
  kernels::AugmentParams params(int64_t epoch) const;

 private:
  Device device_;
  ResidentLoaderOptions options_;
  int64_t size_ = 0;
  std::shared_ptr<Storage> images_, labels_;  // on the device, for the loader's life
  std::shared_ptr<Storage> order_;            // the current epoch's image indices
  int64_t epoch_ = -1;
  int64_t next_batch_ = 0;
};

}  // namespace minidl
