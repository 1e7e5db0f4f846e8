// Convolution v1 on CUDA: each pass as an implicit GEMM computed by one tiled kernel.
//
//   pass             C [M x N]              A [M x Kd]            B [Kd x N]
//   forward          y  [K, batch*P]        w [K, C*R*S]          im2col(x) [C*R*S, batch*P]
//   backward-data    dx [C, batch*H*W]      w^T [C, K*R*S]        dy gathered [K*R*S, batch*H*W]
//   backward-weight  dw [K, C*R*S]          dy [K, batch*P]       im2col(x)^T [batch*P, C*R*S]
// (P = out_h * out_w output pixels per image; K output channels, C input channels, R x S the
// kernel.) A and B are never stored: small "views" below compute an element from the NCHW
// tensors when the kernel asks for it.
//
// The GEMM as a loop nest, and which loops the hardware runs:
//   for m0 in 0..M step 64        blockIdx.y       a block owns a 64x64 tile of C
//    for n0 in 0..N step 64       blockIdx.x
//     for k0 in 0..Kd step 16     (in the block)   one 64x16 slice of A, one 16x64 of B,
//                                                  copied to shared memory by all 256 threads
//      for i, j in 4x4            (per thread)     thread (tx, ty) keeps C[ty*4 + i][tx*4 + j]
//       for kk in 0..16                            in registers: 8 shared loads, 16 FMAs
//
// The thread-to-element map of one block's C tile (64 x 64, 16 x 16 threads):
//            columns  0..3    4..7   ...  60..63
//   rows  0..3      (0,0)   (1,0)   ...  (15,0)      thread (tx, ty) = (threadIdx.x, threadIdx.y)
//   rows  4..7      (0,1)   (1,1)   ...  (15,1)
//    ...
//   rows 60..63     (0,15)  (1,15)  ...  (15,15)
//
// Tiles are zero-padded at the matrix edges, so any M, N, Kd work. Backward-weight reduces
// over batch*P, long while dw is small: blockIdx.z cuts the reduction into slices written to
// a workspace, and a second kernel adds them in a fixed order (no atomics, bitwise
// reproducible).
//
// What the fast version (kernels/cuda/implicit_gemm.cuh) adds, each measured in
// docs/results/gpu.md: 128x128 tiles with an 8x8 register block, double buffering so that
// global loads overlap the FMAs, conflict-free shared-memory layouts, coalescing loads chosen
// by each operand's layout, vector stores, and backward-data split by stride phases so that
// it multiplies no structural zeros (this version does 4x the work there with stride 2).
#include "minidl/kernels/conv2d_tiled.h"

#include <stdexcept>
#include <string>

#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;  // the C tile of a block, the k step
constexpr int kThreadTile = 4;                        // each thread: a 4x4 sub-tile of C
constexpr int kThreadsX = kTileN / kThreadTile;       // 16
constexpr int kThreadsY = kTileM / kThreadTile;       // 16
constexpr int kThreads = kThreadsX * kThreadsY;       // 256
constexpr int kColumnsPerSlice = 4096;                // backward-weight's reduction split...
constexpr int kMostSlices = 64;                       // ...into at most this many slices

// ---- the GEMM: load, multiply, store ----------------------------------------------------------

// Step 1: all 256 threads copy one k-slice of A (64 x 16) and of B (16 x 64) to shared memory,
// four elements each, zero outside the matrices. A's reduction index runs fastest across
// threads (a weight row is contiguous in memory), B's column index (neighbouring pixels).
// (Tile: a shared-memory array, which the emulator wraps in a checked type.)
template <class AView, class BView, class Tile>
__device__ void load_tiles(const AView& a, const BView& b, int M, int N, int k0, int k_end, int m0,
                           int n0, Tile& a_tile, Tile& b_tile) {
  const int tid = threadIdx.y * kThreadsX + threadIdx.x;
  for (int e = tid; e < kTileK * kTileM; e += kThreads) {
    const int kk = e % kTileK, m = e / kTileK;
    const bool inside = m0 + m < M && k0 + kk < k_end;
    a_tile[kk * kTileM + m] = inside ? a(m0 + m, k0 + kk) : 0.f;
  }
  for (int e = tid; e < kTileK * kTileN; e += kThreads) {
    const int n = e % kTileN, kk = e / kTileN;
    const bool inside = n0 + n < N && k0 + kk < k_end;
    b_tile[kk * kTileN + n] = inside ? b(k0 + kk, n0 + n) : 0.f;
  }
}

