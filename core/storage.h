// Storage: one block of memory on one device, shared by every tensor that views it.
// Memory comes from the caching allocator of its device and goes back to it on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "minidl/core/device.h"

namespace minidl {

class Storage {
 public:
  // `bytes` uninitialized bytes on `device`. Errors: the device is out of memory; a CUDA
  // storage in a build without CUDA or without a usable GPU (the message says which).
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

  // How many in-place writes this memory has had (Tensor::fill_, copy_ and set, an optimizer's
  // update; every view of it shares the count). Autograd notes it when an op saves a tensor
  // for its backward pass and refuses a backward whose saved tensor was written since
  // (core/autograd.h). Code that writes through Tensor::data() into a tensor that a graph may
  // have saved calls bump_version() itself, as the optimizers do.
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  uint64_t version_ = 0;
  void* data_;
  size_t bytes_;
  Device device_;
};

// A new storage on `device` holding a copy of `bytes` bytes of host memory (e.g. labels).
std::shared_ptr<Storage> storage_from_host(const void* source, size_t bytes, Device device);

}  // namespace minidl
