// Winograd F(2x2, 3x3) convolution for 3x3 kernels with stride 1, the three passes
// (kernels/cuda/conv2d_winograd.cu). Internal to the CUDA backend: conv2d.cu chooses it.
#pragma once

#include <cstdint>

#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/cuda/implicit_gemm.cuh"

namespace minidl::kernels::cuda {

// Only the shapes winograd_supports (kernels/conv2d.h) accepts.

// The batched matrix multiply at the heart of a pass: 16 GEMMs (one per element of the
// transformed 4x4 tile), M x N, reducing over K.
GemmShape winograd_gemm_shape(const Conv2dShape& s, Conv2dPass pass);

// Floats of workspace: the transformed operands, the products, and the split-K partials.
int64_t winograd_workspace(const Conv2dShape& s, Conv2dPass pass, const GemmTiling& t);

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y, float* workspace, const GemmTiling& t);
void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                            float* workspace, const GemmTiling& t);
void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* workspace, const GemmTiling& t);

}  // namespace minidl::kernels::cuda
