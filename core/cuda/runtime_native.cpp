// The CUDA runtime of a build with CUDA (nvcc found at configure time); runtime_stub.cpp
// takes its place otherwise.
#include "minidl/core/cuda/runtime.h"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <string>

#include "minidl/core/error.h"

namespace minidl::cuda_runtime {

namespace {
// Every CUDA call goes through here: the error names the op, the call and where it was made.
void check(cudaError_t status, const char* op, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  // Clears a recoverable error (a bad launch configuration) so the next check reports its
  // own; a sticky error (an illegal address in a kernel) leaves the context unusable anyway.
  cudaGetLastError();
  detail::fail(op, call, " failed: ", cudaGetErrorString(status), " (", cudaGetErrorName(status),
               ") at ", file, ":", line);
}
}  // namespace

#define CHECKED(op, call) check((call), op, #call, __FILE__, __LINE__)

bool probe(std::string* description_or_reason) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice ||
      (status == cudaSuccess && count == 0)) {
    *description_or_reason =
        status == cudaErrorInsufficientDriver
            ? "no usable GPU: the CUDA driver is missing or older than this runtime "
              "(no GPU on this machine?)"
            : "no usable GPU: the CUDA runtime found no device";
    cudaGetLastError();
    return false;
  }
  if (status != cudaSuccess) {
    *description_or_reason =
        std::string("no usable GPU: cudaGetDeviceCount failed: ") + cudaGetErrorString(status);
    cudaGetLastError();
    return false;
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) != cudaSuccess) {
    *description_or_reason = "no usable GPU: cudaGetDeviceProperties failed";
    cudaGetLastError();
    return false;
  }
  *description_or_reason = std::string(props.name) + " (compute " + std::to_string(props.major) +
                           "." + std::to_string(props.minor) + ")";
  return true;
}

void* malloc_device(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it: out of memory is not a sticky error
    return nullptr;
  }
  CHECKED("cuda allocator", status);
  return ptr;
}

void free_device(void* ptr) { CHECKED("cuda allocator", cudaFree(ptr)); }

void fill_bytes_device(void* dst, int byte, size_t bytes) {
  CHECKED("cuda memset", cudaMemset(dst, byte, bytes));
}

void copy_host_to_device(void* dst, const void* src, size_t bytes) {
  CHECKED("copy to cuda", cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_device_to_host(void* dst, const void* src, size_t bytes) {
  CHECKED("copy to cpu", cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void copy_device_to_device(void* dst, const void* src, size_t bytes) {
  CHECKED("copy on cuda", cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

void* malloc_pinned(size_t bytes) {
  void* ptr = nullptr;
  CHECKED("pinned allocator", cudaMallocHost(&ptr, bytes));
  return ptr;
}

void free_pinned(void* ptr) { CHECKED("pinned allocator", cudaFreeHost(ptr)); }

void copy_host_to_device_async(void* dst, const void* pinned_src, size_t bytes) {
  CHECKED("upload to cuda", cudaMemcpyAsync(dst, pinned_src, bytes, cudaMemcpyHostToDevice, 0));
}

Event create_event() {
  cudaEvent_t event = nullptr;
  CHECKED("cuda event", cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  return event;
}

Event create_timing_event() {
  cudaEvent_t event = nullptr;
  CHECKED("cuda event", cudaEventCreate(&event));
  return event;
}

float elapsed_ms(Event start, Event end) {
  float ms = 0.f;
  CHECKED("cuda event", cudaEventElapsedTime(&ms, cudaEvent_t(start), cudaEvent_t(end)));
  return ms;
}

void destroy_event(Event event) { CHECKED("cuda event", cudaEventDestroy(cudaEvent_t(event))); }
void record_event(Event event) { CHECKED("cuda event", cudaEventRecord(cudaEvent_t(event), 0)); }
void wait_for_event(Event event) {
  CHECKED("cuda event", cudaEventSynchronize(cudaEvent_t(event)));
}

// Launches are asynchronous: a fault inside a kernel surfaces at a later CUDA call, under
// that call's name. MINIDL_CUDA_SYNC=1 synchronizes after every op so faults name their op
// (slow; for debugging).
void check_launch(const char* op, const char* file, int line) {
  check(cudaGetLastError(), op, "kernel launch", file, line);
  static const bool sync_every_op = [] {
    const char* flag = std::getenv("MINIDL_CUDA_SYNC");
    return flag && *flag && std::string(flag) != "0";
  }();
  if (sync_every_op) check(cudaDeviceSynchronize(), op, "kernel execution", file, line);
}

}  // namespace minidl::cuda_runtime
