// CUDA convolution: each pass is an implicit GEMM (kernels/cuda/implicit_gemm.cuh), and this
// file says what the matrices are. Nothing is materialized: every element of A and B is read
// straight from the NCHW tensors. 3x3 stride-1 layers with enough channels go to Winograd
// instead (kernels/cuda/conv2d_winograd.cu); conv2d_plan() below decides.
//
//   pass             C [M x N]              A [M x K]             B [K x N]
//   forward          y  [K_out, batch*P]    w [K_out, C*R*S]      im2col(x) [C*R*S, batch*P]
//   backward-data    dx [C, batch*H*W]      w^T over the phase's  dy at the pixels that
//                    per phase              taps [C, K_out*taps]  reach the phase [.., ..]
//   backward-weight  dw [K_out, C*R*S]      dy [K_out, batch*P]   im2col(x)^T [batch*P, C*R*S]
// (P = out_h * out_w output pixels per image; R x S the kernel.)
//
// Backward-data with stride > 1: input pixel ih receives from output row oh through kernel
// row r only when ih + pad - r is a multiple of the stride. Pixels with the same ih % stride
// (a "phase") all use the same kernel rows, so each phase is its own dense GEMM over only the
// taps that reach it: with stride 2 and a 3x3 kernel the four phases use 1, 2, 2 and 4 taps
// instead of 9, so no multiplication by a structural zero is done (the first kernel did 4x
// the necessary work there). The phases run as groups of one launch.
#include "minidl/kernels/conv2d.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "minidl/kernels/cuda/conv2d_winograd.cuh"
#include "minidl/kernels/cuda/fast_divmod.cuh"
#include "minidl/kernels/cuda/implicit_gemm.cuh"
#include "minidl/kernels/elementwise.h"

namespace minidl::kernels::cuda {

__global__ void sum_slices_kernel(int64_t n, int slices, const float* workspace, float* out,
                                  const float* bias, int channels, int plane) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float total = 0.f;
    for (int z = 0; z < slices; ++z) total += workspace[z * n + i];  // fixed order
    out[i] = total + (bias ? bias[(i / plane) % channels] : 0.f);
  }
}

namespace {

// A pointer with the bounds of the image plane it walks (im2col reads outside are zeros).
struct PlaneCursor {
  const float* base;
  int h, w;  // top-left position the kernel offsets are added to
};

__device__ inline bool outside(int h, int w, int height, int width) {
  return unsigned(h) >= unsigned(height) || unsigned(w) >= unsigned(width);
}

// ---- forward: y = w * im2col(x) ----------------------------------------------------------------
struct ForwardGemm {
  static constexpr bool kAContiguousK = true;   // weight rows
  static constexpr bool kBContiguousK = false;  // neighbouring columns = neighbouring pixels
  const float* x;
  const float* w;
  int M, N, K;
  int in_h, in_w, in_plane, in_image, stride_h, stride_w, pad_h, pad_w, pixels;
  FastDivmod by_pixels, by_out_w, by_kernel_area, by_kernel_w;
  int64_t c_row_stride;

