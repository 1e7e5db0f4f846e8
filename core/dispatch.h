// The one dispatch point of every op (in the spirit of dlib's tensor_tools): the CPU and the
// CUDA kernels of an op family share their signatures, so an op names its kernel call once
// and the device of a tensor picks the namespace:
//   MINIDL_DISPATCH(x, "relu", relu_forward(n, x.data(), y.data()));
// runs kernels::cpu::relu_forward(...) for a CPU tensor, or kernels::cuda::relu_forward(...)
// followed by a launch check naming "relu" for a CUDA tensor. With profiling on
// (core/profiler.h) the kernels' time is counted under op_name.
#pragma once

#include "core/cuda_runtime.h"
#include "core/profiler.h"
#include "core/tensor.h"

#define MINIDL_DISPATCH(tensor, op_name, call)      \
  do {                                              \
    const ::minidl::profiler::Scope profile_scope_(op_name, (tensor).device()); \
    if ((tensor).device() == ::minidl::Device::CPU) { \
      ::minidl::kernels::cpu::call;                 \
    } else {                                        \
      ::minidl::kernels::cuda::call;                \
      MINIDL_CHECK_LAUNCH(op_name);                 \
    }                                               \
  } while (0)
