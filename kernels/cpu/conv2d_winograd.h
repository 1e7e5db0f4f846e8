// CPU Winograd F(2x2, 3x3) convolution for 3x3 kernels with stride 1, the three passes
// (kernels/cpu/conv2d_winograd.cpp). Internal to the CPU backend: conv2d.cpp chooses it.
#pragma once

#include "kernels/conv2d.h"

namespace minidl::kernels::cpu {

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y);
void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);

}  // namespace minidl::kernels::cpu
