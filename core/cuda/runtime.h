// The few CUDA runtime calls the core needs (device query, memory, copies, error checks),
// behind plain C++ functions so that no other file includes CUDA headers. Exactly one of the
// three implementations beside this header is linked into a library:
//   runtime_native.cpp     the real CUDA runtime (a build with nvcc: minidl)
//   runtime_stub.cpp       a CPU-only build: probe() says so, every other call throws
//   runtime_emulated.cpp   the test backend (minidl_emulated): host memory, kernels run on the
//                          CPU emulator of kernels/cuda/emulator/
#pragma once

#include <cstddef>
#include <string>

namespace minidl::cuda_runtime {

// Asks the runtime for a device. On success, *description_or_reason names the GPU; on failure
// it says why in words (e.g. "no usable GPU: the CUDA driver is missing or older than ...").
bool probe(std::string* description_or_reason);

// Null when the device is out of memory (the caller says so in its own words, the same on
// every device: core/allocator.cpp); any other failure (no GPU, an earlier kernel's error) is an
// Error as ever.
void* malloc_device(size_t bytes);
void free_device(void* ptr);
void fill_bytes_device(void* dst, int byte, size_t bytes);  // cudaMemset
void copy_host_to_device(void* dst, const void* src, size_t bytes);
void copy_device_to_host(void* dst, const void* src, size_t bytes);
void copy_device_to_device(void* dst, const void* src, size_t bytes);

// Asynchronous uploads (data/batch_upload.cpp uses them). A copy from ordinary ("pageable")
// host memory first waits for every kernel already queued, so the host cannot run ahead of the
// GPU; from page-locked ("pinned") memory the copy engine reads directly and the call returns
// at once. The source must then stay unchanged until the copy has run: an event recorded after
// the copy tells when.
void* malloc_pinned(size_t bytes);
void free_pinned(void* ptr);
void copy_host_to_device_async(void* dst, const void* pinned_src, size_t bytes);
using Event = void*;  // a cudaEvent_t
Event create_event();
void destroy_event(Event event);
void record_event(Event event);    // marks this point of the stream
void wait_for_event(Event event);  // blocks the host until the GPU has passed the mark
// Events that also record the time (core/profiler.h): milliseconds from `start` to `end`,
// both recorded and `end` waited for.
Event create_timing_event();
float elapsed_ms(Event start, Event end);

// After launching the kernels of `op`: turns a launch error into a minidl::Error naming the op
// (and, with MINIDL_CUDA_SYNC=1 in the environment, waits for the kernels so that faults
// inside them are reported under this op's name too).
void check_launch(const char* op, const char* file, int line);

}  // namespace minidl::cuda_runtime

#define MINIDL_CHECK_LAUNCH(op) ::minidl::cuda_runtime::check_launch(op, __FILE__, __LINE__)
