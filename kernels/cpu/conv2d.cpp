// CPU convolution as im2col + GEMM (and, for 1x1 stride-1 kernels over large enough planes,
// one GEMM per image straight between the tensors: direct_1x1). Stride-1 3x3 layers go to
// Winograd (conv2d_winograd.cpp) by the rule in conv2d_plan below.
//
// im2col unrolls, for a chunk of `nb` images, every receptive field into one column of a
// matrix `cols` of shape [C*R*S, nb*P] (P = out_h*out_w output pixels per image):
//   cols[(c*R + r)*S + s][n*P + oh*OW + ow] = x[n][c][oh*stride - pad + r][ow*stride - pad + s]
// (zero outside the image). Then, with W viewed as the matrix [K, C*R*S]:
//   forward:          Y   = W   * cols      [K, nb*P]     then scattered to y[n][k][p]
//   backward-weight:  dW += dY  * cols^T    [K, C*R*S]
//   backward-data:    dcols = W^T * dY      [C*R*S, nb*P] then col2im adds it back into dx
// Why whole chunks of images rather than one image at a time: the reference model's late
// layers have 4 or 16 output pixels per image, and a GEMM with N = 4 runs far below peak.
// Chunks bound the size of `cols` (the stem at batch 128 would need 75 MB otherwise).
//
// Parallelism: the chunks are split across the OpenMP threads, each doing its own im2col and
// a single-threaded GEMM (kernels/cpu/gemm.cpp runs serially inside a parallel region). A
// first version let the GEMM (then Eigen's) split each product over the threads instead: it
// spent more time in thread synchronization than in arithmetic at these sizes. Backward-weight sums
// per-thread partial dW in a fixed order, so its result does not depend on timing.
#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_winograd.h"
#include "kernels/gemm.h"

