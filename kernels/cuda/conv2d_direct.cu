// Convolution v0 on CUDA: one thread per element of the result, each running the sum of the
// definition (kernels/conv2d_direct.h) on its own. Every thread reads its operands from global
// memory and nothing is shared between threads, so the GPU waits on memory most of the time:
// the "v0 direct" row of bench/bench_conv2d_cuda. v1 (kernels/cuda/conv2d_tiled.cu) stages
// tiles in shared memory so that each value loaded feeds many multiply-adds.
#include "minidl/kernels/conv2d_direct.h"
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {

// A flat index of a 4-D array [d0, d1, d2, d3] split into its four coordinates.
struct Index4 {
  int i0, i1, i2, i3;
};
__device__ inline Index4 unflatten(int64_t i, int d1, int d2, int d3) {
  return {int(i / (int64_t(d3) * d2 * d1)), int(i / (int64_t(d3) * d2) % d1), int(i / d3 % d2),
          int(i % d3)};
}

// Thread i owns element i of y [batch, out_channels, out_h, out_w] (a grid-stride loop covers
// a grid smaller than the tensor). Neighbouring threads own neighbouring pixels of one plane,
// so their reads of x are neighbours too.
__global__ void forward_direct_kernel(Conv2dShape s, const float* x, const float* w,
                                      const float* bias, float* y) {
  const int64_t total = int64_t(s.batch) * s.out_channels * s.out_h() * s.out_w();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const Index4 at = unflatten(i, s.out_channels, s.out_h(), s.out_w());  // (n, k, oh, ow)
    y[i] = conv2d_direct_output(s, x, w, at.i0, at.i1, at.i2, at.i3) + (bias ? bias[at.i1] : 0.f);
  }
}

// Thread i owns element i of dx [batch, in_channels, in_h, in_w].
__global__ void backward_data_direct_kernel(Conv2dShape s, const float* dy, const float* w,
                                            float* dx) {
  const int64_t total = int64_t(s.batch) * s.in_channels * s.in_h * s.in_w;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const Index4 at = unflatten(i, s.in_channels, s.in_h, s.in_w);  // (n, c, ih, iw)
    dx[i] = conv2d_direct_input_grad(s, dy, w, at.i0, at.i1, at.i2, at.i3);
  }
}

// Thread i owns element i of dw [out_channels, in_channels, kernel_h, kernel_w]: few threads,
// each summing over the whole batch, which is why this pass is the slowest of the three.
__global__ void backward_weight_direct_kernel(Conv2dShape s, const float* x, const float* dy,
                                              float* dw) {
  const int64_t total = int64_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const Index4 at = unflatten(i, s.in_channels, s.kernel_h, s.kernel_w);  // (k, c, r, q)
    dw[i] = conv2d_direct_weight_grad(s, x, dy, at.i0, at.i1, at.i2, at.i3);
  }
}

}  // namespace

void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                           float* y) {
  const int64_t total = int64_t(s.batch) * s.out_channels * s.out_h() * s.out_w();
  launch("conv2d_forward_direct", forward_direct_kernel, grid_for(total), kBlockSize, s, x, w, bias,
         y);
}

void conv2d_backward_data_direct(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const int64_t total = int64_t(s.batch) * s.in_channels * s.in_h * s.in_w;
  launch("conv2d_backward_data_direct", backward_data_direct_kernel, grid_for(total), kBlockSize, s,
         dy, w, dx);
}

void conv2d_backward_weight_direct(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                   float* dbias) {
  const int64_t total = int64_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  launch("conv2d_backward_weight_direct", backward_weight_direct_kernel, grid_for(total),
         kBlockSize, s, x, dy, dw);
  if (dbias) channel_sum(s.batch, s.out_channels, int64_t(s.out_h()) * s.out_w(), dy, dbias);
}

}  // namespace minidl::kernels::cuda