  __device__ const ForwardGemm& group(int) const { return *this; }
  __device__ const float* a_line(int m) const { return w + int64_t(m) * K; }
  __device__ float a_load(const float* row, int k) const { return row[k]; }
  __device__ PlaneCursor b_line(int n) const {
    int image, p, oh, ow;
    by_pixels.divmod(n, image, p);
    by_out_w.divmod(p, oh, ow);
    return {x + int64_t(image) * in_image, oh * stride_h - pad_h, ow * stride_w - pad_w};
  }
  __device__ float b_load(const PlaneCursor& at, int k) const {
    int c, rs, r, s;
    by_kernel_area.divmod(k, c, rs);
    by_kernel_w.divmod(rs, r, s);
    const int h = at.h + r, wc = at.w + s;
    return outside(h, wc, in_h, in_w) ? 0.f : at.base[c * in_plane + h * in_w + wc];
  }
  __device__ int64_t c_column(int n) const {  // y[image][m][p]
    int image, p;
    by_pixels.divmod(n, image, p);
    return int64_t(image) * M * pixels + p;
  }
};

// ---- backward-data: dx = w^T * dy, one group per stride phase ----------------------------------
struct BackwardDataPhase {  // one phase's GEMM (the layout flags are BackwardDataGemm's)
  int M, N, K;
  const float* dy;
  const float* w;
  // The phase's taps: kernel row r = first_r + stride_h * tr, column s = first_s + stride_w * ts.
  int kernel_area, kernel_w, first_r, first_s, stride_h, stride_w;
  int base_h, base_w, out_h, out_w, out_plane, dy_image, w_filter;
  int phase_h, phase_w, in_w, dx_image;
  FastDivmod by_taps, by_taps_w, by_phase_pixels, by_phase_w;
  int64_t c_row_stride;

  __device__ const float* a_line(int c) const { return w + int64_t(c) * kernel_area; }
  __device__ float a_load(const float* filter_c, int k) const {
    int k_out, tap, tr, ts;
    by_taps.divmod(k, k_out, tap);
    by_taps_w.divmod(tap, tr, ts);
    return filter_c[int64_t(k_out) * w_filter + (first_r + stride_h * tr) * kernel_w + first_s +
                    stride_w * ts];
  }
  __device__ PlaneCursor b_line(int n) const {  // n = (image, i, j): input pixel of this phase
    int image, q, i, j;
    by_phase_pixels.divmod(n, image, q);
    by_phase_w.divmod(q, i, j);
    return {dy + int64_t(image) * dy_image, i + base_h, j + base_w};
  }
  __device__ float b_load(const PlaneCursor& at, int k) const {
    int k_out, tap, tr, ts;
    by_taps.divmod(k, k_out, tap);
    by_taps_w.divmod(tap, tr, ts);
    const int oh = at.h - tr, ow = at.w - ts;  // the output pixel this tap came from
    return outside(oh, ow, out_h, out_w) ? 0.f : at.base[k_out * out_plane + oh * out_w + ow];
  }
  // dx[image][c][phase_h + stride_h*i][phase_w + stride_w*j]
  __device__ int64_t c_column(int n) const {
    int image, q, i, j;
    by_phase_pixels.divmod(n, image, q);
    by_phase_w.divmod(q, i, j);
    return int64_t(image) * dx_image + (phase_h + stride_h * i) * in_w + phase_w + stride_w * j;
  }
};

// How many of 0 <= v < length have v % stride == phase; and the kernel taps of one dimension
// that reach phase `phase`: r = first + stride * t for t < count.
MINIDL_HOST_DEVICE inline int phase_length(int length, int phase, int stride) {
  return phase < length ? (length - phase + stride - 1) / stride : 0;
}

MINIDL_HOST_DEVICE inline int at_least_one(int v) { return v > 0 ? v : 1; }

struct BackwardDataGemm {
  static constexpr bool kAContiguousK = true;
  static constexpr bool kBContiguousK = false;
  const float* dy;
  const float* w;
  Conv2dShape s;

