// Scratch memory for the kernels that need some: a convolution pass's plan.workspace, the CPU
// GEMM's packed blocks, batch norm's partial sums. Internal to the ops.
//
// One buffer per device, from the caching allocator like any tensor (so its statistics count
// it), grown to the largest request seen and then handed to every call. Why one shared buffer
// rather than a fresh tensor per call: the requests have many sizes (36 per ResNet step), and
// the allocator keeps freed blocks by exact size, so per-call workspaces left one cached block
// per size: peak RSS of the CPU step grew from 436 to 657 MiB when the kernels' thread_local
// buffers moved to per-call workspaces. With this buffer it is back to what they cost.
#pragma once

#include <cstdint>

#include "minidl/core/device.h"

namespace minidl::ops {

// `floats` of scratch on `device` (null when floats is 0), valid until the next call: ops run
// one at a time (the library's threading contract), each using its scratch only during its
// own kernel calls. On CUDA the kernels run later, in stream order, so a buffer that grows
// is freed only after the launches that used it, as any tensor is.
float* scratch(int64_t floats, Device device);

}  // namespace minidl::ops
