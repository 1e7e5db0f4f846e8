// Convolution version 1 on CUDA, the teaching path's second stop: every pass as a matrix
// product C = A * B over implicit matrices (nothing like im2col is stored), computed by one
// tiled kernel with 64x64 tiles of C in shared memory and a 4x4 register block per thread
// (kernels/cuda/conv2d_tiled.cu; the repository's first fast CUDA convolution, kept readable).
// The "v1 tiled" row of bench/bench_conv2d_cuda; the library's own kernels
// (kernels/cuda/implicit_gemm.cuh, kernels/cuda/conv2d.cu) grew out of it.
//
// Reference: tests/reference/conv2d.cpp (tests/test_cuda_teaching.cpp). Device pointers;
// outputs overwritten; bias and dbias may be null. Backward-weight splits its long reduction
// into slices summed in a fixed order in `workspace`, of conv2d_backward_weight_tiled_workspace
// floats (null when that is 0).
#pragma once

#include <cstdint>

#include "minidl/kernels/conv2d.h"

namespace minidl::kernels::cuda {

void conv2d_forward_tiled(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          float* y);
void conv2d_backward_data_tiled(const Conv2dShape& s, const float* dy, const float* w, float* dx);
int64_t conv2d_backward_weight_tiled_workspace(const Conv2dShape& s);
void conv2d_backward_weight_tiled(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                  float* dbias, float* workspace);

}  // namespace minidl::kernels::cuda
