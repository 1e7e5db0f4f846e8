// The CUDA vocabulary kernels use, for kernels compiled by the host compiler and run by the
// emulator (emulator.h). See docs/cuda_emulation.md for the model and its limits.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "minidl/kernels/cuda/emulator/emulator.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__

// Per-thread built-ins: each fiber sees its own values.
#define threadIdx (::minidl::emu::current().thread_idx)
#define blockIdx (::minidl::emu::current().block_idx)
#define blockDim (::minidl::emu::current().block_dim)
#define gridDim (::minidl::emu::current().grid_dim)

inline void __syncthreads() { ::minidl::emu::sync_block(); }

inline float __shfl_down_sync(unsigned mask, float value, unsigned delta, int width = 32) {
  return ::minidl::emu::shuffle(mask, value, ::minidl::emu::ShuffleKind::Down, int(delta), width);
}
inline float __shfl_xor_sync(unsigned mask, float value, int lane_mask, int width = 32) {
  return ::minidl::emu::shuffle(mask, value, ::minidl::emu::ShuffleKind::Xor, lane_mask, width);
}

// The high 32 bits of the 64-bit product (fast division by a constant uses it).
inline unsigned __umulhi(unsigned a, unsigned b) {
  return unsigned((uint64_t(a) * uint64_t(b)) >> 32);
}

// Fibers of a block never run at the same time and only switch at barriers and shuffles, so a
// plain read-modify-write is atomic here.
inline float atomicAdd(float* address, float value) {
  const float old = *address;
  *address = old + value;
  return old;
}

// One static array per declaration, shared by the fibers of the running block, refilled with
// NaN at the start of every block and bounds-checked on every access.
#define MINIDL_SHARED(type, name, count)                            \
  static ::minidl::emu::SharedArray<type, (count)> name##_storage_; \
  auto& name = name##_storage_.for_current_block(#name)
