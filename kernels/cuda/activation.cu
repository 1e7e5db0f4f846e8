// CUDA activations (sigmoid, tanh, exp, log, GELU): the elementwise decomposition of
// elementwise.cu, a 1-D grid of 256-thread blocks walking the n elements with a grid-stride
// loop, so each warp reads and writes 32 consecutive floats. The per-element formulas are the
// ones the CPU kernels use (activation_value and activation_grad in kernels/activation.h).
#include "minidl/kernels/activation.h"
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"

namespace minidl::kernels::cuda {

namespace {

__global__ void activation_forward_kernel(Activation f, int64_t n, const float* x, float* y) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = activation_value(f, x[i]);
}

__global__ void activation_backward_kernel(Activation f, int64_t n, const float* saved,
                                           const float* dy, float* dx) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    dx[i] = activation_grad(f, saved[i], dy[i]);
  }
}

}  // namespace

void activation_forward(Activation f, int64_t n, const float* x, float* y) {
  launch("activation_forward", activation_forward_kernel, grid_for(n), kBlockSize, f, n, x, y);
}

void activation_backward(Activation f, int64_t n, const float* saved, const float* dy, float* dx) {
  launch("activation_backward", activation_backward_kernel, grid_for(n), kBlockSize, f, n, saved,
         dy, dx);
}

}  // namespace minidl::kernels::cuda
