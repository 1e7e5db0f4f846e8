// The transforms of Winograd F(2x2, 3x3), F(4x4, 3x3) and, for backward-weight, F(3x3, 2x2):
// one definition, used by the CPU (kernels/cpu/conv2d_winograd.cpp) and the CUDA
// (kernels/cuda/conv2d_winograd.cu) convolutions. Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016.
//
// A 2x2 block of outputs of a 3x3 filter g over the 4x4 input tile d it depends on is
//     Y = A^T [ (G g G^T) * (B^T d B) ] A        (* element by element, all 4x4)
// so after transforming both operands the convolution is 16 multiplications instead of 36,
// and summed over input channels each of the 16 elements is an ordinary matrix product.
// Backward-weight swaps the roles: the 3x3 weight gradient is "the output" of a 2-tap filter
// (the 2x2 dy tile) over the 4x4 x tile, F(3, 2) in each dimension.
// Every matrix holds only 0, +-1 and +-1/2, so each transform is exact up to the rounding of a
// few additions. A 2-D transform applies the 1-D one to the columns, then to the rows.
//
// Reference: tests/reference/conv2d.cpp, the double-precision convolution loop that every Winograd
// pass built on these transforms is tested against (on the CPU directly, on CUDA through the CPU
// kernels; docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels::winograd {

constexpr int kTile = 4;                     // transformed tiles are 4x4
constexpr int kTransformed = kTile * kTile;  // 16 products (GEMMs) per pass

struct Input1d {  // B^T d for F(2, 3): the input tile
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T d[4], T out[4]) const {
    out[0] = d[0] - d[2];
    out[1] = d[1] + d[2];
    out[2] = d[2] - d[1];
    out[3] = d[1] - d[3];
  }
};
struct Filter1d {  // G g for F(2, 3): the filter
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T g[3], T out[4]) const {
    out[0] = g[0];
    out[1] = 0.5f * (g[0] + g[1] + g[2]);
    out[2] = 0.5f * (g[0] - g[1] + g[2]);
    out[3] = g[2];
  }
};
struct Output1d {  // A^T m for F(2, 3): back to two outputs
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T m[4], T out[2]) const {
    out[0] = m[0] + m[1] + m[2];
    out[1] = m[1] - m[2] - m[3];
  }
};
// Backward-weight is F(3, 2): the dy tile is a 2-tap "filter", the 3 outputs are dw.
struct WgradInput1d {  // B^T d for F(3, 2)
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T d[4], T out[4]) const {
    out[0] = d[0] - d[2];
    out[1] = d[1] + d[2];
    out[2] = d[2] - d[1];
    out[3] = d[3] - d[1];
  }
};
struct WgradDy1d {  // G g for F(3, 2)
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T g[2], T out[4]) const {
    out[0] = g[0];
    out[1] = 0.5f * (g[0] + g[1]);
    out[2] = 0.5f * (g[0] - g[1]);
    out[3] = g[1];
  }
};
struct WgradOutput1d {  // A^T m for F(3, 2)
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T m[4], T out[3]) const {
    out[0] = m[0] + m[1] + m[2];
    out[1] = m[1] - m[2];
    out[2] = m[1] + m[2] + m[3];
  }
};

