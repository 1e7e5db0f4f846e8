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
// Two algorithms:
//  - Im2colGemm (kernels/cpu/conv2d.cpp): receptive fields unrolled into a matrix, one Eigen
//    GEMM per chunk of images; 1x1 stride-1 convolutions skip the unrolling (the input planes
//    already are that matrix);
//  - Winograd F(2x2, 3x3) (kernels/cpu/conv2d_winograd.cpp), 3x3 stride-1 kernels with
//    padding <= 2 only: 2.25x fewer multiply-adds, 16 GEMMs per block of tiles.
// Auto applies the rule in conv2d.cpp (conv2d_algorithm).
enum class Conv2dAlgorithm { Auto, Im2colGemm, Winograd };
bool conv2d_winograd_supports(const Conv2dShape& s);
// The algorithm Auto runs for this shape. Throws std::invalid_argument when `requested` is
// Winograd and the shape is not one it can do.
Conv2dAlgorithm conv2d_algorithm(const Conv2dShape& s,
                                 Conv2dAlgorithm requested = Conv2dAlgorithm::Auto);

// bias may be null. y is overwritten.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y, Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto);
// dx is overwritten with dL/dx.
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto);
// dw (and dbias when not null) are overwritten with dL/dw and dL/dbias.
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
// Two algorithms (kernels/cuda/conv2d.cu):
//  - ImplicitGemm: every pass as one matrix multiply read straight from the NCHW tensors;
//  - Winograd F(2x2, 3x3), for 3x3 kernels with stride 1 only: transforms 4x4 input tiles so
//    that 2x2 outputs cost 16 multiplications instead of 36 (kernels/cuda/conv2d_winograd.cu).
// Both end in the same GEMM core, cut into thread blocks as output tiles of tile_m x tile_n
// (64 or 128 each) and `slices` splits of the reduction ("split-K"), whose partial results go
// to a workspace and are summed in a fixed order (no atomics: results are bitwise
// reproducible). Zero fields and Auto mean "choose for me".
enum class Conv2dPass { Forward, BackwardData, BackwardWeight };
enum class Conv2dAlgorithm { Auto, ImplicitGemm, Winograd };
struct Conv2dTiling {
  int tile_m = 0, tile_n = 0, slices = 0;
  Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto;
};
// The tiling a pass runs with: `requested` with its zero fields and Auto filled in by the
// rules in conv2d.cu (sized by this GPU's SM count). Throws std::invalid_argument for a tile
// size other than 64 or 128, a negative slice count, or Winograd for a shape it cannot do.
Conv2dTiling conv2d_tiling(const Conv2dShape& s, Conv2dPass pass, Conv2dTiling requested = {});
// Floats of device workspace the pass needs with that tiling (0 for an implicit GEMM whose
// reduction is not split); `workspace` below may be null exactly when this is 0.
int64_t conv2d_workspace(const Conv2dShape& s, Conv2dPass pass, Conv2dTiling requested = {});

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y, float* workspace, Conv2dTiling requested = {});
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          float* workspace, Conv2dTiling requested = {});
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, float* workspace, Conv2dTiling requested = {});
}  // namespace cuda

}  // namespace minidl::kernels