  // Built once per block: divisors for this phase's sizes.
  __device__ BackwardDataPhase group(int phase) const {
    const int ph = phase / s.stride_w, pw = phase % s.stride_w;
    const int first_r = (ph + s.pad_h) % s.stride_h, first_s = (pw + s.pad_w) % s.stride_w;
    const int taps_h = phase_length(s.kernel_h, first_r, s.stride_h);
    const int taps_w = phase_length(s.kernel_w, first_s, s.stride_w);
    const int rows = phase_length(s.in_h, ph, s.stride_h),
              cols = phase_length(s.in_w, pw, s.stride_w);
    BackwardDataPhase gemm;
    gemm.M = s.in_channels;
    gemm.N = s.batch * rows * cols;
    gemm.K = s.out_channels * taps_h * taps_w;
    gemm.dy = dy;
    gemm.w = w;
    gemm.kernel_area = s.kernel_h * s.kernel_w;
    gemm.kernel_w = s.kernel_w;
    gemm.first_r = first_r;
    gemm.first_s = first_s;
    gemm.stride_h = s.stride_h;
    gemm.stride_w = s.stride_w;
    gemm.base_h = (ph + s.pad_h - first_r) / s.stride_h;  // exact: oh = i + base_h - tr
    gemm.base_w = (pw + s.pad_w - first_s) / s.stride_w;
    gemm.out_h = s.out_h();
    gemm.out_w = s.out_w();
    gemm.out_plane = gemm.out_h * gemm.out_w;
    gemm.dy_image = s.out_channels * gemm.out_plane;
    gemm.w_filter = s.in_channels * gemm.kernel_area;
    gemm.phase_h = ph;
    gemm.phase_w = pw;
    gemm.in_w = s.in_w;
    gemm.dx_image = s.in_channels * s.in_h * s.in_w;
    gemm.by_taps = FastDivmod(at_least_one(taps_h * taps_w));  // a gemm may have no taps
    gemm.by_taps_w = FastDivmod(at_least_one(taps_w));
    gemm.by_phase_pixels = FastDivmod(at_least_one(rows * cols));
    gemm.by_phase_w = FastDivmod(at_least_one(cols));
    gemm.c_row_stride = int64_t(s.in_h) * s.in_w;
    return gemm;
  }
};

// ---- backward-weight: dw = dy * im2col(x)^T ----------------------------------------------------
struct BackwardWeightGemm {
  static constexpr bool kAContiguousK = true;  // dy rows: the pixels of an image
  static constexpr bool kBContiguousK = true;  // im2col^T rows: neighbouring pixels again
  const float* x;
  const float* dy;
  int M, N, K;
  int in_h, in_w, in_plane, in_image, stride_h, stride_w, pad_h, pad_w, dy_image;
  FastDivmod by_pixels, by_out_w, by_kernel_area, by_kernel_w;
  int64_t c_row_stride;

