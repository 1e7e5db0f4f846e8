// The convolution cases the kernel-level tests share (tests/test_conv_algorithms_cpu.cpp for
// the CPU algorithms, tests/test_cuda_teaching.cpp for the CUDA teaching kernels): awkward
// shapes in the reference's terms, their random inputs, and the double reference's results.
#pragma once

#include <random>
#include <vector>

#include "minidl/kernels/conv2d.h"
#include "op_check.h"

namespace convcases {

struct Case {
  const char* what;
  ref::ConvShape s;  // N, C, H, W, K, R, S, stride, pad
};

inline const Case kCases[] = {
    {"3x3 pad 1, 64 channels", {2, 64, 8, 8, 64, 3, 3, 1, 1}},
    {"3x3 pad 0, odd 7x9 image", {2, 5, 7, 9, 6, 3, 3, 1, 0}},
    {"3x3 pad 2, non-square 5x4", {1, 3, 5, 4, 7, 3, 3, 1, 2}},
    {"3x3 pad 1 over a 1x1 image", {3, 13, 1, 1, 5, 3, 3, 1, 1}},
    {"3x3 pad 1, 2x2 image, 70 channels", {2, 70, 2, 2, 33, 3, 3, 1, 1}},
    {"3x3 pad 1, 130 channels, 9 images: two cache blocks", {9, 130, 16, 16, 130, 3, 3, 1, 1}},
    {"3x3 stride 2 (im2col only)", {2, 16, 9, 9, 32, 3, 3, 2, 1}},
    {"3x3 stride 2 over a 1x1 image: taps past the edge (im2col only)",
     {2, 3, 1, 1, 4, 3, 3, 2, 1}},
    {"1x1 stride 1 over 30 pixels (im2col only)", {3, 8, 5, 6, 4, 1, 1, 1, 0}},
    {"1x1 stride 1 over 81 pixels (one GEMM per image, no im2col)", {5, 7, 9, 9, 11, 1, 1, 1, 0}},
    {"7x7 stride 2 stem (im2col only)", {2, 3, 16, 16, 8, 7, 7, 2, 3}},
    {"1x1 stride 3: input pixels no tap reads (im2col only)", {2, 4, 7, 8, 5, 1, 1, 3, 0}},
};

inline minidl::kernels::Conv2dShape kernel_shape(const ref::ConvShape& r) {
  minidl::kernels::Conv2dShape s;
  s.batch = int(r.N);
  s.in_channels = int(r.C);
  s.in_h = int(r.H);
  s.in_w = int(r.W);
  s.out_channels = int(r.K);
  s.kernel_h = int(r.R);
  s.kernel_w = int(r.S);
  s.stride_h = s.stride_w = int(r.stride);
  s.pad_h = s.pad_w = int(r.pad);
  return s;
}

inline std::vector<float> to_float(const testutil::Vec& v) {
  return std::vector<float>(v.begin(), v.end());
}
inline testutil::Vec to_vec(const std::vector<float>& v) {
  return testutil::Vec(v.begin(), v.end());
}

// A case's random inputs (as floats for the kernels) and the reference's results.
struct Problem {
  std::vector<float> x, w, b, dy;
  testutil::Vec y_ref;
  ref::ConvGrads g_ref;
};

inline Problem make_problem(const Case& c, std::mt19937& rng) {
  const testutil::Vec x = testutil::random_vec(ref::numel(c.s.x_shape()), rng);
  const testutil::Vec w = testutil::random_vec(ref::numel(c.s.w_shape()), rng);
  const testutil::Vec b = testutil::random_vec(c.s.K, rng);
  const testutil::Vec dy = testutil::random_vec(ref::numel(c.s.y_shape()), rng);
  return {to_float(x),
          to_float(w),
          to_float(b),
          to_float(dy),
          ref::conv2d(x, w, b, c.s),
          ref::conv2d_backward(x, w, true, dy, c.s)};
}

}  // namespace convcases
