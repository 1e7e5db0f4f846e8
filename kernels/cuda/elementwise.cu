// CUDA elementwise kernels. Decomposition: a 1-D grid of 256-thread blocks walks the n
// elements with a grid-stride loop, so thread t of the grid touches t, t + G, t + 2G, ...
// Consecutive threads read consecutive floats: every warp access is one coalesced 128-byte
// transaction. These kernels are memory-bound; the work per element is one or two flops.
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {

__device__ int64_t first_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ int64_t grid_stride() { return int64_t(gridDim.x) * blockDim.x; }

__global__ void fill_kernel(int64_t n, float value, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = value;
}

__global__ void add_kernel(int64_t n, const float* a, const float* b, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] + b[i];
}

__global__ void scale_kernel(int64_t n, const float* a, float factor, float* out) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = a[i] * factor;
}

__global__ void axpy_kernel(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] += alpha * x[i];
}

__global__ void relu_forward_kernel(int64_t n, const float* x, float* y) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

__global__ void relu_backward_kernel(int64_t n, const float* y, const float* dy, float* dx) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

}  // namespace

void fill(int64_t n, float value, float* out) {
  launch(fill_kernel, grid_for(n), kBlockSize, n, value, out);
}

void add(int64_t n, const float* a, const float* b, float* out) {
  launch(add_kernel, grid_for(n), kBlockSize, n, a, b, out);
}

void scale(int64_t n, const float* a, float factor, float* out) {
  launch(scale_kernel, grid_for(n), kBlockSize, n, a, factor, out);
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  launch(axpy_kernel, grid_for(n), kBlockSize, n, alpha, x, y);
}

void relu_forward(int64_t n, const float* x, float* y) {
  launch(relu_forward_kernel, grid_for(n), kBlockSize, n, x, y);
}

void relu_backward(int64_t n, const float* y, const float* dy, float* dx) {
  launch(relu_backward_kernel, grid_for(n), kBlockSize, n, y, dy, dx);
}

}  // namespace minidl::kernels::cuda
