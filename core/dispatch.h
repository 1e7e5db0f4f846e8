// The one dispatch point of every op (in the spirit of dlib's tensor_tools). The contract:
//  - every kernel exists as kernels::cpu::f and kernels::cuda::f with exactly the same type
//    (each kernel header checks it with MINIDL_SAME_KERNEL, so a signature that drifts on one
//    side stops the build);
//  - so an op names its kernel call once, and the device of a tensor picks the namespace:
//      MINIDL_DISPATCH(x, "relu", relu_forward(n, x.data(), y.data()));
//    runs kernels::cpu::relu_forward(...) for a CPU tensor, or kernels::cuda::relu_forward(...)
//    followed by a launch check naming "relu" for a CUDA tensor;
//  - a kernel reports what only it can check (an unsupported configuration, a missing
//    workspace, a cuBLAS failure) by throwing a standard exception; the dispatch point turns
//    it into a minidl::Error naming the op;
//  - with profiling on (core/profiler.h) the kernels' time is counted under the op's name.
// MINIDL_DEVICE_QUERY(device, call) is the same choice for a kernel function that only
// answers a question (how much workspace a pass needs): no launch, nothing to profile.
#pragma once

#include <exception>

#include "minidl/core/cuda/runtime.h"
#include "minidl/core/error.h"
#include "minidl/core/profiler.h"
#include "minidl/core/tensor.h"

#define MINIDL_DISPATCH(tensor, op_name, call)                                  \
  do {                                                                          \
    const ::minidl::profiler::Scope profile_scope_(op_name, (tensor).device()); \
    try {                                                                       \
      if ((tensor).device() == ::minidl::Device::CPU) {                         \
        ::minidl::kernels::cpu::call;                                           \
      } else {                                                                  \
        ::minidl::kernels::cuda::call;                                          \
        MINIDL_CHECK_LAUNCH(op_name);                                           \
      }                                                                         \
    } catch (const ::minidl::Error&) {                                          \
      throw;                                                                    \
    } catch (const std::exception& kernel_error_) {                             \
      ::minidl::detail::fail(op_name, kernel_error_.what());                    \
    }                                                                           \
  } while (0)

#define MINIDL_DEVICE_QUERY(device, call) \
  ((device) == ::minidl::Device::CPU ? ::minidl::kernels::cpu::call : ::minidl::kernels::cuda::call)
