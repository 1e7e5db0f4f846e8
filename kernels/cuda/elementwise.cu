// CUDA elementwise kernels. Decomposition: a 1-D grid of 256-thread blocks walks the n
// elements with a grid-stride loop, so thread t of the grid touches t, t + G, t + 2G, ...
// Consecutive threads read consecutive floats: every warp access is one coalesced 128-byte
// transaction. These kernels are memory-bound; the work per element is one or two flops.
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {

__global__ void fill_kernel(int64_t n, float value, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = value;
}

__global__ void add_kernel(int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] + b[i];
}

__global__ void sub_kernel(int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] - b[i];
}

__global__ void mul_kernel(int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] * b[i];
}

__global__ void broadcast_kernel(int64_t n, const float* scalar, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = scalar[0];
}

__global__ void add_channel_bias_kernel(int64_t n, int64_t channels, int64_t inner, const float* x,
                                        const float* bias, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride())
    out[i] = x[i] + bias[(i / inner) % channels];
}

// Reductions: one block of 256 threads per output; each thread sums a strided share of the
// inputs, then block_sum (reduce.cuh) combines the partial sums in a fixed order.
// Block c sums grad[:, c, :] viewed as [outer, channels, inner].
__global__ void channel_sum_kernel(int64_t outer, int64_t channels, int64_t inner,
                                   const float* grad, float* bias_grad) {
  const int64_t c = blockIdx.x, count = outer * inner;
  float total = 0.f;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    total += grad[((j / inner) * channels + c) * inner + j % inner];
  }
  const float sum = block_sum(total);
  if (threadIdx.x == 0) bias_grad[c] = sum;
}

__global__ void sum_kernel(int64_t n, const float* a, float* out) {
  float total = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) total += a[i];
  const float sum = block_sum(total);
  if (threadIdx.x == 0) out[0] = sum;
}

__global__ void scale_kernel(int64_t n, const float* a, float factor, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] * factor;
}

__global__ void axpy_kernel(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] += alpha * x[i];
}

__global__ void relu_forward_kernel(int64_t n, const float* x, float* y) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = relu_value(x[i]);
}

__global__ void relu_backward_kernel(int64_t n, const float* y, const float* dy, float* dx) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) dx[i] = relu_grad(y[i], dy[i]);
}

}  // namespace

void fill(int64_t n, float value, float* out) {
  launch("fill", fill_kernel, grid_for(n), kBlockSize, n, value, out);
}

void add(int64_t n, const float* a, const float* b, float* out) {
  launch("add", add_kernel, grid_for(n), kBlockSize, n, a, b, out);
}

void sub(int64_t n, const float* a, const float* b, float* out) {
  launch("sub", sub_kernel, grid_for(n), kBlockSize, n, a, b, out);
}

void mul(int64_t n, const float* a, const float* b, float* out) {
  launch("mul", mul_kernel, grid_for(n), kBlockSize, n, a, b, out);
}

void broadcast(int64_t n, const float* scalar, float* out) {
  launch("broadcast", broadcast_kernel, grid_for(n), kBlockSize, n, scalar, out);
}

void add_channel_bias(int64_t outer, int64_t channels, int64_t inner, const float* x,
                      const float* bias, float* out) {
  const int64_t n = outer * channels * inner;
  launch("add_channel_bias", add_channel_bias_kernel, grid_for(n), kBlockSize, n, channels, inner,
         x, bias, out);
}

void channel_sum(int64_t outer, int64_t channels, int64_t inner, const float* grad,
                 float* bias_grad) {
  launch("channel_sum", channel_sum_kernel, dim3(unsigned(channels)), kBlockSize, outer, channels,
         inner, grad, bias_grad);
}

void sum(int64_t n, const float* a, float* out) {
  launch("sum", sum_kernel, dim3(1), kBlockSize, n, a, out);
}

void scale(int64_t n, const float* a, float factor, float* out) {
  launch("scale", scale_kernel, grid_for(n), kBlockSize, n, a, factor, out);
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  launch("axpy", axpy_kernel, grid_for(n), kBlockSize, n, alpha, x, y);
}

void relu_forward(int64_t n, const float* x, float* y) {
  launch("relu_forward", relu_forward_kernel, grid_for(n), kBlockSize, n, x, y);
}

void relu_backward(int64_t n, const float* y, const float* dy, float* dx) {
  launch("relu_backward", relu_backward_kernel, grid_for(n), kBlockSize, n, y, dy, dx);
}

}  // namespace minidl::kernels::cuda
