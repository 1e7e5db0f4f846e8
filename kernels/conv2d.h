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
#include <stdexcept>
#include <string>

#include "minidl/kernels/host_device.h"

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
//    the NCHW tensors (kernels/cuda/conv2d.cu); CPU: im2col + GEMM per chunk of images, or,
//    for 1x1 stride-1 kernels, one GEMM per image straight between the tensors
//    (kernels/cpu/conv2d.cpp).
//  - Winograd, for 3x3 kernels with stride 1 and padding <= 2: F(2x2, 3x3) transforms 4x4 input
//    tiles so that 2x2 outputs cost 16 multiplications instead of 36 (the CPU also runs
//    F(4x4, 3x3) on planes of at least 4x4: 36 for 16 outputs instead of 144)
//    (kernels/winograd_transforms.h; kernels/cuda/conv2d_winograd.cu,
//    kernels/cpu/conv2d_winograd.cpp).
// On CUDA both end in the same GEMM core, cut into thread blocks as output tiles of
// tile_m x tile_n (64 or 128 each) and `slices` splits of the reduction ("split-K"), whose
// partial results go to a workspace and are summed in a fixed order (no atomics: results are
// bitwise reproducible).
enum class Conv2dPass { Forward, BackwardData, BackwardWeight };
enum class Conv2dAlgorithm { Auto, Gemm, Winograd };

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

// How one pass of one convolution runs, decided once: conv2d_plan() fills in every field, and
// the three pass functions run exactly what it says (they check it, they do not choose).
// ops::conv2d plans each pass, allocates plan.workspace floats, and names the profiler's row
// after describe(plan). As a request (tests, benchmarks), zero fields and Auto mean "choose
// for me", and the other fields are kept.
struct Conv2dPlan {
  Conv2dPass pass = Conv2dPass::Forward;
  Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto;
  int winograd_tile = 0;     // Winograd's output tile side: 2 (F(2x2, 3x3)) or 4 (F(4x4), CPU only)
  bool gemm_direct = false;  // CPU Gemm: 1x1 stride-1, one GEMM per image, no im2col (output)
  int tile_m = 0, tile_n = 0, slices = 0;  // CUDA: the GEMM core's tiling
  int threads = 0;        // CPU: the OpenMP threads the workspace is cut for (output)
  int64_t workspace = 0;  // floats of scratch memory the pass needs (output)
};

// "gemm", "gemm 1x1", "winograd F4x4"; on CUDA with the tiling: "gemm 128x64 split 3".
inline std::string describe(const Conv2dPlan& plan) {
  std::string text = plan.algorithm == Conv2dAlgorithm::Winograd
                         ? "winograd F" + std::to_string(plan.winograd_tile) + "x" +
                               std::to_string(plan.winograd_tile)
                     : plan.algorithm == Conv2dAlgorithm::Gemm
                         ? (plan.gemm_direct ? "gemm 1x1" : "gemm")
                         : "auto";
  if (plan.tile_m > 0) {
    text += " " + std::to_string(plan.tile_m) + "x" + std::to_string(plan.tile_n);
    if (plan.slices > 1) text += " split " + std::to_string(plan.slices);
  }
  return text;
}

// The same functions on both devices (every pointer is device memory for cuda::):
//   conv2d_plan   the plan a pass runs with: `requested` with its zero fields and Auto filled
//                 in by the device's rule (CUDA: sized by this GPU's SM count), and its
//                 workspace. Throws std::invalid_argument for Winograd on a shape it cannot
//                 do, a Winograd tile the device lacks, or (CUDA) a tile size other than 64 or
//                 128 or a negative slice count.
//   conv2d_forward          y = conv(x, w) + bias (bias may be null); y is overwritten.
//   conv2d_backward_data    dx = dL/dx, overwritten.
//   conv2d_backward_weight  dw = dL/dw (and dbias when not null), overwritten.
// Each takes the plan conv2d_plan returned for its pass and `workspace`, plan.workspace floats
// (null exactly when that is 0); a plan for another pass, an unplanned one or a missing
// workspace is refused with std::invalid_argument.
namespace cpu {
Conv2dPlan conv2d_plan(const Conv2dShape& s, Conv2dPass pass, Conv2dPlan requested = {});
void conv2d_forward(const Conv2dShape& s, const Conv2dPlan& plan, const float* x, const float* w,
                    const float* bias, float* y, float* workspace);
void conv2d_backward_data(const Conv2dShape& s, const Conv2dPlan& plan, const float* dy,
                          const float* w, float* dx, float* workspace);
void conv2d_backward_weight(const Conv2dShape& s, const Conv2dPlan& plan, const float* x,
                            const float* dy, float* dw, float* dbias, float* workspace);
}  // namespace cpu

namespace cuda {
Conv2dPlan conv2d_plan(const Conv2dShape& s, Conv2dPass pass, Conv2dPlan requested = {});
void conv2d_forward(const Conv2dShape& s, const Conv2dPlan& plan, const float* x, const float* w,
                    const float* bias, float* y, float* workspace);
void conv2d_backward_data(const Conv2dShape& s, const Conv2dPlan& plan, const float* dy,
                          const float* w, float* dx, float* workspace);
void conv2d_backward_weight(const Conv2dShape& s, const Conv2dPlan& plan, const float* x,
                            const float* dy, float* dw, float* dbias, float* workspace);
}  // namespace cuda

// What both devices' pass functions check first: the plan is complete, for `pass`, and its
// workspace is there. Throws std::invalid_argument naming what is wrong.
inline void check_plan(const Conv2dPlan& plan, Conv2dPass pass, const float* workspace) {
  static const char* const kPassNames[] = {"forward", "backward-data", "backward-weight"};
  if (plan.algorithm == Conv2dAlgorithm::Auto) {
    throw std::invalid_argument("the plan was not made by conv2d_plan (its algorithm is Auto)");
  }
  if (plan.pass != pass) {
    throw std::invalid_argument(std::string("a plan for the ") + kPassNames[int(plan.pass)] +
                                " pass was given to the " + kPassNames[int(pass)] + " pass");
  }
  if (plan.workspace > 0 && workspace == nullptr) {
    throw std::invalid_argument("the plan (" + describe(plan) + ") needs a workspace of " +
                                std::to_string(plan.workspace) + " floats, got none");
  }
}

MINIDL_SAME_KERNEL(conv2d_plan);
MINIDL_SAME_KERNEL(conv2d_forward);
MINIDL_SAME_KERNEL(conv2d_backward_data);
MINIDL_SAME_KERNEL(conv2d_backward_weight);

}  // namespace minidl::kernels
