// Caching allocators, one per device.
//
// Why cache on the CPU too: on the VMs we measure on, handing a process fresh pages costs far
// more than the arithmetic that fills them (a new 32 MB buffer: 10.8 ms to fill, versus 1.3 ms
// reused). A training step allocates the same sizes every iteration, so freed blocks are kept
// in per-size free lists and handed out again. cudaMalloc is slow and synchronizing, so the
// CUDA allocator does the same.
#pragma once

#include <cstddef>

#include "minidl/core/device.h"

namespace minidl {

struct AllocatorStats {
  size_t bytes_in_use = 0;        // handed out and not yet returned
  size_t bytes_cached = 0;        // returned, kept for reuse
  size_t device_allocations = 0;  // calls that went to the system (malloc / cudaMalloc)
  // The most bytes_in_use has been since the program started or the last
  // reset_peak_memory_stats(): what torch.cuda.max_memory_allocated reports for PyTorch.
  size_t peak_bytes_in_use = 0;
};

// CPU blocks are 64-byte aligned. Sizes are rounded up to a multiple of 512 bytes so that
// nearby sizes share free lists.
void* allocate(size_t bytes, Device device);
void deallocate(void* ptr, size_t bytes, Device device);

AllocatorStats allocator_stats(Device device);

// Starts a new peak: peak_bytes_in_use becomes the current bytes_in_use (as PyTorch's
// torch.cuda.reset_peak_memory_stats), so a benchmark can measure one phase on its own.
void reset_peak_memory_stats(Device device);

// For tests: when on, every CUDA allocation is filled with 0xFF bytes (NaN as float) before
// it is handed out, so a kernel that leaves an output element unwritten produces a NaN.
void set_poison_cuda_allocations(bool on);

}  // namespace minidl
