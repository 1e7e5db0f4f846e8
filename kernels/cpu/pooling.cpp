// CPU pooling: one (image, channel) plane per OpenMP iteration; planes are independent, so
// the backward passes can scatter into their own plane without races.
#include <algorithm>

#include "minidl/kernels/pooling.h"

namespace minidl::kernels::cpu {

namespace {

// The 2x2 window of stride 2 without padding, the pool of VGG-style networks (FastNet pools
// 512 x 64 x 31 x 31 floats per step with it). Every window lies inside the plane, so its four
// candidates are compared in row order by the rule of max_pool_replaces, written as selects
// without bounds checks, which the compiler vectorizes along the output row. The general loop
// below (max_pool_window) took 7% of FastNet's CPU step for this (profile_fastnet_batch512.txt).
void max_pool_2x2_plane(const Pool2dShape& s, const float* in, float* y, int32_t* argmax) {
  const int OH = s.out_h(), OW = s.out_w();
  for (int oh = 0; oh < OH; ++oh) {
    const float* top = in + int64_t(2 * oh) * s.in_w;
    const float* bottom = top + s.in_w;
    float* out = y + int64_t(oh) * OW;
    int32_t* winner = argmax + int64_t(oh) * OW;
    const int32_t top_row = 2 * oh * s.in_w, bottom_row = top_row + s.in_w;
#pragma omp simd
    for (int ow = 0; ow < OW; ++ow) {
      const int c = 2 * ow;
      float best = top[c];
      int32_t at = top_row + c;
      if (max_pool_replaces(top[c + 1], best)) best = top[c + 1], at = top_row + c + 1;
      if (max_pool_replaces(bottom[c], best)) best = bottom[c], at = bottom_row + c;
      if (max_pool_replaces(bottom[c + 1], best)) best = bottom[c + 1], at = bottom_row + c + 1;
      out[ow] = best;
      winner[ow] = at;
    }
  }
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
  const int OH = s.out_h(), OW = s.out_w();
  const bool two_by_two = s.kernel == 2 && s.stride == 2 && s.pad == 0;
#pragma omp parallel for
  for (int64_t plane = 0; plane < s.planes(); ++plane) {
    const float* in = x + plane * s.in_h * s.in_w;
    if (two_by_two) {
      max_pool_2x2_plane(s, in, y + plane * OH * OW, argmax + plane * OH * OW);
      continue;
    }
    for (int oh = 0; oh < OH; ++oh) {
      for (int ow = 0; ow < OW; ++ow) {
        const int64_t out = (plane * OH + oh) * OW + ow;
        max_pool_window(s, in, oh, ow, &y[out], &argmax[out]);
      }
    }
  }
}

void max_pool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t out_plane = int64_t(s.out_h()) * s.out_w(), in_plane = int64_t(s.in_h) * s.in_w;
#pragma omp parallel for
  for (int64_t plane = 0; plane < s.planes(); ++plane) {
    float* grad = dx + plane * in_plane;
    std::fill(grad, grad + in_plane, 0.f);
    for (int64_t o = 0; o < out_plane; ++o) {
      const int32_t winner = argmax[plane * out_plane + o];
      if (winner >= 0) grad[winner] += dy[plane * out_plane + o];
    }
  }
}

void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const int OH = s.out_h(), OW = s.out_w();
#pragma omp parallel for
  for (int64_t plane = 0; plane < s.planes(); ++plane) {
    const float* in = x + plane * s.in_h * s.in_w;
    for (int oh = 0; oh < OH; ++oh) {
      for (int ow = 0; ow < OW; ++ow)
        y[(plane * OH + oh) * OW + ow] = avg_pool_window(s, in, oh, ow);
    }
  }
}

void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
  const int OH = s.out_h(), OW = s.out_w();
  const float inv_area = 1.f / float(s.kernel * s.kernel);
#pragma omp parallel for
  for (int64_t plane = 0; plane < s.planes(); ++plane) {
    float* grad = dx + plane * s.in_h * s.in_w;
    std::fill(grad, grad + s.in_h * s.in_w, 0.f);
    for (int oh = 0; oh < OH; ++oh) {
      for (int ow = 0; ow < OW; ++ow) {
        const float share = dy[(plane * OH + oh) * OW + ow] * inv_area;
        for (int r = 0; r < s.kernel; ++r) {
          const int ih = oh * s.stride - s.pad + r;
          if (ih < 0 || ih >= s.in_h) continue;
          for (int q = 0; q < s.kernel; ++q) {
            const int iw = ow * s.stride - s.pad + q;
            if (iw >= 0 && iw < s.in_w) grad[ih * s.in_w + iw] += share;
          }
        }
      }
    }
  }
}

void global_avg_pool_forward(int64_t planes, int64_t spatial, const float* x, float* y) {
#pragma omp parallel for if (planes * spatial > (1 << 15))
  for (int64_t p = 0; p < planes; ++p) {
    float total = 0.f;
    for (int64_t i = 0; i < spatial; ++i) total += x[p * spatial + i];
    y[p] = total / float(spatial);
  }
}

void global_avg_pool_backward(int64_t planes, int64_t spatial, const float* dy, float* dx) {
#pragma omp parallel for if (planes * spatial > (1 << 15))
  for (int64_t p = 0; p < planes; ++p) {
    const float share = dy[p] / float(spatial);
    for (int64_t i = 0; i < spatial; ++i) dx[p * spatial + i] = share;
  }
}

}  // namespace minidl::kernels::cpu
