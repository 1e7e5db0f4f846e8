// Convolution v0 on the CPU: the loop nest of the definition (kernels/conv2d_direct.h), one
// iteration per element of the result. Each element is written by exactly one iteration, so
// the outer loops are split over the OpenMP threads without any reduction; the fast
// algorithms (kernels/cpu/conv2d.cpp, kernels/cpu/conv2d_winograd.cpp) use the same threads,
// so the benchmark's rows compare algorithms, not thread counts.
#include "minidl/kernels/conv2d_direct.h"

#include "minidl/kernels/elementwise.h"

namespace minidl::kernels::cpu {

void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                           float* y) {
  const int out_h = s.out_h(), out_w = s.out_w();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < s.batch; ++n) {
    for (int k = 0; k < s.out_channels; ++k) {
      float* out = y + (int64_t(n) * s.out_channels + k) * out_h * out_w;
      for (int oh = 0; oh < out_h; ++oh) {
        for (int ow = 0; ow < out_w; ++ow) {
          out[oh * out_w + ow] =
              conv2d_direct_output(s, x, w, n, k, oh, ow) + (bias ? bias[k] : 0.f);
        }
      }
    }
  }
}

void conv2d_backward_data_direct(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < s.batch; ++n) {
    for (int c = 0; c < s.in_channels; ++c) {
      float* grad = dx + (int64_t(n) * s.in_channels + c) * s.in_h * s.in_w;
      for (int ih = 0; ih < s.in_h; ++ih) {
        for (int iw = 0; iw < s.in_w; ++iw) {
          grad[ih * s.in_w + iw] = conv2d_direct_input_grad(s, dy, w, n, c, ih, iw);
        }
      }
    }
  }
}

void conv2d_backward_weight_direct(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                   float* dbias) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int k = 0; k < s.out_channels; ++k) {
    for (int c = 0; c < s.in_channels; ++c) {
      float* grad = dw + (int64_t(k) * s.in_channels + c) * s.kernel_h * s.kernel_w;
      for (int r = 0; r < s.kernel_h; ++r) {
        for (int q = 0; q < s.kernel_w; ++q) {
          grad[r * s.kernel_w + q] = conv2d_direct_weight_grad(s, x, dy, k, c, r, q);
        }
      }
    }
  }
  if (dbias) channel_sum(s.batch, s.out_channels, int64_t(s.out_h()) * s.out_w(), dy, dbias);
}

}  // namespace minidl::kernels::cpu
