// CUDA pooling on NCHW arrays: max and average over square windows, and the global average.
//
// Decomposition. Every kernel here is a 1-D grid of 256-thread blocks with a grid-stride loop
// over a flat index, as in elementwise.cu:
//   - the window forwards give one thread per OUTPUT: it decodes (plane, oh, ow) from its flat
//     index and walks its kernel x kernel window (row by row, so the max's argmax is the first
//     maximum in row order, and a padded position is skipped, never a candidate);
//   - the window backwards give one thread per INPUT element and GATHER: the thread finds the
//     range of outputs whose window covers its element and adds up their gradients. No two
//     threads write the same element, so there are no atomics, and each element sums its
//     contributions in a fixed order (row-major output order), so results are bitwise
//     reproducible. Scattering instead (one thread per output, atomicAdd into dx) would add
//     in whatever order the threads happen to run, which changes the float result.
//   - global average pooling forward gives one warp per (image, channel) plane: the 32 lanes
//     stride over the plane and combine their partial sums with a shuffle tree; backward is
//     elementwise (every input of a plane gets dy / spatial).
//
// Memory access. Consecutive threads take consecutive flat indices, which are neighbouring
// columns of one row, so their reads of x (forward) or dy/argmax (backward) fall in the same
// or adjacent cache lines and their writes are fully coalesced. Windows of neighbouring
// outputs overlap when stride < kernel; the overlap is served by L1/L2, not reread from DRAM.
//
// Which outputs cover input row ih? Output row oh starts its window at oh * stride - pad and
// covers kernel rows, so it covers ih when oh * stride - pad <= ih <= oh * stride - pad +
// kernel - 1, i.e. for oh from ceil((ih + pad - kernel + 1) / stride) to floor((ih + pad) /
// stride), clipped to [0, out_h); the same holds for columns. With stride > kernel some input
// elements are covered by no window: the range is empty and their gradient is 0.
#include <cmath>

#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/pooling.h"

namespace minidl::kernels::cuda {

namespace {

// The first output row (or column) whose window covers input row `i`: the first o with
// o * stride - pad + kernel - 1 >= i, i.e. o * stride > i + pad - kernel (see the header).
__device__ int first_covering(int i, const Pool2dShape& s) {
  const int bound = i + s.pad - s.kernel;
  return bound < 0 ? 0 : bound / s.stride + 1;  // integer division rounds down for bound >= 0
}
// The last one, clipped to the `count` outputs.
__device__ int last_covering(int i, const Pool2dShape& s, int count) {
  const int last = (i + s.pad) / s.stride;
  return last < count - 1 ? last : count - 1;
}

__global__ void max_pool2d_forward_kernel(Pool2dShape s, int out_h, int out_w, const float* x,
                                          float* y, int32_t* argmax) {
  const int64_t n = int64_t(s.batch) * s.channels * out_h * out_w;
  for (int64_t o = first_index(); o < n; o += grid_stride()) {
    const int ow = int(o % out_w), oh = int(o / out_w % out_h);
    const int64_t plane = o / (int64_t(out_w) * out_h);
    const float* in = x + plane * s.in_h * s.in_w;
    max_pool_window(s, in, oh, ow, &y[o], &argmax[o]);
  }
}

// dx[element] = sum of dy[o] over the covering outputs o whose argmax is this element.
__global__ void max_pool2d_backward_kernel(Pool2dShape s, int out_h, int out_w, const float* dy,
                                           const int32_t* argmax, float* dx) {
  const int64_t n = int64_t(s.batch) * s.channels * s.in_h * s.in_w;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int iw = int(i % s.in_w), ih = int(i / s.in_w % s.in_h);
    const int64_t plane = i / (int64_t(s.in_w) * s.in_h);
    const int32_t self = ih * s.in_w + iw;
    const int64_t out_base = plane * out_h * out_w;
    float total = 0.f;
    const int oh_first = first_covering(ih, s), oh_last = last_covering(ih, s, out_h);
    const int ow_first = first_covering(iw, s), ow_last = last_covering(iw, s, out_w);
    for (int oh = oh_first; oh <= oh_last; ++oh) {
      for (int ow = ow_first; ow <= ow_last; ++ow) {
        const int64_t o = out_base + int64_t(oh) * out_w + ow;
        if (argmax[o] == self) total += dy[o];
      }
    }
    dx[i] = total;
  }
}

// count_include_pad: the divisor is always kernel * kernel.
__global__ void avg_pool2d_forward_kernel(Pool2dShape s, int out_h, int out_w, const float* x,
                                          float* y) {
  const int64_t n = int64_t(s.batch) * s.channels * out_h * out_w;
  for (int64_t o = first_index(); o < n; o += grid_stride()) {
    const int ow = int(o % out_w), oh = int(o / out_w % out_h);
    const int64_t plane = o / (int64_t(out_w) * out_h);
    y[o] = avg_pool_window(s, x + plane * s.in_h * s.in_w, oh, ow);
  }
}

// dx[element] = sum over the covering outputs o of dy[o] / (kernel * kernel).
__global__ void avg_pool2d_backward_kernel(Pool2dShape s, int out_h, int out_w, const float* dy,
                                           float* dx) {
  const float inv_area = 1.f / float(s.kernel * s.kernel);
  const int64_t n = int64_t(s.batch) * s.channels * s.in_h * s.in_w;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int iw = int(i % s.in_w), ih = int(i / s.in_w % s.in_h);
    const int64_t plane = i / (int64_t(s.in_w) * s.in_h);
    const int64_t out_base = plane * out_h * out_w;
    float total = 0.f;
    const int oh_first = first_covering(ih, s), oh_last = last_covering(ih, s, out_h);
    const int ow_first = first_covering(iw, s), ow_last = last_covering(iw, s, out_w);
    for (int oh = oh_first; oh <= oh_last; ++oh) {
      for (int ow = ow_first; ow <= ow_last; ++ow) {
        total += dy[out_base + int64_t(oh) * out_w + ow] * inv_area;
      }
    }
    dx[i] = total;
  }
}