// Step 2: each thread multiplies its 4 rows of the A slice by its 4 columns of the B slice
// into the 4x4 accumulators: per kk, 8 shared-memory loads feed 16 FMAs.
template <class Tile>
__device__ void multiply_tiles(Tile& a_tile, Tile& b_tile, float acc[kThreadTile][kThreadTile]) {
  for (int kk = 0; kk < kTileK; ++kk) {
    float a_frag[kThreadTile], b_frag[kThreadTile];
    for (int i = 0; i < kThreadTile; ++i)
      a_frag[i] = a_tile[kk * kTileM + threadIdx.y * kThreadTile + i];
    for (int j = 0; j < kThreadTile; ++j)
      b_frag[j] = b_tile[kk * kTileN + threadIdx.x * kThreadTile + j];
    for (int i = 0; i < kThreadTile; ++i)
      for (int j = 0; j < kThreadTile; ++j) acc[i][j] += a_frag[i] * b_frag[j];
  }
}

template <class AView, class BView, class Store>
__global__ void tiled_gemm_kernel(int M, int N, int K, int k_slice, AView a, BView b, Store store) {
  MINIDL_SHARED(float, a_tile, kTileK* kTileM);  // a_tile[kk * kTileM + m]
  MINIDL_SHARED(float, b_tile, kTileK* kTileN);  // b_tile[kk * kTileN + n]
  const int m0 = blockIdx.y * kTileM, n0 = blockIdx.x * kTileN;
  const int k_begin = blockIdx.z * k_slice;
  const int k_end = K < k_begin + k_slice ? K : k_begin + k_slice;

  float acc[kThreadTile][kThreadTile];
  for (int i = 0; i < kThreadTile; ++i)
    for (int j = 0; j < kThreadTile; ++j) acc[i][j] = 0.f;

  for (int k0 = k_begin; k0 < k_end; k0 += kTileK) {
    load_tiles(a, b, M, N, k0, k_end, m0, n0, a_tile, b_tile);
    __syncthreads();  // the tiles are complete
    multiply_tiles(a_tile, b_tile, acc);
    __syncthreads();  // everyone is done reading before the next slice is loaded
  }

  // Step 3: each thread stores its 4x4 sub-tile, wherever the pass's Store puts it.
  for (int i = 0; i < kThreadTile; ++i) {
    const int m = m0 + threadIdx.y * kThreadTile + i;
    for (int j = 0; j < kThreadTile; ++j) {
      const int n = n0 + threadIdx.x * kThreadTile + j;
      if (m < M && n < N) store(blockIdx.z, m, n, acc[i][j]);
    }
  }
}

template <class AView, class BView, class Store>
void tiled_gemm(const char* name, int M, int N, int K, int slices, int k_slice, AView a, BView b,
                Store store) {
  const dim3 grid((N + kTileN - 1) / kTileN, (M + kTileM - 1) / kTileM, slices);
  launch(name, tiled_gemm_kernel<AView, BView, Store>, grid, dim3(kThreadsX, kThreadsY), M, N, K,
         k_slice, a, b, store);
}

// ---- implicit matrices over the NCHW tensors -------------------------------------------------

// x as im2col: row (c, r, q), column (image, oh, ow); the geometry is Conv2dShape's.
struct Im2col {
  const float* x;
  Conv2dShape s;
  __device__ float operator()(int row, int col) const {
    const int ow = col % s.out_w(), oh = col / s.out_w() % s.out_h(),
              img = col / (s.out_w() * s.out_h());
    const int q = row % s.kernel_w, r = row / s.kernel_w % s.kernel_h,
              c = row / (s.kernel_w * s.kernel_h);
    const int ih = s.input_row(oh, r), iw = s.input_col(ow, q);
    if (!s.inside_input(ih, iw)) return 0.f;
    return x[((int64_t(img) * s.in_channels + c) * s.in_h + ih) * s.in_w + iw];
  }
};

struct Im2colTransposed {  // row (image, oh, ow), column (c, r, q)
  Im2col cols;
  __device__ float operator()(int row, int col) const { return cols(col, row); }
};

struct Weights {  // w as [K, C*R*S]: already row-major
  const float* w;
  int row_length;
  __device__ float operator()(int row, int col) const { return w[int64_t(row) * row_length + col]; }
};

struct WeightsTransposed {  // row c, column (k, r, q): w[k][c][r][q]
  const float* w;
  int in_channels, kernel_area;
  __device__ float operator()(int c, int col) const {
    const int k = col / kernel_area, rq = col % kernel_area;
    return w[(int64_t(k) * in_channels + c) * kernel_area + rq];
  }
};

struct OutputGradRows {  // dy as [K, batch*P]: row k, column (image, p)
  const float* dy;
  int out_channels, pixels;
  __device__ float operator()(int k, int col) const {
    const int img = col / pixels, p = col % pixels;
    return dy[(int64_t(img) * out_channels + k) * pixels + p];
  }
};

