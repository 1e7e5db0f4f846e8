#include "minidl/core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "minidl/core/cuda/runtime.h"
#include "minidl/core/device.h"
#include "minidl/core/error.h"

namespace minidl {

namespace {

constexpr size_t kAlignment = 64;  // a cache line, and the widest AVX-512 load
constexpr size_t kRoundingBytes = 512;
std::atomic<bool> g_poison_cuda{false};

size_t round_up(size_t bytes) {
  return (std::max<size_t>(bytes, 1) + kRoundingBytes - 1) / kRoundingBytes * kRoundingBytes;
}

// Free lists keyed by exact (rounded) size: a training step asks for the same sizes every
// iteration, so exact matching reuses everything after the first step and never splits blocks.
class CachingAllocator {
 public:
  explicit CachingAllocator(Device device) : device_(device) {}

  void* allocate(size_t bytes) {
    const size_t size = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& free_list = free_[size];
      if (!free_list.empty()) {
        void* ptr = free_list.back();
        free_list.pop_back();
        stats_.bytes_cached -= size;
        add_in_use(size);
        return ptr;
      }
    }
    void* ptr = system_allocate(size);
    std::lock_guard<std::mutex> lock(mutex_);
    add_in_use(size);
    stats_.device_allocations += 1;
    return ptr;
  }

  void deallocate(void* ptr, size_t bytes) {
    const size_t size = round_up(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    free_[size].push_back(ptr);
    stats_.bytes_in_use -= size;
    stats_.bytes_cached += size;
  }

  // Gives every cached block back to the system (before retrying a failed allocation).
  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, list] : free_) {
      for (void* ptr : list) system_free(ptr);
      stats_.bytes_cached -= size * list.size();
    }
    free_.clear();
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }

 private:
  // With mutex_ held.
  void add_in_use(size_t size) {
    stats_.bytes_in_use += size;
    stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
  }

  // On failure, gives the cached blocks (of other sizes) back and tries once more.
  // Other failures (no GPU, an earlier kernel's error) are the runtime's Errors, unchanged.
  void* system_allocate(size_t size) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt == 1) release_cached();
      void* ptr = device_ == Device::CUDA ? cuda_runtime::malloc_device(size)
                                          : std::aligned_alloc(kAlignment, size);
      if (ptr) return ptr;
    }
    // One message on every device: what was asked and what minidl holds.
    std::ostringstream message;
    message << device_name(device_) << " allocator: out of memory: " << size << " bytes asked for, "
            << stats().bytes_in_use << " bytes in use by minidl, its cache given back ("
            << (device_ == Device::CUDA ? "the CUDA runtime returned no memory"
                                        : "aligned_alloc returned null")
            << ")";
    throw OutOfMemory(message.str(), size);
  }

  void system_free(void* ptr) {
    if (device_ == Device::CUDA) {
      cuda_runtime::free_device(ptr);
    } else {
      std::free(ptr);
    }
  }

  Device device_;
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

// Never destroyed: tensors in static storage may be freed after main() returns.
CachingAllocator& allocator_for(Device device) {
  static auto* cpu = new CachingAllocator(Device::CPU);
  static auto* cuda = new CachingAllocator(Device::CUDA);
  return device == Device::CPU ? *cpu : *cuda;
}

}  // namespace

void* allocate(size_t bytes, Device device) {
  void* ptr = allocator_for(device).allocate(bytes);
  if (device == Device::CUDA && g_poison_cuda && bytes > 0) {
    cuda_runtime::fill_bytes_device(ptr, 0xFF, bytes);
  }
  return ptr;
}

void set_poison_cuda_allocations(bool on) { g_poison_cuda = on; }

void deallocate(void* ptr, size_t bytes, Device device) {
  allocator_for(device).deallocate(ptr, bytes);
}

AllocatorStats allocator_stats(Device device) { return allocator_for(device).stats(); }

void reset_peak_memory_stats(Device device) { allocator_for(device).reset_peak(); }

}  // namespace minidl
