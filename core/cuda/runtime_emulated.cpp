// The CUDA runtime of minidl_emulated, the test backend: "device" memory is 64-byte aligned
// host memory, copies are memcpy, and kernels run on the CPU emulator when launched
// (kernels/cuda/emulator/). It lets CI run every CUDA code path on machines without a GPU.
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "minidl/core/cuda/runtime.h"
#include "minidl/core/error.h"

namespace minidl::cuda_runtime {

bool probe(std::string* description_or_reason) {
  *description_or_reason = "CUDA emulated on the CPU (test backend; no GPU is used)";
  return true;
}

void* malloc_device(size_t bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment (AddressSanitizer refuses
  // anything else; glibc only tolerates it).
  constexpr size_t kAlignment = 64;
  // Null when out of memory, as the native runtime (core/cuda/runtime.h).
  return std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
}

void free_device(void* ptr) { std::free(ptr); }
void fill_bytes_device(void* dst, int byte, size_t bytes) { std::memset(dst, byte, bytes); }
void copy_host_to_device(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void copy_device_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void copy_device_to_device(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void check_launch(const char*, const char*, int) {}  // the emulator throws on its own

// Kernels run when launched, so every copy is complete when it returns, and an event is just
// the host time at which it was recorded.
void* malloc_pinned(size_t bytes) { return malloc_device(bytes); }
void free_pinned(void* ptr) { std::free(ptr); }
void copy_host_to_device_async(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
using Clock = std::chrono::steady_clock;
Event create_event() { return new Clock::time_point(); }
Event create_timing_event() { return create_event(); }
void destroy_event(Event event) { delete static_cast<Clock::time_point*>(event); }
void record_event(Event event) { *static_cast<Clock::time_point*>(event) = Clock::now(); }
void wait_for_event(Event) {}
float elapsed_ms(Event start, Event end) {
  return std::chrono::duration<float, std::milli>(*static_cast<Clock::time_point*>(end) -
                                                  *static_cast<Clock::time_point*>(start))
      .count();
}

}  // namespace minidl::cuda_runtime
