// Indexing and reduction helpers shared by the CUDA kernels.
//
// Reductions are fixed-order trees, never atomics, so a sum comes out bitwise the same on
// every run: a warp combines its 32 values with an xor butterfly of shuffles (both lanes of
// each pair add the same two numbers, so every lane ends with the same bits), and a block
// combines its warps' totals through a small shared array.
#pragma once

#include <cstdint>

#include "minidl/kernels/cuda/cuda_compat.cuh"

namespace minidl::kernels::cuda {

constexpr int kWarpSize = 32;
constexpr unsigned kFullWarp = 0xffffffffu;

// Grid-stride loops: thread t of the grid handles t, t + G, t + 2G, ... (G threads in all).
__device__ inline int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

__device__ inline float warp_sum(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(kFullWarp, value, offset);
  }
  return value;
}

__device__ inline float warp_max(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    value = fmaxf(value, __shfl_xor_sync(kFullWarp, value, offset));
  }
  return value;
}

// The sum of `value` over the block, returned to every thread. blockDim.x must be a multiple
// of 32, and every thread of the block must call it (it contains barriers).
__device__ inline float block_sum(float value) {
  MINIDL_SHARED(float, warp_totals, kWarpSize);
  const int lane = threadIdx.x % kWarpSize, warp = threadIdx.x / kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  value = warp_sum(value);
  if (lane == 0) warp_totals[warp] = value;
  __syncthreads();
  // Every warp reduces the per-warp totals itself, so no broadcast round is needed.
  const float total = warp_sum(lane < warps ? warp_totals[lane] : 0.f);
  __syncthreads();  // all have read warp_totals before a following call overwrites it
  return total;
}

}  // namespace minidl::kernels::cuda
