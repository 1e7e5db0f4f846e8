// Moves batches to the GPU without making the host wait for the GPU.
//
// Tensor::to(Device::CUDA) copies from ordinary host memory, and such a copy first waits for
// every kernel already queued: once per batch the host stops until the GPU has finished the
// previous step, and then the GPU idles while the host launches the next one. BatchUploader
// instead copies the batch into page-locked ("pinned") staging memory and queues an
// asynchronous copy, so the host goes straight on to launching the step's kernels. A staging
// buffer is reused only after the GPU has consumed its previous contents (an event recorded
// after the copy); with kSlots of them the host runs at most that many uploads ahead.
// On the CPU the batch is handed back as it is.
#pragma once

#include <cstddef>
#include <vector>

#include "minidl/core/cuda/runtime.h"
#include "minidl/data/loader.h"
#include "minidl/ops/ops.h"

namespace minidl {

struct DeviceBatch {
  Tensor inputs;       // [B, ...] on the device
  ops::Labels labels;  // B labels on the device (none for a batch with targets)
  Tensor targets;      // [B, ...] on the device (undefined for a batch with labels)
  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
};

class BatchUploader {
 public:
  // Labels are checked to be in [0, classes) before they leave the host.
  BatchUploader(Device device, int classes);
  ~BatchUploader();
  BatchUploader(const BatchUploader&) = delete;
  BatchUploader& operator=(const BatchUploader&) = delete;

  // batch.inputs: [B, ...] on the CPU, with B labels or targets [B, ...] on the CPU; anything
  // else is an Error. The result may be used by kernels queued after this call; the host does
  // not wait.
  DeviceBatch upload(const Batch& batch);

 private:
  static constexpr int kSlots = 4;  // inputs and labels (or targets) of two batches in flight
  struct Slot {
    void* pinned = nullptr;
    size_t capacity = 0;
    cuda_runtime::Event copied = nullptr;
    bool in_use = false;  // a copy from it was queued and may not have run yet
  };
  // Queues a copy of `bytes` host bytes to `device_dst` through the next staging slot.
  void stage(const void* host, size_t bytes, void* device_dst);
  Tensor upload_tensor(const Tensor& host);

  Device device_;
  int classes_;
  std::vector<Slot> slots_;
  size_t next_ = 0;
};

}  // namespace minidl
