// CPU convolution as im2col + GEMM (and, for 1x1 stride-1 kernels over large enough planes,
// one GEMM per image straight between the tensors: direct_1x1). Stride-1 3x3 layers go to
// Winograd (conv2d_winograd.cpp) by the rule in conv2d_plan below.
//
// im2col unrolls, for a chunk of `nb` images, every receptive field into one column of a
// matrix `cols` of shape [C*R*S, nb*P] (P = out_h*out_w output pixels per image):
//   cols[(c*R + r)*S + s][n*P + oh*OW + ow] = x[n][c][oh*stride - pad + r][ow*stride - pad + s]
// (zero outside the image; Conv2dShape::input_row and input_col are that geometry). Then,
// with W viewed as the matrix [K, C*R*S]:
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

#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/cpu/conv2d_winograd.h"
#include "minidl/kernels/gemm.h"

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

// Calls fn(first_image, image_count, thread) for every chunk, chunks spread over `threads`.
template <typename Fn>
void for_each_chunk(const Conv2dShape& s, int threads, Fn fn) {
  const int chunk = images_per_chunk(s, threads);
  const int chunks = (s.batch + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int c = 0; c < chunks; ++c) {
    fn(c * chunk, std::min(chunk, s.batch - c * chunk), omp_get_thread_num());
  }
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
        const int ih = s.input_row(oh, r);
        float* dst = out + int64_t(n) * P + oh * OW;
        if (ih < 0 || ih >= s.in_h) {
          std::fill(dst, dst + OW, 0.f);
          continue;
        }
        const float* src = plane + ih * s.in_w;
        for (int ow = 0; ow < OW; ++ow) {
          const int iw = s.input_col(ow, q);
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
          const int ih = s.input_row(oh, r);
          if (ih < 0 || ih >= s.in_h) continue;
          float* dst = plane + ih * s.in_w;
          const float* src = src_row + oh * OW;
          for (int ow = 0; ow < OW; ++ow) {
            const int iw = s.input_col(ow, q);
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

// A GEMM-lowered pass's workspace, per thread: im2col's columns, the product's [rows, nb*P]
// matrix, the GEMM's packing scratch (each thread multiplies on its own), and, in
// backward-weight, the thread's partial dW. conv2d_plan sizes it for plan.threads threads;
// the pass cuts it up the same way. (These were per-thread `thread_local` buffers, invisible
// to the allocator; reusing them across calls was measured to matter, and the caching
// allocator now does that reuse.)
struct ThreadScratch {
  int64_t cols = 0, matrix = 0, gemm = 0, partial = 0;  // floats of each part
  int64_t floats() const { return cols + matrix + gemm + partial; }
};

ThreadScratch thread_scratch(const Conv2dShape& s, Conv2dPass pass, bool direct, int threads) {
  const int P = s.out_h() * s.out_w(), K = s.out_channels, C = s.in_channels;
  const int CRS = C * s.kernel_h * s.kernel_w;
  // Direct 1x1 multiplies one image at a time straight between the tensors; the chunked path
  // multiplies nb images' columns at once (the GEMMs of a shorter last chunk need less).
  const int columns = direct ? P : images_per_chunk(s, threads) * P;
  ThreadScratch t;
  if (!direct) {
    t.cols = int64_t(CRS) * columns;
    t.matrix = int64_t(K) * columns;
  }
  switch (pass) {  // the GEMM each pass runs (see the file's comment), on one thread
    case Conv2dPass::Forward: t.gemm = gemm_workspace(K, columns, CRS, 1); break;
    case Conv2dPass::BackwardData: t.gemm = gemm_workspace(CRS, columns, K, 1); break;
    case Conv2dPass::BackwardWeight:
      t.gemm = gemm_workspace(K, CRS, columns, 1);
      t.partial = int64_t(K) * CRS;
      break;
  }
  return t;
}

// The CPU's part of checking a plan: its workspace is cut for plan.threads threads, and the
// GEMMs inside the passes run single-threaded only while OpenMP is set to that many (a GEMM
// in a team of one would otherwise split itself over threads the workspace has no room for).
void check_cpu_plan(const Conv2dPlan& plan, Conv2dPass pass, const float* workspace) {
  check_plan(plan, pass, workspace);
  if (plan.threads != omp_get_max_threads()) {
    throw std::invalid_argument("the plan was made for " + std::to_string(plan.threads) +
                                " OpenMP threads, and " + std::to_string(omp_get_max_threads()) +
                                " are set now: plan the pass again");
  }
}

// Thread `thread`'s parts of the workspace.
struct ThreadBuffers {
  float *cols, *matrix, *gemm, *partial;
};
ThreadBuffers buffers_of(const ThreadScratch& t, float* workspace, int thread) {
  float* base = workspace + thread * t.floats();
  return {base, base + t.cols, base + t.cols + t.matrix, base + t.cols + t.matrix + t.gemm};
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
  plan.threads = omp_get_max_threads();
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    plan.winograd_tile = requested.winograd_tile != 0 ? requested.winograd_tile : winograd_tile(s);
    plan.workspace = winograd_workspace(s, pass, plan.winograd_tile, plan.threads);
  } else {
    plan.gemm_direct = direct_1x1(s);
    plan.workspace =
        plan.threads * thread_scratch(s, pass, plan.gemm_direct, plan.threads).floats();
  }
  return plan;
}

void conv2d_forward(const Conv2dShape& s, const Conv2dPlan& plan, const float* x, const float* w,
                    const float* bias, float* y, float* workspace) {
  check_cpu_plan(plan, Conv2dPass::Forward, workspace);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_forward(s, x, w, bias, y, plan.winograd_tile, workspace, plan.threads);
    return;
  }
  const int P = s.out_h() * s.out_w();
  const int CRS = s.in_channels * s.kernel_h * s.kernel_w;
  const ThreadScratch scratch =
      thread_scratch(s, Conv2dPass::Forward, plan.gemm_direct, plan.threads);
  if (plan.gemm_direct) {
#pragma omp parallel for schedule(static) num_threads(plan.threads)
    for (int n = 0; n < s.batch; ++n) {
      float* y_n = y + int64_t(n) * s.out_channels * P;
      gemm(false, false, s.out_channels, P, s.in_channels, 1.f, w,
           x + int64_t(n) * s.in_channels * P, 0.f, y_n,
           buffers_of(scratch, workspace, omp_get_thread_num()).gemm);
      for (int k = 0; k < s.out_channels && bias; ++k) {
        for (int p = 0; p < P; ++p) y_n[int64_t(k) * P + p] += bias[k];
      }
    }
    return;
  }
  for_each_chunk(s, plan.threads, [&](int first, int nb, int thread) {
    const ThreadBuffers b = buffers_of(scratch, workspace, thread);
    im2col(s, x, first, nb, b.cols);
    gemm(false, false, s.out_channels, nb * P, CRS, 1.f, w, b.cols, 0.f, b.matrix, b.gemm);
    matrix_to_nchw(b.matrix, s.out_channels, P, first, nb, bias, y);
  });
}

void conv2d_backward_data(const Conv2dShape& s, const Conv2dPlan& plan, const float* dy,
                          const float* w, float* dx, float* workspace) {
  check_cpu_plan(plan, Conv2dPass::BackwardData, workspace);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_backward_data(s, dy, w, dx, plan.winograd_tile, workspace, plan.threads);
    return;
  }
  const int P = s.out_h() * s.out_w();
  const int CRS = s.in_channels * s.kernel_h * s.kernel_w;
  const ThreadScratch scratch =
      thread_scratch(s, Conv2dPass::BackwardData, plan.gemm_direct, plan.threads);
  if (plan.gemm_direct) {
#pragma omp parallel for schedule(static) num_threads(plan.threads)
    for (int n = 0; n < s.batch; ++n) {
      gemm(true, false, s.in_channels, P, s.out_channels, 1.f, w,
           dy + int64_t(n) * s.out_channels * P, 0.f, dx + int64_t(n) * s.in_channels * P,
           buffers_of(scratch, workspace, omp_get_thread_num()).gemm);
    }
    return;
  }
  for_each_chunk(s, plan.threads, [&](int first, int nb, int thread) {
    const ThreadBuffers b = buffers_of(scratch, workspace, thread);
    nchw_to_matrix(dy, s.out_channels, P, first, nb, b.matrix);
    gemm(true, false, CRS, nb * P, s.out_channels, 1.f, w, b.matrix, 0.f, b.cols, b.gemm);
    col2im(s, b.cols, first, nb, dx);
  });
}

