#include "minidl/data/resident_loader.h"

#include <algorithm>
#include <cmath>

#include "minidl/core/dispatch.h"
#include "minidl/core/error.h"
#include "minidl/data/loader.h"

namespace minidl {

namespace {
constexpr const char* kOp = "ResidentLoader";
}  // namespace

ResidentLoader::ResidentLoader(const Cifar10& data, Device device,
                               const ResidentLoaderOptions& options)
    : device_(device), options_(options), size_(data.size()) {
  MINIDL_CHECK(size_ > 0, kOp, "the image set is empty");
  MINIDL_CHECK(data.pixels.size() == size_t(size_) * Cifar10::kImageBytes, kOp, "the set has ",
               size_, " labels but ", data.pixels.size(), " pixel bytes, not ", size_, " x ",
               Cifar10::kImageBytes);
  MINIDL_CHECK(options.batch_size >= 1, kOp, "batch_size must be at least 1, got ",
               options.batch_size);
  MINIDL_CHECK(options.translate >= 0 && options.translate < Cifar10::kHeight, kOp,
               "translate must be in [0, ", Cifar10::kHeight, "), got ", options.translate);
  MINIDL_CHECK(options.cutout >= 0 && options.cutout <= Cifar10::kHeight, kOp,
               "cutout must be in [0, ", Cifar10::kHeight, "], got ", options.cutout);
  for (int c = 0; c < Cifar10::kChannels; ++c) {
    MINIDL_CHECK(options.stats.stddev[c] > 0.f && std::isfinite(options.stats.mean[c]), kOp,
                 "channel ", c, " has mean ", options.stats.mean[c], " and standard deviation ",
                 options.stats.stddev[c], "; the deviation must be positive");
  }
  for (int64_t i = 0; i < size_; ++i) {
    const int label = data.labels[size_t(i)];
    MINIDL_CHECK(label >= 0 && label < Cifar10::kClasses, kOp, "label ", label, " of image ", i,
                 " is outside [0, ", Cifar10::kClasses, ")");
  }
  const std::vector<int32_t> labels(data.labels.begin(), data.labels.end());
  images_ = storage_from_host(data.pixels.data(), data.pixels.size(), device);
  labels_ = storage_from_host(labels.data(), labels.size() * sizeof(int32_t), device);
}

int64_t ResidentLoader::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? size_ / b : (size_ + b - 1) / b;
}

kernels::AugmentParams ResidentLoader::params(int64_t epoch) const {
  kernels::AugmentParams p;
  p.channels = Cifar10::kChannels;
  p.height = Cifar10::kHeight;
  p.width = Cifar10::kWidth;
  p.pad = options_.translate;
  p.reflect = options_.padding == Padding::Reflect;
  p.flip = options_.flip;
  p.cutout = options_.cutout;
  p.seed = options_.seed;
  p.epoch = epoch;
  // normalize()'s arithmetic (data/transforms.cpp), so both loaders give the same floats.
  for (int c = 0; c < Cifar10::kChannels; ++c) {
    p.scale[c] = 1.f / (255.f * options_.stats.stddev[c]);
    p.shift[c] = options_.stats.mean[c] / options_.stats.stddev[c];
  }
  return p;
}

void ResidentLoader::start_epoch(int64_t epoch) {
  MINIDL_CHECK(epoch >= 0, kOp, "epoch must be >= 0, got ", epoch);
  const std::vector<int64_t> order = epoch_order(size_, options_.seed, epoch, options_.shuffle);
  order_ = storage_from_host(order.data(), order.size() * sizeof(int64_t), device_);
  epoch_ = epoch;
  next_batch_ = 0;
}

bool ResidentLoader::next(DeviceBatch& batch) {
  MINIDL_CHECK(epoch_ >= 0, "ResidentLoader::next", "call start_epoch() first");
  if (next_batch_ >= batches_per_epoch()) return false;
  const int64_t first = next_batch_ * options_.batch_size;
  const int64_t count = std::min<int64_t>(options_.batch_size, size_ - first);
  kernels::AugmentParams p = params(epoch_);
  p.count = count;
  Tensor inputs =
      Tensor::empty({count, Cifar10::kChannels, Cifar10::kHeight, Cifar10::kWidth}, device_);
  auto labels = std::make_shared<Storage>(size_t(count) * sizeof(int32_t), device_);
  const auto* images = static_cast<const uint8_t*>(images_->data());
  const auto* all_labels = static_cast<const int32_t*>(labels_->data());
  const int64_t* indices = static_cast<const int64_t*>(order_->data()) + first;
  auto* out_labels = static_cast<int32_t*>(labels->data());
  MINIDL_DISPATCH(inputs, "resident_loader",
                  augment_batch(p, images, all_labels, indices, inputs.data(), out_labels));
  batch.inputs = inputs;
  batch.labels = ops::Labels::wrap(labels, count);
  batch.targets = Tensor();
  ++next_batch_;
  return true;
}

}  // namespace minidl
