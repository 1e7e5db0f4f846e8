// The one place CUDA kernels are launched from. Call sites write
//   launch("relu_forward", relu_forward_kernel, grid_for(n), kBlockSize, args...);
// instead of relu_forward_kernel<<<grid, block>>>(args...), so that the same source runs on
// the GPU (nvcc) or through the CPU emulator (MINIDL_CUDA_EMULATION), on the one stream the
// library uses (the default stream). Launch errors are checked by the caller in core/
// (MINIDL_CHECK_LAUNCH), which knows the op's name; the emulator throws on its own.
#pragma once

#include <algorithm>
#include <cstdint>

#include "minidl/kernels/cuda/cuda_compat.cuh"

namespace minidl::kernels::cuda {

constexpr int kBlockSize = 256;

// Enough blocks for one element per thread, capped: grid-stride loops cover the rest.
inline dim3 grid_for(int64_t n, int block = kBlockSize) {
  const int64_t blocks = (n + block - 1) / block;
  return dim3(static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535)));
}

template <typename... KernelArgs, typename... Args>
void launch(const char* name, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, Args... args) {
#ifdef MINIDL_CUDA_EMULATION
  ::minidl::emu::run_grid(name, grid, block, [&] { kernel(args...); });
#else
  (void)name;
  kernel<<<grid, block, 0, 0>>>(args...);
#endif
}

}  // namespace minidl::kernels::cuda