  __device__ const BackwardWeightGemm& group(int) const { return *this; }
  __device__ const float* a_line(int k_out) const {
    return dy + int64_t(k_out) * by_pixels.divisor();
  }
  __device__ float a_load(const float* row, int k) const {
    int image, p;
    by_pixels.divmod(k, image, p);
    return row[int64_t(image) * dy_image + p];
  }
  __device__ PlaneCursor b_line(int n) const {  // n = (c, r, s): a kernel tap of one channel
    int c, rs, r, s;
    by_kernel_area.divmod(n, c, rs);
    by_kernel_w.divmod(rs, r, s);
    return {x + int64_t(c) * in_plane, r - pad_h, s - pad_w};
  }
  __device__ float b_load(const PlaneCursor& tap, int k) const {  // k = (image, oh, ow)
    int image, p, oh, ow;
    by_pixels.divmod(k, image, p);
    by_out_w.divmod(p, oh, ow);
    const int h = oh * stride_h + tap.h, wc = ow * stride_w + tap.w;  // tap.h = r - pad_h
    return outside(h, wc, in_h, in_w) ? 0.f : tap.base[int64_t(image) * in_image + h * in_w + wc];
  }
  __device__ int64_t c_column(int n) const { return n; }  // dw[m][n]
};

// ---- the implicit-GEMM sizes of each pass -----------------------------------------------------

GemmShape direct_gemm_shape(const Conv2dShape& s, Conv2dPass pass) {
  const int crs = s.in_channels * s.kernel_h * s.kernel_w, pixels = s.out_h() * s.out_w();
  switch (pass) {
    case Conv2dPass::Forward: return {1, s.out_channels, s.batch * pixels, crs};
    case Conv2dPass::BackwardData: {
      // Phase (0, 0) has the most pixels; the most taps can be in any phase.
      const int rows = phase_length(s.in_h, 0, s.stride_h),
                cols = phase_length(s.in_w, 0, s.stride_w);
      int taps_h = 0, taps_w = 0;
      for (int p = 0; p < s.stride_h; ++p)
        taps_h = std::max(taps_h, phase_length(s.kernel_h, (p + s.pad_h) % s.stride_h, s.stride_h));
      for (int p = 0; p < s.stride_w; ++p)
        taps_w = std::max(taps_w, phase_length(s.kernel_w, (p + s.pad_w) % s.stride_w, s.stride_w));
      return {s.stride_h * s.stride_w, s.in_channels, s.batch * rows * cols,
              at_least_one(s.out_channels * taps_h * taps_w)};
    }
    case Conv2dPass::BackwardWeight: break;
  }
  return {1, s.out_channels, crs, s.batch * pixels};
}

int64_t output_size(const Conv2dShape& s, Conv2dPass pass) {
  switch (pass) {
    case Conv2dPass::Forward: return int64_t(s.batch) * s.out_channels * s.out_h() * s.out_w();
    case Conv2dPass::BackwardData: return int64_t(s.batch) * s.in_channels * s.in_h * s.in_w;
    case Conv2dPass::BackwardWeight: break;
  }
  return int64_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
}

// Winograd where it is supported and both channel counts are at least 64: measured faster
// than the implicit GEMM on every such layer of the reference model (docs/results/gpu.md);
// with few channels its transforms, which are memory-bound, outweigh the saved FMAs.
bool prefer_winograd(const Conv2dShape& s) {
  constexpr int kWinogradMinChannels = 64;  // the CPU's is 16 (kernels/cpu/conv2d.cpp)
  return winograd_supports(s) && s.in_channels >= kWinogradMinChannels &&
         s.out_channels >= kWinogradMinChannels;
}

GemmTiling gemm_tiling(const Conv2dPlan& plan) { return {plan.tile_m, plan.tile_n, plan.slices}; }

// The fields forward and backward-weight share: both read x through im2col.
template <class Problem>
void set_im2col_geometry(const Conv2dShape& s, const GemmShape& product, Problem& p) {
  p.M = product.M;
  p.N = product.N;
  p.K = product.K;
  p.in_h = s.in_h;
  p.in_w = s.in_w;
  p.in_plane = s.in_h * s.in_w;
  p.in_image = s.in_channels * p.in_plane;
  p.stride_h = s.stride_h;
  p.stride_w = s.stride_w;
  p.pad_h = s.pad_h;
  p.pad_w = s.pad_w;
  p.by_pixels = FastDivmod(s.out_h() * s.out_w());
  p.by_out_w = FastDivmod(s.out_w());
  p.by_kernel_area = FastDivmod(s.kernel_h * s.kernel_w);
  p.by_kernel_w = FastDivmod(s.kernel_w);
}

}  // namespace

