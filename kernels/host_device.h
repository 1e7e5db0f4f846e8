// MINIDL_HOST_DEVICE marks small inline helpers (shape arithmetic) that both host code and
// CUDA kernels call. It means __host__ __device__ under nvcc and nothing elsewhere.
#pragma once

#ifdef __CUDACC__
#define MINIDL_HOST_DEVICE __host__ __device__
#else
#define MINIDL_HOST_DEVICE
#endif