// Backward-data's B: row (k, r, q), column (image, ih, iw) of the input: the output pixel
// whose tap (r, q) read (ih, iw), if there is one (Conv2dShape::output_row / output_col).
struct OutputGradGather {
  const float* dy;
  Conv2dShape s;
  __device__ float operator()(int row, int col) const {
    const int iw = col % s.in_w, ih = col / s.in_w % s.in_h, img = col / (s.in_w * s.in_h);
    const int q = row % s.kernel_w, r = row / s.kernel_w % s.kernel_h,
              k = row / (s.kernel_w * s.kernel_h);
    const int oh = s.output_row(ih, r), ow = s.output_col(iw, q);
    if (oh < 0 || ow < 0) return 0.f;
    return dy[((int64_t(img) * s.out_channels + k) * s.out_h() + oh) * s.out_w() + ow];
  }
};

// ---- where results go --------------------------------------------------------------------------

struct StoreNchw {  // C [channels, batch*plane] -> t[image][channel][plane] (+ bias[channel])
  float* t;
  const float* bias;
  int channels, plane;
  __device__ void operator()(int, int channel, int col, float value) const {
    const int img = col / plane, p = col % plane;
    t[(int64_t(img) * channels + channel) * plane + p] = value + (bias ? bias[channel] : 0.f);
  }
};

struct StoreSlices {  // slice z of a [slices, M, N] workspace (or the result when 1 slice)
  float* out;
  int M, N;
  __device__ void operator()(int slice, int m, int n, float value) const {
    out[(int64_t(slice) * M + m) * N + n] = value;
  }
};

__global__ void add_slices_kernel(int64_t n, int slices, const float* workspace, float* out) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float total = 0.f;
    for (int z = 0; z < slices; ++z) total += workspace[z * n + i];  // fixed order
    out[i] = total;
  }
}

// How backward-weight slices its reduction: about kColumnsPerSlice columns per slice, at most
// kMostSlices slices, each a whole number of k steps.
void reduction_slices(const Conv2dShape& s, int* slices, int* k_slice) {
  const int64_t length = int64_t(s.batch) * s.out_h() * s.out_w();
  int64_t count = (length + kColumnsPerSlice - 1) / kColumnsPerSlice;
  if (count > kMostSlices) count = kMostSlices;
  int64_t per = (length + count - 1) / count;
  per = (per + kTileK - 1) / kTileK * kTileK;
  *slices = int((length + per - 1) / per);
  *k_slice = int(per);
}

}  // namespace

void conv2d_forward_tiled(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          float* y) {
  const int crs = s.in_channels * s.kernel_h * s.kernel_w, pixels = s.out_h() * s.out_w();
  tiled_gemm("conv2d_forward_tiled", s.out_channels, s.batch * pixels, crs, 1, crs, Weights{w, crs},
             Im2col{x, s}, StoreNchw{y, bias, s.out_channels, pixels});
}

void conv2d_backward_data_tiled(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const int area = s.kernel_h * s.kernel_w, krs = s.out_channels * area;
  tiled_gemm("conv2d_backward_data_tiled", s.in_channels, s.batch * s.in_h * s.in_w, krs, 1, krs,
             WeightsTransposed{w, s.in_channels, area}, OutputGradGather{dy, s},
             StoreNchw{dx, nullptr, s.in_channels, s.in_h * s.in_w});
}

int64_t conv2d_backward_weight_tiled_workspace(const Conv2dShape& s) {
  int slices, k_slice;
  reduction_slices(s, &slices, &k_slice);
  return slices > 1 ? int64_t(slices) * s.out_channels * s.in_channels * s.kernel_h * s.kernel_w
                    : 0;
}

void conv2d_backward_weight_tiled(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                  float* dbias, float* workspace) {
  const int crs = s.in_channels * s.kernel_h * s.kernel_w, pixels = s.out_h() * s.out_w();
  int slices, k_slice;
  reduction_slices(s, &slices, &k_slice);
  if (slices > 1 && workspace == nullptr) {
    throw std::invalid_argument("conv2d_backward_weight_tiled: needs a workspace of " +
                                std::to_string(conv2d_backward_weight_tiled_workspace(s)) +
                                " floats, got none");
  }
  float* target = slices > 1 ? workspace : dw;
  tiled_gemm("conv2d_backward_weight_tiled", s.out_channels, crs, s.batch * pixels, slices, k_slice,
             OutputGradRows{dy, s.out_channels, pixels}, Im2colTransposed{Im2col{x, s}},
             StoreSlices{target, s.out_channels, crs});
  if (slices > 1) {
    const int64_t n = int64_t(s.out_channels) * crs;
    launch("conv2d_backward_weight_tiled_sum", add_slices_kernel, grid_for(n), kBlockSize, n,
           slices, static_cast<const float*>(workspace), dw);
  }
  if (dbias) channel_sum(s.batch, s.out_channels, pixels, dy, dbias);
}

}  // namespace minidl::kernels::cuda
