// CPU Winograd convolution for 3x3 kernels with stride 1, the three passes
// (kernels/cpu/conv2d_winograd.cpp). Internal to the CPU backend: conv2d.cpp chooses it.
#pragma once

#include "kernels/conv2d.h"

namespace minidl::kernels::cpu {

// The tile: F(4x4, 3x3) (backward-weight: F(3x3, 4x4)) has 1.78x fewer multiplications and
// transformed values per output than F(2x2, 3x3) (F(3x3, 2x2)) but wastes most of a tile on
// planes under 4 pixels a side. winograd_tile() is the rule: the 4x4 tile when the
// convolution's output is at least 4x4.
enum class WinogradTile { F2x2, F4x4 };
WinogradTile winograd_tile(const Conv2dShape& s);

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y, WinogradTile tile);
void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                            WinogradTile tile);
void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              WinogradTile tile);

}  // namespace minidl::kernels::cpu