// One warp per plane; the warps of the grid stride over the planes. `plane` is the same for
// all lanes of a warp, so every lane reaches every shuffle.
__global__ void global_avg_pool_forward_kernel(int64_t planes, int64_t spatial, const float* x,
                                               float* y) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t warps = grid_stride() / kWarpSize;
  for (int64_t plane = first_index() / kWarpSize; plane < planes; plane += warps) {
    float total = 0.f;
    for (int64_t i = lane; i < spatial; i += kWarpSize) total += x[plane * spatial + i];
    total = warp_sum(total);
    if (lane == 0) y[plane] = total / float(spatial);
  }
}

__global__ void global_avg_pool_backward_kernel(int64_t planes, int64_t spatial, const float* dy,
                                                float* dx) {
  const int64_t n = planes * spatial;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    dx[i] = dy[i / spatial] / float(spatial);
  }
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
  const int out_h = s.out_h(), out_w = s.out_w();
  launch("max_pool2d_forward", max_pool2d_forward_kernel, grid_for(s.planes() * out_h * out_w),
         kBlockSize, s, out_h, out_w, x, y, argmax);
}

void max_pool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx) {
  launch("max_pool2d_backward", max_pool2d_backward_kernel, grid_for(s.planes() * s.in_h * s.in_w),
         kBlockSize, s, s.out_h(), s.out_w(), dy, argmax, dx);
}

void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const int out_h = s.out_h(), out_w = s.out_w();
  launch("avg_pool2d_forward", avg_pool2d_forward_kernel, grid_for(s.planes() * out_h * out_w),
         kBlockSize, s, out_h, out_w, x, y);
}

void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
  launch("avg_pool2d_backward", avg_pool2d_backward_kernel, grid_for(s.planes() * s.in_h * s.in_w),
         kBlockSize, s, s.out_h(), s.out_w(), dy, dx);
}

void global_avg_pool_forward(int64_t planes, int64_t spatial, const float* x, float* y) {
  launch("global_avg_pool_forward", global_avg_pool_forward_kernel, grid_for(planes * kWarpSize),
         kBlockSize, planes, spatial, x, y);
}

void global_avg_pool_backward(int64_t planes, int64_t spatial, const float* dy, float* dx) {
  launch("global_avg_pool_backward", global_avg_pool_backward_kernel, grid_for(planes * spatial),
         kBlockSize, planes, spatial, dy, dx);
}

}  // namespace minidl::kernels::cuda
