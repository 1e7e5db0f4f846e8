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
// The three passes are implicit GEMMs (kernels/cuda/conv2d.cu). How one is cut into thread
// blocks: output tiles of tile_m x tile_n (64 or 128 each) and `slices` splits of the
// reduction ("split-K"), whose partial results go to a workspace and are summed in a fixed
// order (no atomics: results are bitwise reproducible). A zero field means "choose for me".
enum class Conv2dPass { Forward, BackwardData, BackwardWeight };
struct Conv2dTiling {
  int tile_m = 0, tile_n = 0, slices = 0;
};
// The tiling a pass runs with: `requested` with its zero fields filled in by the rule in
// conv2d.cu (sized by this GPU's SM count). Throws std::invalid_argument for a tile size
// other than 64 or 128 or a negative slice count.
Conv2dTiling conv2d_tiling(const Conv2dShape& s, Conv2dPass pass, Conv2dTiling requested = {});
// Floats of device workspace the pass needs with that tiling (0 when the reduction is not
// split); `workspace` below may be null exactly when this is 0.
int64_t conv2d_workspace(const Conv2dShape& s, Conv2dPass pass, Conv2dTiling requested = {});

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y, float* workspace, Conv2dTiling requested = {});
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          float* workspace, Conv2dTiling requested = {});
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, float* workspace, Conv2dTiling requested = {});
}  // namespace cuda

}  // namespace minidl::kernels
