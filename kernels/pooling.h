// 2-D pooling on NCHW arrays: max and average over square windows, and the global average.
//
// Reference: tests/reference/pooling.cpp, the double-precision loop written to be obviously right.
// The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cmath>
#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

struct Pool2dShape {
  int batch = 0, channels = 0, in_h = 0, in_w = 0;
  int kernel = 1, stride = 1, pad = 0;
  MINIDL_HOST_DEVICE int out_h() const { return (in_h + 2 * pad - kernel) / stride + 1; }
  MINIDL_HOST_DEVICE int out_w() const { return (in_w + 2 * pad - kernel) / stride + 1; }
  int64_t planes() const { return int64_t(batch) * channels; }
};

// Whether input v replaces the window's best so far in max pooling. As PyTorch: a larger value,
// or a NaN (so a NaN anywhere in the window makes the output NaN; the last NaN wins). Ties keep
// the first in row order.
MINIDL_HOST_DEVICE inline bool max_pool_replaces(float v, float best) { return v > best || v != v; }

// Output (oh, ow) of max pooling over one input plane: writes the window's winner to *value and
// its flat index within the plane to *index (-1, with value -infinity, only if the window is
// all padding). The one window search of the CPU and CUDA kernels.
MINIDL_HOST_DEVICE inline void max_pool_window(const Pool2dShape& s, const float* plane, int oh,
                                               int ow, float* value, int32_t* index) {
  float best = -INFINITY;
  int32_t best_index = -1;
  for (int r = 0; r < s.kernel; ++r) {
    const int ih = oh * s.stride - s.pad + r;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int q = 0; q < s.kernel; ++q) {
      const int iw = ow * s.stride - s.pad + q;
      if (iw < 0 || iw >= s.in_w) continue;
      const float v = plane[ih * s.in_w + iw];
      if (best_index < 0 || max_pool_replaces(v, best)) {  // ties keep the first
        best = v;
        best_index = ih * s.in_w + iw;
      }
    }
  }
  *value = best;
  *index = best_index;
}

// Output (oh, ow) of average pooling over one input plane: the window's sum over the inputs
// inside the plane, divided by kernel * kernel (padding counts as zeros: count_include_pad).
MINIDL_HOST_DEVICE inline float avg_pool_window(const Pool2dShape& s, const float* plane, int oh,
                                                int ow) {
  float total = 0.f;
  for (int r = 0; r < s.kernel; ++r) {
    const int ih = oh * s.stride - s.pad + r;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int q = 0; q < s.kernel; ++q) {
      const int iw = ow * s.stride - s.pad + q;
      if (iw >= 0 && iw < s.in_w) total += plane[ih * s.in_w + iw];
    }
  }
  return total * (1.f / float(s.kernel * s.kernel));
}

namespace cpu {
// Also records, per output, the flat index (within its input plane) of the winning input so
// that backward routes the gradient without recomputing the max (max_pool_replaces).
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax);
void max_pool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
// Divides by kernel*kernel even where the window overlaps padding (count_include_pad).
void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx);
// x [planes, spatial] -> y [planes]
void global_avg_pool_forward(int64_t planes, int64_t spatial, const float* x, float* y);
void global_avg_pool_backward(int64_t planes, int64_t spatial, const float* dy, float* dx);
}  // namespace cpu

namespace cuda {  // the same contracts as cpu::; every pointer is device memory
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax);
void max_pool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx);
void global_avg_pool_forward(int64_t planes, int64_t spatial, const float* x, float* y);
void global_avg_pool_backward(int64_t planes, int64_t spatial, const float* dy, float* dx);
}  // namespace cuda

MINIDL_SAME_KERNEL(max_pool2d_forward);
MINIDL_SAME_KERNEL(max_pool2d_backward);
MINIDL_SAME_KERNEL(avg_pool2d_forward);
MINIDL_SAME_KERNEL(avg_pool2d_backward);
MINIDL_SAME_KERNEL(global_avg_pool_forward);
MINIDL_SAME_KERNEL(global_avg_pool_backward);

}  // namespace minidl::kernels
