// CUDA convolution as implicit GEMM: one tiled, register-blocked matrix-multiply kernel and,
// for each pass, small "views" that compute a matrix element straight from the NCHW tensors
// instead of materializing im2col in memory.
//
//   pass             C [M x N]                   A [M x Kd]              B [Kd x N]
//   forward          y as [K out-ch, batch*P]    w as [K, C*R*S]         im2col(x) [C*R*S, batch*P]
//   backward-data    dx as [C, batch*H*W]        w^T as [C, K*R*S]       dy gathered [K*R*S, batch*H*W]
//   backward-weight  dw as [K, C*R*S]            dy as [K, batch*P]      im2col(x)^T [batch*P, C*R*S]
// (P = out_h * out_w output pixels per image.)
//
// Decomposition of the GEMM: a block of 16x16 threads owns a 64x64 tile of C. It walks the
// reduction dimension 16 at a time: the 256 threads copy a 64x16 slice of A and a 16x64 slice
// of B into shared memory (4 elements each), __syncthreads(), then each thread multiplies out
// a 4x4 sub-tile of C held in registers (register blocking: 8 shared loads feed 16 FMAs),
// __syncthreads() again before the next slice overwrites the tiles. Tiles are zero-padded at
// the matrix edges, so any M, N, K work.
// Memory: A's slice is loaded with the reduction index fastest (contiguous rows of w and dy),
// B's with the column index fastest (for forward and backward-data, neighbouring pixels are
// neighbouring addresses; backward-weight's B columns are (c, r, s), so its loads are not
// coalesced). Not yet tuned: backward-data with stride s multiplies s^2 times more zeros than
// needed, and the A-tile stores conflict on shared-memory banks. A GPU session measures first.
// Backward-weight reduces over batch*P, which is long while dw is small: blockIdx.z splits
// the reduction into slices written to a workspace, then a second kernel adds the slices in
// a fixed order. No atomics anywhere, so every result is bitwise reproducible.
#include "kernels/conv2d.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kThreadTile = 4;                  // each thread: a 4x4 sub-tile of C
constexpr int kThreadsX = kTileN / kThreadTile;  // 16
constexpr int kThreadsY = kTileM / kThreadTile;  // 16
constexpr int kThreads = kThreadsX * kThreadsY;  // 256

// ---- the GEMM core ---------------------------------------------------------------------------

