// 2-D convolution (cross-correlation, as in every DL framework) on NCHW float arrays.
//   x  [batch, in_channels, in_h, in_w]
//   w  [out_channels, in_channels, kernel_h, kernel_w]
//   y  [batch, out_channels, out_h, out_w],  out_h = (in_h + 2 pad_h - kernel_h) / stride_h + 1
//
// Reference: tests/reference/conv2d.cpp, the double-precision loop written to be obviously right.
// The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cstdint>
#include <string>

#include "kernels/host_device.h"

namespace minidl::kernels {

struct Conv2dShape {
  int batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int out_channels = 0, kernel_h = 0, kernel_w = 0;
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;

  MINIDL_HOST_DEVICE int out_h() const { return (in_h + 2 * pad_h - kernel_h) / stride_h + 1; }
  MINIDL_HOST_DEVICE int out_w() const { return (in_w + 2 * pad_w - kernel_w) / stride_w + 1; }

  // The correlation geometry: tap (r, q) of output pixel (oh, ow) reads input pixel
  // (input_row(oh, r), input_col(ow, q)), which is zero padding unless inside_input. The
  // teaching kernels (v0, v1) use these; the fast ones fold the same formula into their own
  // index arithmetic (precomputed offsets, stride phases, Winograd tiles).
  MINIDL_HOST_DEVICE int input_row(int oh, int r) const { return oh * stride_h - pad_h + r; }
  MINIDL_HOST_DEVICE int input_col(int ow, int q) const { return ow * stride_w - pad_w + q; }
  MINIDL_HOST_DEVICE bool inside_input(int ih, int iw) const {
    return unsigned(ih) < unsigned(in_h) && unsigned(iw) < unsigned(in_w);
  }
  // Its inverse, for backward-data: the output row whose tap r reads input row ih, or -1 when
  // there is none (ih + pad - r is negative, not a multiple of the stride, or past the last
  // output row). Likewise for columns.
  MINIDL_HOST_DEVICE int output_row(int ih, int r) const {
    const int scaled = ih + pad_h - r;
    return scaled >= 0 && scaled % stride_h == 0 && scaled / stride_h < out_h() ? scaled / stride_h
                                                                                : -1;
  }
  MINIDL_HOST_DEVICE int output_col(int iw, int q) const {
    const int scaled = iw + pad_w - q;
    return scaled >= 0 && scaled % stride_w == 0 && scaled / stride_w < out_w() ? scaled / stride_w
                                                                                : -1;
  }
  // Multiply-adds of the forward pass times two; backward-data and backward-weight cost the same.
  double flops() const {
    return 2.0 * batch * out_channels * out_h() * out_w() * in_channels * kernel_h * kernel_w;
  }
};

// The three passes of a convolution, and how to run one. Two algorithms on each device:
//  - Gemm: the convolution as one matrix product. CUDA: an implicit GEMM read straight from
//    the NCHW tensors (kernels/cuda/conv2d.cu); CPU: im2col + GEMM per chunk of
//    images, or one GEMM per image for 1x1 stride-1 kernels (kernels/cpu/conv2d.cpp).
//  - Winograd, for 3x3 kernels with stride 1 and padding <= 2: F(2x2, 3x3) transforms 4x4 input
//    tiles so that 2x2 outputs cost 16 multiplications instead of 36 (the CPU also runs
//    F(4x4, 3x3) on planes of at least 4x4: 36 for 16 outputs instead of 144)
//    (kernels/winograd_transforms.h; kernels/cuda/conv2d_winograd.cu,
//    kernels/cpu/conv2d_winograd.cpp).
// On CUDA both end in the same GEMM core, cut into thread blocks as output tiles of
// tile_m x tile_n (64 or 128 each) and `slices` splits of the reduction ("split-K"), whose
// partial results go to a workspace and are summed in a fixed order (no atomics: results are
// bitwise reproducible). The CPU ignores the tile fields and needs no workspace. Zero fields
// and Auto mean "choose for me": conv2d_config() applies each device's rule.
enum class Conv2dPass { Forward, BackwardData, BackwardWeight };

// The Winograd rule, one definition for both devices: a 3x3 kernel, stride 1 and padding at
// most 2 (the tiles of kernels/winograd_transforms.h start at most two pixels before the
// first output; backward-data runs as a forward pass padded by 2 - pad), and an output at all.
inline bool winograd_supports(const Conv2dShape& s) {
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h <= 2 &&
         s.pad_w <= 2 && s.out_h() > 0 && s.out_w() > 0;
}
// What a request for Winograd on a shape it cannot do is refused with (both devices throw
// std::invalid_argument with it; the op adds its own name in front).
inline std::string winograd_refusal(const Conv2dShape& s) {
  return "Winograd needs a 3x3 kernel, stride 1 and padding <= 2; got " +
         std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + ", stride " +
         std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) + ", padding " +
         std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w);
}
enum class Conv2dAlgorithm { Auto, Gemm, Winograd };
struct Conv2dConfig {
  int tile_m = 0, tile_n = 0, slices = 0;  // CUDA only
  Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto;
};

// The same functions on both devices (every pointer is device memory for cuda::):
//   conv2d_config     the configuration a pass runs with: `requested` with its zero fields and
//                     Auto filled in (CUDA: sized by this GPU's SM count). Throws
//                     std::invalid_argument for Winograd on a shape it cannot do, or (CUDA) a
//                     tile size other than 64 or 128 or a negative slice count.
//   conv2d_workspace  floats of scratch memory the pass needs with that configuration (0 on
//                     the CPU, and for a CUDA implicit GEMM whose reduction is not split);
//                     `workspace` may be null exactly when this is 0.
//   conv2d_forward          y = conv(x, w) + bias (bias may be null); y is overwritten.
//   conv2d_backward_data    dx = dL/dx, overwritten.
//   conv2d_backward_weight  dw = dL/dw (and dbias when not null), overwritten.
namespace cpu {
Conv2dConfig conv2d_config(const Conv2dShape& s, Conv2dPass pass, Conv2dConfig requested = {});
int64_t conv2d_workspace(const Conv2dShape& s, Conv2dPass pass, Conv2dConfig requested = {});
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y, float* workspace, Conv2dConfig requested = {});
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          float* workspace, Conv2dConfig requested = {});
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, float* workspace, Conv2dConfig requested = {});
}  // namespace cpu

namespace cuda {
Conv2dConfig conv2d_config(const Conv2dShape& s, Conv2dPass pass, Conv2dConfig requested = {});
int64_t conv2d_workspace(const Conv2dShape& s, Conv2dPass pass, Conv2dConfig requested = {});
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y, float* workspace, Conv2dConfig requested = {});
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                          float* workspace, Conv2dConfig requested = {});
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, float* workspace, Conv2dConfig requested = {});
}  // namespace cuda

MINIDL_SAME_KERNEL(conv2d_config);
MINIDL_SAME_KERNEL(conv2d_workspace);
MINIDL_SAME_KERNEL(conv2d_forward);
MINIDL_SAME_KERNEL(conv2d_backward_data);
MINIDL_SAME_KERNEL(conv2d_backward_weight);

}  // namespace minidl::kernels
