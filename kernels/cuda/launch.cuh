// The one place CUDA kernels are launched from. Call sites write
//   launch(my_kernel, grid_for(n), kBlockSize, args...);
// instead of my_kernel<<<grid, block>>>(args...), so that the launch configuration, the stream
// and (later) an execution backend other than the GPU are decided here, not at every call site.
// Errors are checked by the caller in core/ (check_cuda_launch), which knows the op's name.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace minidl::kernels::cuda {

constexpr int kBlockSize = 256;

// Enough blocks for one element per thread, capped: grid-stride loops cover the rest.
inline dim3 grid_for(int64_t n, int block = kBlockSize) {
  const int64_t blocks = (n + block - 1) / block;
  return dim3(static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535)));
}

template <typename... KernelArgs, typename... Args>
void launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, Args... args) {
  kernel<<<grid, block, 0, 0>>>(args...);
}

}  // namespace minidl::kernels::cuda
