// 2-D convolution (cross-correlation, as in every DL framework) on NCHW float arrays.
//   x  [batch, in_channels, in_h, in_w]
//   w  [out_channels, in_channels, kernel_h, kernel_w]
//   y  [batch, out_channels, out_h, out_w],  out_h = (in_h + 2 pad_h - kernel_h) / stride_h + 1
#pragma once

#include <cstdint>

#include "kernels/host_device.h"

namespace minidl::kernels {

struct Conv2dShape {
  int batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int out_channels = 0, kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

  MINIDL_HOST_DEVICE int out_h() const { return (in_h + 2 * pad_h - kernel_h) / stride_h + 1; }
  MINIDL_HOST_DEVICE int out_w() const { return (in_w + 2 * pad_w - kernel_w) / stride_w + 1; }
  // Multiply-adds of the forward pass times two; backward-data and backward-weight cost the same.
  double flops() const {
    return 2.0 * batch * out_channels * out_h() * out_w() * in_channels * kernel_h * kernel_w;
  }
};

namespace cpu {
// bias may be null. y is overwritten.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y);
// dx is overwritten with dL/dx.
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
// dw (and dbias when not null) are overwritten with dL/dw and dL/dbias.
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y);
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
// Backward-weight splits its long reduction (batch x output pixels) into slices whose partial
// results are summed in a fixed order: `workspace` must hold this many floats (may be 0).
int64_t conv2d_backward_weight_workspace(const Conv2dShape& s);
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, float* workspace);
}  // namespace cuda

}  // namespace minidl::kernels
