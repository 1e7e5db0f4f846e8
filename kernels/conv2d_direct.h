// Convolution version 0, the teaching path's first stop: each element of the three passes
// computed straight from its definition, as one sum. No tiles, no shared memory, no matrix
// product: this is the loop nest every faster algorithm must agree with, and the benchmarks'
// "v0 direct" row (bench/bench_conv2d_cpu, bench/bench_conv2d_cuda) shows what the faster
// ones buy. Read it first; docs/reading_guide.md goes on from here.
//
// The three sums are written once, below, and both devices call them:
//   - the CPU (kernels/cpu/conv2d_direct.cpp) walks the elements in a loop nest;
//   - CUDA (kernels/cuda/conv2d_direct.cu) gives every element its own thread.
// Reference: tests/reference/conv2d.cpp (tests/test_conv_algorithms_cpu.cpp and
// tests/test_cuda_teaching.cpp check both devices against it).
#pragma once

#include <cstdint>

#include "minidl/kernels/conv2d.h"

namespace minidl::kernels {

// y[n][k][oh][ow] = sum over (c, r, q) of x[n][c][ih][iw] * w[k][c][r][q], where tap (r, q)
// of output pixel (oh, ow) reads input pixel (ih, iw) = (input_row(oh, r), input_col(ow, q))
// and the zero padding outside the image.
MINIDL_HOST_DEVICE inline float conv2d_direct_output(const Conv2dShape& s, const float* x,
                                                     const float* w, int n, int k, int oh, int ow) {
  float sum = 0.f;
  for (int c = 0; c < s.in_channels; ++c) {
    const float* plane = x + (int64_t(n) * s.in_channels + c) * s.in_h * s.in_w;
    const float* filter = w + (int64_t(k) * s.in_channels + c) * s.kernel_h * s.kernel_w;
    for (int r = 0; r < s.kernel_h; ++r) {
      for (int q = 0; q < s.kernel_w; ++q) {
        const int ih = s.input_row(oh, r), iw = s.input_col(ow, q);
        if (s.inside_input(ih, iw)) sum += plane[ih * s.in_w + iw] * filter[r * s.kernel_w + q];
      }
    }
  }
  return sum;
}

// dx[n][c][ih][iw]: the forward's sum read backwards. Input pixel (ih, iw) reached every output
// pixel (oh, ow) whose tap (r, q) read it, with weight w[k][c][r][q]; output_row / output_col
// find that pixel, or say there is none (-1).
MINIDL_HOST_DEVICE inline float conv2d_direct_input_grad(const Conv2dShape& s, const float* dy,
                                                         const float* w, int n, int c, int ih,
                                                         int iw) {
  const int out_h = s.out_h(), out_w = s.out_w();
  float sum = 0.f;
  for (int k = 0; k < s.out_channels; ++k) {
    const float* grad_plane = dy + (int64_t(n) * s.out_channels + k) * out_h * out_w;
    const float* filter = w + (int64_t(k) * s.in_channels + c) * s.kernel_h * s.kernel_w;
    for (int r = 0; r < s.kernel_h; ++r) {
      const int oh = s.output_row(ih, r);
      if (oh < 0) continue;
      for (int q = 0; q < s.kernel_w; ++q) {
        const int ow = s.output_col(iw, q);
        if (ow >= 0) sum += grad_plane[oh * out_w + ow] * filter[r * s.kernel_w + q];
      }
    }
  }
  return sum;
}

// dw[k][c][r][q] = sum over (n, oh, ow) of dy[n][k][oh][ow] * x[n][c][ih][iw]: every product
// this weight took part in, over the whole batch.
MINIDL_HOST_DEVICE inline float conv2d_direct_weight_grad(const Conv2dShape& s, const float* x,
                                                          const float* dy, int k, int c, int r,
                                                          int q) {
  const int out_h = s.out_h(), out_w = s.out_w();
  float sum = 0.f;
  for (int n = 0; n < s.batch; ++n) {
    const float* plane = x + (int64_t(n) * s.in_channels + c) * s.in_h * s.in_w;
    const float* grad_plane = dy + (int64_t(n) * s.out_channels + k) * out_h * out_w;
    for (int oh = 0; oh < out_h; ++oh) {
      for (int ow = 0; ow < out_w; ++ow) {
        const int ih = s.input_row(oh, r), iw = s.input_col(ow, q);
        if (s.inside_input(ih, iw)) sum += grad_plane[oh * out_w + ow] * plane[ih * s.in_w + iw];
      }
    }
  }
  return sum;
}

// The three passes, each element from the sums above, on both devices (device pointers for
// cuda::). Outputs are overwritten; bias and dbias may be null.
namespace cpu {
void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                           float* y);
void conv2d_backward_data_direct(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_direct(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                   float* dbias);
}  // namespace cpu

namespace cuda {
void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                           float* y);
void conv2d_backward_data_direct(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_direct(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                   float* dbias);
}  // namespace cuda

MINIDL_SAME_KERNEL(conv2d_forward_direct);
MINIDL_SAME_KERNEL(conv2d_backward_data_direct);
MINIDL_SAME_KERNEL(conv2d_backward_weight_direct);

}  // namespace minidl::kernels
