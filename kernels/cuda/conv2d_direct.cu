// Convolution v0 on CUDA: one thread per element of the result, each running the sum of the
// definition (kernels/conv2d_direct.h) on its own. Every thread reads its operands from global
// memory and nothing is shared between threads, so the GPU waits on memory most of the time:
// the "v0 direct" row of bench/bench_conv2d_cuda. v1 (kernels/cuda/conv2d_tiled.cu) stages
// tiles in shared memory so that each value loaded feeds many multiply-adds.
#include "kernels/conv2d_direct.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {

// Thread i owns element i of y [batch, out_channels, out_h, out_w] (a grid-stride loop covers
// a grid smaller than the tensor). Neighbouring threads own neighbouring pixels of one plane,
// so their reads of x are neighbours too.
__global__ void forward_direct_kernel(Conv2dShape s, const float* x, const float* w,
                                      const float* bias, float* y) {
  const int out_h = s.out_h(), out_w = s.out_w();
  const int64_t total = int64_t(s.batch) * s.out_channels * out_h * out_w;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int ow = int(i % out_w), oh = int(i / out_w % out_h);
    const int k = int(i / (int64_t(out_w) * out_h) % s.out_channels);
    const int n = int(i / (int64_t(out_w) * out_h * s.out_channels));
    y[i] = conv2d_direct_output(s, x, w, n, k, oh, ow) + (bias ? bias[k] : 0.f);
  }
}

// Thread i owns element i of dx [batch, in_channels, in_h, in_w].
__global__ void backward_data_direct_kernel(Conv2dShape s, const float* dy, const float* w,
                                            float* dx) {
  const int64_t total = int64_t(s.batch) * s.in_channels * s.in_h * s.in_w;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int iw = int(i % s.in_w), ih = int(i / s.in_w % s.in_h);
    const int c = int(i / (int64_t(s.in_w) * s.in_h) % s.in_channels);
    const int n = int(i / (int64_t(s.in_w) * s.in_h * s.in_channels));
    dx[i] = conv2d_direct_input_grad(s, dy, w, n, c, ih, iw);
  }
}

// Thread i owns element i of dw [out_channels, in_channels, kernel_h, kernel_w]: few threads,
// each summing over the whole batch, which is why this pass is the slowest of the three.
__global__ void backward_weight_direct_kernel(Conv2dShape s, const float* x, const float* dy,
                                              float* dw) {
  const int64_t total = int64_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int q = int(i % s.kernel_w), r = int(i / s.kernel_w % s.kernel_h);
    const int c = int(i / (int64_t(s.kernel_w) * s.kernel_h) % s.in_channels);
    const int k = int(i / (int64_t(s.kernel_w) * s.kernel_h * s.in_channels));
    dw[i] = conv2d_direct_weight_grad(s, x, dy, k, c, r, q);
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
