// CPU Winograd convolution for 3x3 kernels with stride 1, the three passes
// (kernels/cpu/conv2d_winograd.cpp). Internal to the CPU backend: conv2d.cpp chooses it.
#pragma once

#include <cstdint>

#include "minidl/kernels/conv2d.h"

namespace minidl::kernels::cpu {

// The tile: F(4x4, 3x3) (backward-weight: F(3x3, 4x4)) has 1.78x fewer multiplications and
// transformed values per output than F(2x2, 3x3) (F(3x3, 2x2)) but wastes most of a tile on
// planes under 4 pixels a side. winograd_tile() is the rule conv2d_plan applies: 4 (the 4x4
// tile) when the convolution's output is at least 4x4, else 2. `tile` below is 2 or 4.
int winograd_tile(const Conv2dShape& s);

// Floats of scratch memory a pass needs with that tile on `threads` OpenMP threads (the passes
// run on exactly that many, each using its own part).
int64_t winograd_workspace(const Conv2dShape& s, Conv2dPass pass, int tile, int threads);

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y, int tile, float* workspace, int threads);
void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                            int tile, float* workspace, int threads);
void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              int tile, float* workspace, int threads);

}  // namespace minidl::kernels::cpu