namespace minidl::kernels::cpu {

namespace {

constexpr int64_t kMaxColsElements = 1 << 20;  // 4 MB of float scratch per chunk...
constexpr int64_t kMinColumns = 1024;          // ...unless the GEMM would get fewer columns

// Images per chunk: few enough that `cols` fits kMaxColsElements (the GEMM ran at up to half
// speed on the 16384-column products of 16 MB chunks: rows 64 KB apart collide in the caches),
// yet enough for kMinColumns GEMM columns (narrower products ran slower on the 4x4-pixel
// layers), and small enough that every thread gets the same number of chunks.
int images_per_chunk(const Conv2dShape& s, int threads) {
  const int64_t pixels = int64_t(s.out_h()) * s.out_w();
  const int64_t per_image = int64_t(s.in_channels) * s.kernel_h * s.kernel_w * pixels;
  const int64_t fit =
      std::max({kMaxColsElements / std::max<int64_t>(per_image, 1),
                (kMinColumns + pixels - 1) / std::max<int64_t>(pixels, 1), int64_t(1)});
  int64_t rounds = 1;  // chunks per thread
  while ((s.batch + threads * rounds - 1) / (threads * rounds) > fit) ++rounds;
  return static_cast<int>((s.batch + threads * rounds - 1) / (threads * rounds));
}

// Calls fn(first_image, image_count, thread) for every chunk, chunks spread over the threads.
template <typename Fn>
void for_each_chunk(const Conv2dShape& s, Fn fn) {
  const int threads = omp_get_max_threads();
  const int chunk = images_per_chunk(s, threads);
  const int chunks = (s.batch + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < chunks; ++c) {
    fn(c * chunk, std::min(chunk, s.batch - c * chunk), omp_get_thread_num());
  }
}

// Scratch reused across calls on the same thread: allocation is expensive on these machines.
std::vector<float>& scratch(int which, size_t elements) {
  thread_local std::vector<float> buffers[2];
  if (buffers[which].size() < elements) buffers[which].resize(elements);
  return buffers[which];
}

void im2col(const Conv2dShape& s, const float* x, int first, int nb, float* cols) {
  const int OH = s.out_h(), OW = s.out_w(), P = OH * OW;
  const int rows = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t width = int64_t(nb) * P;
  for (int row = 0; row < rows; ++row) {
    const int c = row / (s.kernel_h * s.kernel_w);
    const int r = (row / s.kernel_w) % s.kernel_h;
    const int q = row % s.kernel_w;
    float* out = cols + row * width;
    for (int n = 0; n < nb; ++n) {
      const float* plane = x + (int64_t(first + n) * s.in_channels + c) * s.in_h * s.in_w;
      for (int oh = 0; oh < OH; ++oh) {
        const int ih = oh * s.stride_h - s.pad_h + r;
        float* dst = out + int64_t(n) * P + oh * OW;
        if (ih < 0 || ih >= s.in_h) {
          std::fill(dst, dst + OW, 0.f);
          continue;
        }
        const float* src = plane + ih * s.in_w;
        for (int ow = 0; ow < OW; ++ow) {
          const int iw = ow * s.stride_w - s.pad_w + q;
          dst[ow] = (iw >= 0 && iw < s.in_w) ? src[iw] : 0.f;
        }
      }
    }
  }
}

// The adjoint of im2col: every column entry is added back to the pixel it was copied from.
void col2im(const Conv2dShape& s, const float* cols, int first, int nb, float* dx) {
  const int OH = s.out_h(), OW = s.out_w(), P = OH * OW;
  const int64_t width = int64_t(nb) * P;
  const int RS = s.kernel_h * s.kernel_w;
  for (int c = 0; c < s.in_channels; ++c) {
    for (int n = 0; n < nb; ++n) {
      float* plane = dx + (int64_t(first + n) * s.in_channels + c) * s.in_h * s.in_w;
      std::fill(plane, plane + s.in_h * s.in_w, 0.f);
      for (int rs = 0; rs < RS; ++rs) {
        const int r = rs / s.kernel_w, q = rs % s.kernel_w;
        const float* src_row = cols + int64_t(c * RS + rs) * width + int64_t(n) * P;
        for (int oh = 0; oh < OH; ++oh) {
          const int ih = oh * s.stride_h - s.pad_h + r;
          if (ih < 0 || ih >= s.in_h) continue;
          float* dst = plane + ih * s.in_w;
          const float* src = src_row + oh * OW;
          for (int ow = 0; ow < OW; ++ow) {
            const int iw = ow * s.stride_w - s.pad_w + q;
            if (iw >= 0 && iw < s.in_w) dst[iw] += src[ow];
          }
        }
      }
    }
  }
}

// [K, nb*P] matrix <-> the nb images' [K, P] planes of an NCHW tensor.
void matrix_to_nchw(const float* mat, int K, int P, int first, int nb, const float* bias,
                    float* y) {
  for (int n = 0; n < nb; ++n) {
    for (int k = 0; k < K; ++k) {
      const float* src = mat + int64_t(k) * nb * P + int64_t(n) * P;
      float* dst = y + (int64_t(first + n) * K + k) * P;
      const float b = bias ? bias[k] : 0.f;
      for (int p = 0; p < P; ++p) dst[p] = src[p] + b;
    }
  }
}

void nchw_to_matrix(const float* y, int K, int P, int first, int nb, float* mat) {
  for (int n = 0; n < nb; ++n) {
    for (int k = 0; k < K; ++k) {
      std::copy_n(y + (int64_t(first + n) * K + k) * P, P,
                  mat + int64_t(k) * nb * P + int64_t(n) * P);
    }
  }
}

// dbias[k] = the sum of dy over images and pixels (double accumulation).
void bias_gradient(const Conv2dShape& s, const float* dy, float* dbias) {
  const int P = s.out_h() * s.out_w();
#pragma omp parallel for
  for (int k = 0; k < s.out_channels; ++k) {
    double total = 0.0;
    for (int n = 0; n < s.batch; ++n) {
      const float* plane = dy + (int64_t(n) * s.out_channels + k) * P;
      for (int p = 0; p < P; ++p) total += plane[p];
    }
    dbias[k] = static_cast<float>(total);
  }
}

// 1x1 kernels with stride 1 and no padding over planes of at least kDirectMinPixels: an
// image's input planes already are the [C, P] matrix im2col would build (and its output
// planes the [K, P] result), so each image is one GEMM straight between the tensors, with no
// copies. Smaller planes keep the chunked path: a GEMM with N = 4 runs far below peak.
bool direct_1x1(const Conv2dShape& s) {
  constexpr int kDirectMinPixels = 64;
  return s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
         s.pad_w == 0 && s.out_h() * s.out_w() >= kDirectMinPixels;
}

}  // namespace

// The rule: Winograd for every 3x3 stride-1 kernel it supports with at least
// kWinogradMinChannels input and output channels, in all three passes (measured with
// bench_conv2d_cpu: 1.4-2x faster than im2col + GEMM on the reference model's stride-1
// layers when it was introduced, more since; docs/benchmarks.md), in 4x4 tiles when the output
// is at least 4x4 (kernels/cpu/conv2d_winograd.h); im2col + GEMM for the rest, straight
// between the tensors for 1x1 stride-1 kernels over enough pixels (direct_1x1). The tiling
// fields are CUDA's and must stay 0.
Conv2dPlan conv2d_plan(const Conv2dShape& s, Conv2dPass pass, Conv2dPlan requested) {
  constexpr int kWinogradMinChannels = 16;  // CUDA's is 64 (kernels/cuda/conv2d.cu)
  if (requested.tile_m != 0 || requested.tile_n != 0 || requested.slices != 0) {
    throw std::invalid_argument(
        "the CPU has no GEMM tiling to choose: tile_m, tile_n and slices must be 0, got " +
        std::to_string(requested.tile_m) + "x" + std::to_string(requested.tile_n) + " split " +
        std::to_string(requested.slices));
  }
  if (requested.winograd_tile != 0 && requested.winograd_tile != 2 &&
      requested.winograd_tile != 4) {
    throw std::invalid_argument(
        "the CPU's Winograd tiles are 2 (F(2x2, 3x3)) and 4 (F(4x4, 3x3)), got " +
        std::to_string(requested.winograd_tile));
  }
  if (requested.algorithm == Conv2dAlgorithm::Winograd && !winograd_supports(s)) {
    throw std::invalid_argument(winograd_refusal(s));
  }
  Conv2dPlan plan;
  plan.pass = pass;
  plan.algorithm = requested.algorithm;
  if (plan.algorithm == Conv2dAlgorithm::Auto) {
    const bool winograd = winograd_supports(s) && s.in_channels >= kWinogradMinChannels &&
                          s.out_channels >= kWinogradMinChannels;
    plan.algorithm = winograd ? Conv2dAlgorithm::Winograd : Conv2dAlgorithm::Gemm;
  }
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    plan.winograd_tile = requested.winograd_tile != 0 ? requested.winograd_tile : winograd_tile(s);
  } else {
    plan.gemm_direct = direct_1x1(s);
  }
  plan.threads = omp_get_max_threads();
  return plan;
}