template <class AView, class BView, class Store>
__global__ void tiled_gemm_kernel(int M, int N, int K, int k_slice, AView a, BView b, Store store) {
  MINIDL_SHARED(float, a_tile, kTileK * kTileM);  // a_tile[kk * kTileM + m]
  MINIDL_SHARED(float, b_tile, kTileK * kTileN);  // b_tile[kk * kTileN + n]
  const int tid = threadIdx.y * kThreadsX + threadIdx.x;
  const int m0 = blockIdx.y * kTileM, n0 = blockIdx.x * kTileN;
  const int k_begin = blockIdx.z * k_slice;
  const int k_end = K < k_begin + k_slice ? K : k_begin + k_slice;

  float acc[kThreadTile][kThreadTile];
  for (int i = 0; i < kThreadTile; ++i)
    for (int j = 0; j < kThreadTile; ++j) acc[i][j] = 0.f;

  for (int k0 = k_begin; k0 < k_end; k0 += kTileK) {
    for (int e = tid; e < kTileK * kTileM; e += kThreads) {
      const int kk = e % kTileK, m = e / kTileK;  // reduction index fastest
      const bool inside = m0 + m < M && k0 + kk < k_end;
      a_tile[kk * kTileM + m] = inside ? a(m0 + m, k0 + kk) : 0.f;
    }
    for (int e = tid; e < kTileK * kTileN; e += kThreads) {
      const int n = e % kTileN, kk = e / kTileN;  // column index fastest
      const bool inside = n0 + n < N && k0 + kk < k_end;
      b_tile[kk * kTileN + n] = inside ? b(k0 + kk, n0 + n) : 0.f;
    }
    __syncthreads();  // the tiles are complete
    for (int kk = 0; kk < kTileK; ++kk) {
      float a_frag[kThreadTile], b_frag[kThreadTile];
      for (int i = 0; i < kThreadTile; ++i) a_frag[i] = a_tile[kk * kTileM + threadIdx.y * kThreadTile + i];
      for (int j = 0; j < kThreadTile; ++j) b_frag[j] = b_tile[kk * kTileN + threadIdx.x * kThreadTile + j];
      for (int i = 0; i < kThreadTile; ++i)
        for (int j = 0; j < kThreadTile; ++j) acc[i][j] += a_frag[i] * b_frag[j];
    }
    __syncthreads();  // everyone is done reading before the next slice is loaded
  }

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

// ---- implicit matrices over the NCHW tensors ---------------------------------------------------

// x as im2col: row (c, r, s), column (image, oh, ow); zero where the window hangs off the image.
struct Im2col {
  const float* x;
  Conv2dShape s;
  __device__ float operator()(int row, int col) const {
    const int ow = col % s.out_w(), oh = (col / s.out_w()) % s.out_h(), img = col / (s.out_w() * s.out_h());
    const int q = row % s.kernel_w, r = (row / s.kernel_w) % s.kernel_h, c = row / (s.kernel_w * s.kernel_h);
    const int ih = oh * s.stride_h - s.pad_h + r, iw = ow * s.stride_w - s.pad_w + q;
    if (ih < 0 || ih >= s.in_h || iw < 0 || iw >= s.in_w) return 0.f;
    return x[((int64_t(img) * s.in_channels + c) * s.in_h + ih) * s.in_w + iw];
  }
};

struct Im2colTransposed {  // row (image, oh, ow), column (c, r, s)
  Im2col cols;
  __device__ float operator()(int row, int col) const { return cols(col, row); }
};

struct Weights {  // w as [K, C*R*S]: already row-major
  const float* w;
  int row_length;
  __device__ float operator()(int row, int col) const { return w[int64_t(row) * row_length + col]; }
};

struct WeightsTransposed {  // row c, column (k, r, s): w[k][c][r][s]
  const float* w;
  int in_channels, kernel_area;
  __device__ float operator()(int c, int col) const {
    const int k = col / kernel_area, rs = col % kernel_area;
    return w[(int64_t(k) * in_channels + c) * kernel_area + rs];
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

// Backward-data's B: row (k, r, s), column (image, ih, iw) of the input. Input pixel ih received
// from output row oh through kernel row r when ih = oh*stride - pad + r, i.e. when
// ih + pad - r is a non-negative multiple of the stride (and likewise for columns).
struct OutputGradGather {
  const float* dy;
  Conv2dShape s;
  __device__ float operator()(int row, int col) const {
    const int iw = col % s.in_w, ih = (col / s.in_w) % s.in_h, img = col / (s.in_w * s.in_h);
    const int q = row % s.kernel_w, r = (row / s.kernel_w) % s.kernel_h, k = row / (s.kernel_w * s.kernel_h);
    const int oh_scaled = ih + s.pad_h - r, ow_scaled = iw + s.pad_w - q;
    if (oh_scaled < 0 || ow_scaled < 0 || oh_scaled % s.stride_h || ow_scaled % s.stride_w) return 0.f;
    const int oh = oh_scaled / s.stride_h, ow = ow_scaled / s.stride_w;
    if (oh >= s.out_h() || ow >= s.out_w()) return 0.f;
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

__global__ void sum_slices_kernel(int64_t n, int slices, const float* workspace, float* out) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float total = 0.f;
    for (int z = 0; z < slices; ++z) total += workspace[z * n + i];  // fixed order
    out[i] = total;
  }
}

// How backward-weight slices its reduction: about 4096 columns per slice, at most 64 slices.
void reduction_slices(const Conv2dShape& s, int* slices, int* k_slice) {
  const int64_t length = int64_t(s.batch) * s.out_h() * s.out_w();
  int64_t count = (length + 4095) / 4096;
  if (count > 64) count = 64;
  int64_t per = (length + count - 1) / count;
  per = (per + kTileK - 1) / kTileK * kTileK;  // whole tiles
  *slices = int((length + per - 1) / per);
  *k_slice = int(per);
}

}  // namespace

Conv2dTiling conv2d_tiling(const Conv2dShape& s, Conv2dPass pass, Conv2dTiling requested) {
  int slices = 1, k_slice;
  if (pass == Conv2dPass::BackwardWeight) reduction_slices(s, &slices, &k_slice);
  return {kTileM, kTileN, slices};
}

int64_t conv2d_workspace(const Conv2dShape& s, Conv2dPass pass, Conv2dTiling requested) {
  const Conv2dTiling t = conv2d_tiling(s, pass, requested);
  return t.slices > 1 ? int64_t(t.slices) * s.out_channels * s.in_channels * s.kernel_h * s.kernel_w : 0;
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y,
                    float*, Conv2dTiling) {
  const int crs = s.in_channels * s.kernel_h * s.kernel_w, pixels = s.out_h() * s.out_w();
  const int columns = s.batch * pixels;
  tiled_gemm("conv2d_forward", s.out_channels, columns, crs, 1, crs, Weights{w, crs}, Im2col{x, s},
             StoreNchw{y, bias, s.out_channels, pixels});
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, float*,
                          Conv2dTiling) {
  const int area = s.kernel_h * s.kernel_w, krs = s.out_channels * area;
  const int columns = s.batch * s.in_h * s.in_w;
  tiled_gemm("conv2d_backward_data", s.in_channels, columns, krs, 1, krs,
             WeightsTransposed{w, s.in_channels, area}, OutputGradGather{dy, s},
             StoreNchw{dx, nullptr, s.in_channels, s.in_h * s.in_w});
}

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias, float* workspace, Conv2dTiling) {
  const int crs = s.in_channels * s.kernel_h * s.kernel_w, pixels = s.out_h() * s.out_w();
  const int length = s.batch * pixels;
  int slices, k_slice;
  reduction_slices(s, &slices, &k_slice);
  float* target = slices > 1 ? workspace : dw;
  tiled_gemm("conv2d_backward_weight", s.out_channels, crs, length, slices, k_slice,
             OutputGradRows{dy, s.out_channels, pixels}, Im2colTransposed{Im2col{x, s}},
             StoreSlices{target, s.out_channels, crs});
  if (slices > 1) {
    const int64_t n = int64_t(s.out_channels) * crs;
    launch("conv2d_backward_weight_sum", sum_slices_kernel, grid_for(n), kBlockSize, n, slices,
           static_cast<const float*>(workspace), dw);
  }
  if (dbias) channel_sum(s.batch, s.out_channels, pixels, dy, dbias);
}

}  // namespace minidl::kernels::cuda
