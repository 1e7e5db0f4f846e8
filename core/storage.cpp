#include "core/storage.h"

#include "core/allocator.h"

namespace minidl {

Storage::Storage(size_t bytes, Device device)
    : data_(allocate(bytes, device)), bytes_(bytes), device_(device) {}

Storage::~Storage() { deallocate(data_, bytes_, device_); }

}  // namespace minidl