// F(4, 3), used by the CPU for its larger planes: 6 points (0, +-1, +-2 and infinity) give 4
// outputs of a 3-tap filter, so a 4x4 block of outputs costs 36 multiplications instead of
// 144 (F(2x2, 3x3): 64). Its matrices hold 4, 5, 8 and 1/6, 1/12, 1/24: the filter transform
// rounds, and float32 results are a few times further from exact than F(2x2, 3x3)'s
// (tests/test_conv_algorithms_cpu.cpp states the bound).
struct InputF4_1d {  // B^T d: the input tile, 6 -> 6
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T d[6], T out[6]) const {
    out[0] = 4.f * d[0] - 5.f * d[2] + d[4];
    out[1] = -4.f * (d[1] + d[2]) + d[3] + d[4];
    out[2] = 4.f * (d[1] - d[2]) - d[3] + d[4];
    out[3] = 2.f * (d[3] - d[1]) - d[2] + d[4];
    out[4] = 2.f * (d[1] - d[3]) - d[2] + d[4];
    out[5] = 4.f * d[1] - 5.f * d[3] + d[5];
  }
};
struct FilterF4_1d {  // G g: the filter, 3 -> 6
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T g[3], T out[6]) const {
    out[0] = 0.25f * g[0];
    out[1] = -(g[0] + g[1] + g[2]) / 6.f;
    out[2] = -(g[0] - g[1] + g[2]) / 6.f;
    out[3] = g[0] / 24.f + g[1] / 12.f + g[2] / 6.f;
    out[4] = g[0] / 24.f - g[1] / 12.f + g[2] / 6.f;
    out[5] = g[2];
  }
};
struct OutputF4_1d {  // A^T m: back to four outputs, 6 -> 4
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T m[6], T out[4]) const {
    out[0] = m[0] + m[1] + m[2] + m[3] + m[4];
    out[1] = m[1] - m[2] + 2.f * (m[3] - m[4]);
    out[2] = m[1] + m[2] + 4.f * (m[3] + m[4]);
    out[3] = m[1] - m[2] + 8.f * (m[3] - m[4]) + m[5];
  }
};

// F(3, 4) for backward-weight on 4x4 dy tiles (CPU): the same 6 points, so the 6x6 x tile
// goes through InputF4_1d; the dy tile through F(4, 3)'s output matrix transposed (4 -> 6),
// and the products back through its filter matrix transposed (6 -> 3).
struct WgradDyF4_1d {  // A g: the 4-tap dy tile, 4 -> 6
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T g[4], T out[6]) const {
    out[0] = g[0];
    out[1] = g[0] + g[1] + g[2] + g[3];
    out[2] = g[0] - g[1] + g[2] - g[3];
    out[3] = g[0] + 2.f * g[1] + 4.f * g[2] + 8.f * g[3];
    out[4] = g[0] - 2.f * g[1] + 4.f * g[2] - 8.f * g[3];
    out[5] = g[3];
  }
};
struct WgradOutputF4_1d {  // G^T m: back to the 3 weight taps, 6 -> 3
  template <class T>
  MINIDL_HOST_DEVICE void operator()(const T m[6], T out[3]) const {
    out[0] = 0.25f * m[0] - (m[1] + m[2]) / 6.f + (m[3] + m[4]) / 24.f;
    out[1] = (m[2] - m[1]) / 6.f + (m[3] - m[4]) / 12.f;
    out[2] = (m[3] + m[4] - m[1] - m[2]) / 6.f + m[5];
  }
};

// Tap (r, q) of the 3x3 filter from output channel o to input channel c of a correlation,
// as an index into the layer's weights w [out][in][3][3] (`in_channels` its second
// dimension). Forward: w[o][c][r][q]. Backward-data runs as the forward formula on dy with the
// filters transposed and rotated by 180 degrees, w'[o][c][r][q] = w[c][o][2 - r][2 - q]: its
// o is a layer input channel and its c a layer output channel. Both devices' filter
// transforms read the taps through this one rule.
MINIDL_HOST_DEVICE inline int64_t filter_tap(int64_t o, int64_t c, int r, int q,
                                             int64_t in_channels, bool rotate_transpose) {
  return rotate_transpose ? (c * in_channels + o) * 9 + (2 - r) * 3 + (2 - q)
                          : (o * in_channels + c) * 9 + r * 3 + q;
}

// out = T in T^T for a 1-D transform T of In -> Out points: columns first, then rows.
// Value is a float, or on the CPU eight floats at once (kernels/cpu/vector8.h: eight tiles,
// one per vector lane, transformed by the same instructions); so are the 1-D transforms' T.
template <int In, int Out, class Transform1d, class Value>
MINIDL_HOST_DEVICE inline void transform_2d(const Value in[In][In], Value out[Out][Out],
                                            Transform1d t) {
  Value columns[Out][In];  // columns[o][j] = (T in)[o][j]
  for (int j = 0; j < In; ++j) {
    Value column[In], result[Out];
    for (int i = 0; i < In; ++i) column[i] = in[i][j];
    t(column, result);
    for (int o = 0; o < Out; ++o) columns[o][j] = result[o];
  }
  for (int o = 0; o < Out; ++o) t(columns[o], out[o]);
}

}  // namespace minidl::kernels::winograd