Conv2dPlan conv2d_plan(const Conv2dShape& s, Conv2dPass pass, Conv2dPlan requested) {
  auto valid_tile = [](int t) { return t == 0 || t == 64 || t == 128; };
  if (!valid_tile(requested.tile_m) || !valid_tile(requested.tile_n) || requested.slices < 0) {
    throw std::invalid_argument("conv2d tiling " + std::to_string(requested.tile_m) + "x" +
                                std::to_string(requested.tile_n) + " split " +
                                std::to_string(requested.slices) +
                                ": tiles must be 64 or 128 (0 = automatic), slices >= 0");
  }
  if (requested.winograd_tile != 0 && requested.winograd_tile != 2) {
    throw std::invalid_argument("CUDA's Winograd tile is 2 (F(2x2, 3x3)), got " +
                                std::to_string(requested.winograd_tile));
  }
  Conv2dPlan plan;
  plan.pass = pass;
  plan.algorithm = requested.algorithm;
  if (plan.algorithm == Conv2dAlgorithm::Auto) {
    plan.algorithm = prefer_winograd(s) ? Conv2dAlgorithm::Winograd : Conv2dAlgorithm::Gemm;
  }
  if (plan.algorithm == Conv2dAlgorithm::Winograd && !winograd_supports(s)) {
    throw std::invalid_argument(winograd_refusal(s));
  }
  const bool winograd = plan.algorithm == Conv2dAlgorithm::Winograd;
  const GemmShape product = winograd ? winograd_gemm_shape(s, pass) : direct_gemm_shape(s, pass);
  // Backward-weight reduces over every pixel of the batch into a small result: splitting it
  // finely costs little, and the sweep preferred twice the blocks of the other passes.
  const double blocks_per_sm = pass == Conv2dPass::BackwardWeight ? 3.0 : 1.5;
  const GemmTiling t = choose_gemm_tiling(product, requested.tile_m, requested.tile_n,
                                          requested.slices, blocks_per_sm);
  plan.tile_m = t.tile_m;
  plan.tile_n = t.tile_n;
  plan.slices = t.slices;
  plan.winograd_tile = winograd ? 2 : 0;
  plan.workspace = winograd ? winograd_workspace(s, pass, t)
                            : (t.slices > 1 ? t.slices * output_size(s, pass) : 0);
  return plan;
}

void conv2d_forward(const Conv2dShape& s, const Conv2dPlan& plan, const float* x, const float* w,
                    const float* bias, float* y, float* workspace) {
  check_plan(plan, Conv2dPass::Forward, workspace);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_forward(s, x, w, bias, y, workspace, gemm_tiling(plan));
    return;
  }
  const GemmShape product = direct_gemm_shape(s, Conv2dPass::Forward);
  const int pixels = s.out_h() * s.out_w();
  ForwardGemm p;
  set_im2col_geometry(s, product, p);
  p.x = x;
  p.w = w;
  p.pixels = pixels;
  p.c_row_stride = pixels;
  run_gemm("conv2d_forward", p, product, gemm_tiling(plan), y, output_size(s, Conv2dPass::Forward),
           workspace, bias, pixels);
}

void conv2d_backward_data(const Conv2dShape& s, const Conv2dPlan& plan, const float* dy,
                          const float* w, float* dx, float* workspace) {
  check_plan(plan, Conv2dPass::BackwardData, workspace);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_backward_data(s, dy, w, dx, workspace, gemm_tiling(plan));
    return;
  }
  run_gemm("conv2d_backward_data", BackwardDataGemm{dy, w, s},
           direct_gemm_shape(s, Conv2dPass::BackwardData), gemm_tiling(plan), dx,
           output_size(s, Conv2dPass::BackwardData), workspace, nullptr, 1);
}

void conv2d_backward_weight(const Conv2dShape& s, const Conv2dPlan& plan, const float* x,
                            const float* dy, float* dw, float* dbias, float* workspace) {
  check_plan(plan, Conv2dPass::BackwardWeight, workspace);
  const int pixels = s.out_h() * s.out_w();
  if (dbias) channel_sum(s.batch, s.out_channels, pixels, dy, dbias);
  if (plan.algorithm == Conv2dAlgorithm::Winograd) {
    winograd_backward_weight(s, x, dy, dw, workspace, gemm_tiling(plan));
    return;
  }
  const GemmShape product = direct_gemm_shape(s, Conv2dPass::BackwardWeight);
  BackwardWeightGemm p;
  set_im2col_geometry(s, product, p);
  p.x = x;
  p.dy = dy;
  p.dy_image = s.out_channels * pixels;
  p.c_row_stride = product.N;
  run_gemm("conv2d_backward_weight", p, product, gemm_tiling(plan), dw,
           output_size(s, Conv2dPass::BackwardWeight), workspace, nullptr, 1);
}

}  // namespace minidl::kernels::cuda
