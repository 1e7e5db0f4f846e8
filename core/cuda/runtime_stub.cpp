// The CUDA runtime functions of a CPU-only build (no nvcc at configure time, or MINIDL_CUDA=OFF).
#include "minidl/core/cuda/runtime.h"
#include "minidl/core/error.h"

namespace minidl::cuda_runtime {

namespace {
[[noreturn]] void unavailable(const char* op) {
  detail::fail(op, "this build of minidl has no CUDA support (configured with MINIDL_CUDA=OFF "
                   "or without nvcc); use the CPU");
}
}  // namespace

bool probe(std::string* description_or_reason) {
  *description_or_reason = "built without CUDA";
  return false;
}
void* malloc_device(size_t) { unavailable("cuda allocator"); }
void free_device(void*) { unavailable("cuda allocator"); }
void fill_bytes_device(void*, int, size_t) { unavailable("cuda memset"); }
void copy_host_to_device(void*, const void*, size_t) { unavailable("copy to cuda"); }
void copy_device_to_host(void*, const void*, size_t) { unavailable("copy to cpu"); }
void copy_device_to_device(void*, const void*, size_t) { unavailable("copy on cuda"); }
void check_launch(const char* op, const char*, int) { unavailable(op); }
void* malloc_pinned(size_t) { unavailable("pinned allocator"); }
void free_pinned(void*) { unavailable("pinned allocator"); }
void copy_host_to_device_async(void*, const void*, size_t) { unavailable("upload to cuda"); }
Event create_event() { unavailable("cuda event"); }
void destroy_event(Event) { unavailable("cuda event"); }
void record_event(Event) { unavailable("cuda event"); }
void wait_for_event(Event) { unavailable("cuda event"); }
Event create_timing_event() { unavailable("cuda event"); }
float elapsed_ms(Event, Event) { unavailable("cuda event"); }

}  // namespace minidl::cuda_runtime