void conv2d_backward_weight(const Conv2dShape& s, const Conv2dPlan& plan, const float* x,
                            const float* dy, float* dw, float* dbias, float* workspace) {
  check_cpu_plan(plan, Conv2dPass::BackwardWeight, workspace);
  if (dbias) bias_gradient(s, dy, dbias);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_backward_weight(s, x, dy, dw, plan.winograd_tile, workspace, plan.threads);
    return;
  }
  const int P = s.out_h() * s.out_w();
  const int CRS = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t w_size = int64_t(s.out_channels) * CRS;
  const int threads = plan.threads;
  const ThreadScratch scratch =
      thread_scratch(s, Conv2dPass::BackwardWeight, plan.gemm_direct, threads);
  // Each thread sums its chunks into its own partial dW; the partials are added in thread
  // order afterwards, so the result does not depend on timing.
  std::vector<char> started(threads, 0);
  for_each_chunk(s, threads, [&](int first, int nb, int thread) {
    const ThreadBuffers b = buffers_of(scratch, workspace, thread);
    if (plan.gemm_direct) {  // dW += dY_n X_n^T, image by image, straight from the tensors
      for (int n = first; n < first + nb; ++n) {
        gemm(false, true, s.out_channels, s.in_channels, P, 1.f,
             dy + int64_t(n) * s.out_channels * P, x + int64_t(n) * s.in_channels * P,
             started[thread] ? 1.f : 0.f, b.partial, b.gemm);
        started[thread] = 1;
      }
      return;
    }
    im2col(s, x, first, nb, b.cols);
    nchw_to_matrix(dy, s.out_channels, P, first, nb, b.matrix);
    gemm(false, true, s.out_channels, CRS, nb * P, 1.f, b.matrix, b.cols,
         started[thread] ? 1.f : 0.f, b.partial, b.gemm);
    started[thread] = 1;
  });
  std::vector<const float*> partials;  // the threads' partial dW that received a chunk
  for (int t = 0; t < threads; ++t) {
    if (started[t]) partials.push_back(buffers_of(scratch, workspace, t).partial);
  }
#pragma omp parallel for num_threads(threads)
  for (int64_t i = 0; i < w_size; ++i) {
    float total = 0.f;
    for (const float* partial : partials) total += partial[i];
    dw[i] = total;
  }
}

}  // namespace minidl::kernels::cpu
