#include "minidl/data/batch_upload.h"

#include <cstring>

#include "minidl/core/error.h"

namespace minidl {

BatchUploader::BatchUploader(Device device, int classes)
    : device_(device), classes_(classes), slots_(device == Device::CUDA ? kSlots : 0) {
  for (Slot& slot : slots_) slot.copied = cuda_runtime::create_event();
}

BatchUploader::~BatchUploader() {
  for (Slot& slot : slots_) {
    // A queued copy may still read the pinned buffer: let it finish before freeing it.
    if (slot.in_use) cuda_runtime::wait_for_event(slot.copied);
    if (slot.pinned) cuda_runtime::free_pinned(slot.pinned);
    cuda_runtime::destroy_event(slot.copied);
  }
}

void BatchUploader::stage(const void* host, size_t bytes, void* device_dst) {
  Slot& slot = slots_[next_];
  next_ = (next_ + 1) % slots_.size();
  if (slot.in_use) cuda_runtime::wait_for_event(slot.copied);  // its last copy has run
  if (slot.capacity < bytes) {
    if (slot.pinned) cuda_runtime::free_pinned(slot.pinned);
    slot.pinned = cuda_runtime::malloc_pinned(bytes);
    slot.capacity = bytes;
  }
  std::memcpy(slot.pinned, host, bytes);
  cuda_runtime::copy_host_to_device_async(device_dst, slot.pinned, bytes);
  cuda_runtime::record_event(slot.copied);
  slot.in_use = true;
}

Tensor BatchUploader::upload_tensor(const Tensor& host) {
  Tensor out = Tensor::empty(host.shape(), device_);
  stage(host.data(), size_t(host.numel()) * sizeof(float), out.data());
  return out;
}

DeviceBatch BatchUploader::upload(const Batch& batch) {
  MINIDL_CHECK(batch.inputs.defined() && batch.inputs.device() == Device::CPU, "BatchUploader",
               "expects a batch of CPU inputs");
  const bool has_targets = batch.targets.defined();
  MINIDL_CHECK(!has_targets || (batch.targets.device() == Device::CPU &&
                                batch.targets.size(0) == batch.inputs.size(0)),
               "BatchUploader", "targets ", batch.targets.shape_str(),
               " must be on the CPU with one row per input of ", batch.inputs.shape_str());
  MINIDL_CHECK(has_targets || int64_t(batch.labels.size()) == batch.inputs.size(0), "BatchUploader",
               "got ", batch.labels.size(), " labels for inputs ", batch.inputs.shape_str());
  if (device_ == Device::CPU) {
    DeviceBatch out{batch.inputs, {}, batch.targets};
    if (!has_targets) out.labels = ops::make_labels(batch.labels, classes_, Device::CPU);
    return out;
  }
  DeviceBatch out;
  out.inputs = upload_tensor(batch.inputs);
  if (has_targets) {
    out.targets = upload_tensor(batch.targets);
    return out;
  }
  std::vector<int32_t> labels(batch.labels.size());
  for (size_t n = 0; n < labels.size(); ++n) {
    MINIDL_CHECK(batch.labels[n] >= 0 && batch.labels[n] < classes_, "BatchUploader", "label ",
                 batch.labels[n], " at index ", n, " is outside [0, ", classes_, ")");
    labels[n] = batch.labels[n];
  }
  const auto label_storage = std::make_shared<Storage>(labels.size() * sizeof(int32_t), device_);
  if (!labels.empty()) stage(labels.data(), labels.size() * sizeof(int32_t), label_storage->data());
  out.labels = ops::Labels::wrap(label_storage, int64_t(labels.size()));
  return out;
}

}  // namespace minidl