void conv2d_forward(const Conv2dShape& s, const Conv2dPlan& plan, const float* x, const float* w,
                    const float* bias, float* y, float* workspace) {
  check_plan(plan, Conv2dPass::Forward, workspace);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_forward(s, x, w, bias, y, plan.winograd_tile);
    return;
  }
  const int P = s.out_h() * s.out_w();
  const int CRS = s.in_channels * s.kernel_h * s.kernel_w;
  if (plan.gemm_direct) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.batch; ++n) {
      float* y_n = y + int64_t(n) * s.out_channels * P;
      gemm(false, false, s.out_channels, P, s.in_channels, 1.f, w,
           x + int64_t(n) * s.in_channels * P, 0.f, y_n);
      for (int k = 0; k < s.out_channels && bias; ++k) {
        for (int p = 0; p < P; ++p) y_n[int64_t(k) * P + p] += bias[k];
      }
    }
    return;
  }
  for_each_chunk(s, [&](int first, int nb, int) {
    float* cols = scratch(0, size_t(CRS) * nb * P).data();
    float* out = scratch(1, size_t(s.out_channels) * nb * P).data();
    im2col(s, x, first, nb, cols);
    gemm(false, false, s.out_channels, nb * P, CRS, 1.f, w, cols, 0.f, out);
    matrix_to_nchw(out, s.out_channels, P, first, nb, bias, y);
  });
}

