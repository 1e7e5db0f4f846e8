#include "minidl/core/storage.h"

#include <cstring>

#include "minidl/core/allocator.h"
#include "minidl/core/cuda/runtime.h"

namespace minidl {

Storage::Storage(size_t bytes, Device device)
    : data_(allocate(bytes, device)), bytes_(bytes), device_(device) {}

Storage::~Storage() { deallocate(data_, bytes_, device_); }

std::shared_ptr<Storage> storage_from_host(const void* source, size_t bytes, Device device) {
  auto storage = std::make_shared<Storage>(bytes, device);
  if (bytes == 0) return storage;
  if (device == Device::CPU) {
    std::memcpy(storage->data(), source, bytes);
  } else {
    cuda_runtime::copy_host_to_device(storage->data(), source, bytes);
  }
  return storage;
}

}  // namespace minidl
