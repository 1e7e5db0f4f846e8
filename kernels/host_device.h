// MINIDL_HOST_DEVICE marks small inline helpers (shape arithmetic) that both host code and
// CUDA kernels call. It means __host__ __device__ under nvcc and nothing elsewhere.
#pragma once

#ifdef __CUDACC__
#define MINIDL_HOST_DEVICE __host__ __device__
#else
#define MINIDL_HOST_DEVICE
#endif

// The dispatch contract (core/dispatch.h): a kernel's CPU and CUDA versions have exactly one
// type, so that an op names its kernel call once. Each kernel header states it after
// declaring both, e.g. MINIDL_SAME_KERNEL(relu_forward); a signature that drifts on one side
// stops the build with this message.
#include <type_traits>
#define MINIDL_SAME_KERNEL(name)                                                               \
  static_assert(std::is_same_v<decltype(&cpu::name), decltype(&cuda::name)>,                   \
                #name ": the CPU and CUDA kernels must have the same signature (the dispatch " \
                      "contract of core/dispatch.h)")