void conv2d_backward_data(const Conv2dShape& s, const Conv2dPlan& plan, const float* dy,
                          const float* w, float* dx, float* workspace) {
  check_plan(plan, Conv2dPass::BackwardData, workspace);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_backward_data(s, dy, w, dx, plan.winograd_tile);
    return;
  }
  const int P = s.out_h() * s.out_w();
  const int CRS = s.in_channels * s.kernel_h * s.kernel_w;
  if (plan.gemm_direct) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s.batch; ++n) {
      gemm(true, false, s.in_channels, P, s.out_channels, 1.f, w,
           dy + int64_t(n) * s.out_channels * P, 0.f, dx + int64_t(n) * s.in_channels * P);
    }
    return;
  }
  for_each_chunk(s, [&](int first, int nb, int) {
    float* dcols = scratch(0, size_t(CRS) * nb * P).data();
    float* dy_mat = scratch(1, size_t(s.out_channels) * nb * P).data();
    nchw_to_matrix(dy, s.out_channels, P, first, nb, dy_mat);
    gemm(true, false, CRS, nb * P, s.out_channels, 1.f, w, dy_mat, 0.f, dcols);
    col2im(s, dcols, first, nb, dx);
  });
}

void conv2d_backward_weight(const Conv2dShape& s, const Conv2dPlan& plan, const float* x,
                            const float* dy, float* dw, float* dbias, float* workspace) {
  check_plan(plan, Conv2dPass::BackwardWeight, workspace);
  if (dbias) bias_gradient(s, dy, dbias);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_backward_weight(s, x, dy, dw, plan.winograd_tile);
    return;
  }
  const int P = s.out_h() * s.out_w();
  const int CRS = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t w_size = int64_t(s.out_channels) * CRS;
  const int threads = omp_get_max_threads();
  // One partial dW per thread, owned by the calling thread and reused across calls.
  thread_local std::vector<float> partials;
  if (partials.size() < size_t(threads * w_size)) partials.resize(threads * w_size);
  float* partial = partials.data();  // the worker threads must not name the thread_local
  std::vector<char> started(threads, 0);
  for_each_chunk(s, [&](int first, int nb, int thread) {
    if (plan.gemm_direct) {  // dW += dY_n X_n^T, image by image, straight from the tensors
      for (int n = first; n < first + nb; ++n) {
        gemm(false, true, s.out_channels, s.in_channels, P, 1.f,
             dy + int64_t(n) * s.out_channels * P, x + int64_t(n) * s.in_channels * P,
             started[thread] ? 1.f : 0.f, partial + thread * w_size);
        started[thread] = 1;
      }
      return;
    }
    float* cols = scratch(0, size_t(CRS) * nb * P).data();
    float* dy_mat = scratch(1, size_t(s.out_channels) * nb * P).data();
    im2col(s, x, first, nb, cols);
    nchw_to_matrix(dy, s.out_channels, P, first, nb, dy_mat);
    gemm(false, true, s.out_channels, CRS, nb * P, 1.f, dy_mat, cols, started[thread] ? 1.f : 0.f,
         partial + thread * w_size);
    started[thread] = 1;
  });
#pragma omp parallel for
  for (int64_t i = 0; i < w_size; ++i) {
    float total = 0.f;
    for (int t = 0; t < threads; ++t) total += started[t] ? partial[t * w_size + i] : 0.f;
    dw[i] = total;
  }
}

}  // namespace minidl::kernels::cpu
