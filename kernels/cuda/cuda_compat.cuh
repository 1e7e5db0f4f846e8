// Included first by every kernels/cuda/*.cu file. The same kernel source builds two ways:
//   - with nvcc for the GPU (the library users link), and
//   - with the host C++ compiler against the CPU emulation of the CUDA execution model
//     (kernels/cuda/emulator/), when MINIDL_CUDA_EMULATION is defined: how CI runs every
//     kernel on machines without a GPU.
// Kernels stay inside the subset both support (docs/cuda_emulation.md):
//   - statically sized shared memory, declared with MINIDL_SHARED and indexed 1-D;
//   - __syncthreads(); __shfl_down_sync / __shfl_xor_sync on full warps; atomicAdd on float;
//   - threadIdx, blockIdx, blockDim, gridDim; plain global loads and stores;
//   - launches only through launch() (kernels/cuda/launch.cuh).
#pragma once

#ifdef MINIDL_CUDA_EMULATION
#include "minidl/kernels/cuda/emulator/cuda_emulation.h"
#else
#include <cuda_runtime.h>
// A block-wide array of `count` elements in shared memory, indexed name[i]. 16-byte aligned so
// that kernels may read four floats at once (load4 in kernels/cuda/implicit_gemm.cuh).
#define MINIDL_SHARED(type, name, count) __shared__ __align__(16) type name[count]
#endif

// `#pragma unroll` and __launch_bounds__ for nvcc; nothing for the emulator's host compiler.
#ifdef MINIDL_CUDA_EMULATION
#define MINIDL_LAUNCH_BOUNDS(threads)
#define MINIDL_UNROLL
#else
#define MINIDL_LAUNCH_BOUNDS(threads) __launch_bounds__(threads)
#define MINIDL_UNROLL _Pragma("unroll")
#endif
