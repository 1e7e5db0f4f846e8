// The few CUDA runtime calls the core needs (device query, memory, copies, error checks),
// behind plain C++ functions so that no other core file includes CUDA headers. In a build
// without CUDA the same functions exist and throw minidl::Error ("built without CUDA").
#pragma once

#include <cstddef>
#include <string>

namespace minidl::cuda_runtime {

// Asks the runtime for a device. On success, *description_or_reason names the GPU; on failure
// it says why in words (e.g. "no usable GPU: the CUDA driver is missing or older than ...").
bool probe(std::string* description_or_reason);

void* malloc_device(size_t bytes);
void free_device(void* ptr);
void fill_bytes_device(void* dst, int byte, size_t bytes);  // cudaMemset
void copy_host_to_device(void* dst, const void* src, size_t bytes);
void copy_device_to_host(void* dst, const void* src, size_t bytes);
void copy_device_to_device(void* dst, const void* src, size_t bytes);

// After launching the kernels of `op`: turns a launch error into a minidl::Error naming the op
// (and, with MINIDL_CUDA_SYNC=1 in the environment, waits for the kernels so that faults
// inside them are reported under this op's name too).
void check_launch(const char* op, const char* file, int line);

}  // namespace minidl::cuda_runtime

#define MINIDL_CHECK_LAUNCH(op) ::minidl::cuda_runtime::check_launch(op, __FILE__, __LINE__)
