// Winograd F(2x2, 3x3) for 3x3 convolutions with stride 1 (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016).
//
// Why: a 2x2 block of outputs of a 3x3 filter needs 4 x 9 = 36 multiplications per channel
// pair done directly, but only 16 after transforming the 4x4 input tile it depends on and the
// filter into a space where the convolution becomes an element-wise product:
//     Y = A^T [ (G g G^T) * (B^T d B) ] A        (* element by element, all 4x4)
// Summed over input channels, each of the 16 elements of that product is an ordinary matrix
// multiply, so a pass becomes: transform the operands (cheap, memory-bound), 16 GEMMs on the
// GEMM core of kernels/cuda/implicit_gemm.cuh (2.25x fewer FMAs than the direct conv), and
// transform the result back. The price is memory: each 4x4 tile is stored, 4x the input.
// On the reference model's stride-1 layers this is what made cuDNN's fp32 path 2x faster than
// the direct implicit GEMM; docs/results/gpu.md has the per-layer numbers.
//
// The three passes, all with tiles of 2x2 outputs:
//   forward          y = conv(x, w): the formula above.
//   backward-data    dx = conv(dy, w') with w'[c][k] = w[k][c] rotated by 180 degrees and
//                    padding 2 - pad: again the formula above.
//   backward-weight  dw[k][c] = sum over images and tiles of a 3x3 correlation of the 4x4 x
//                    tile with the 2x2 dy tile: F(3x3, 2x2), the same idea with the roles of
//                    filter and output swapped; the GEMMs reduce over the tiles.
// The transforms are shared with the CPU version (kernels/winograd_transforms.h).
#include "minidl/kernels/cuda/conv2d_winograd.cuh"

#include "minidl/kernels/cuda/fast_divmod.cuh"
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/winograd_transforms.h"

namespace minidl::kernels::cuda {

namespace {

// The transforms themselves (B, G, A and their F(3, 2) twins): kernels/winograd_transforms.h.
using winograd::Filter1d;
using winograd::Input1d;
using winograd::kTile;
using winograd::kTransformed;
using winograd::Output1d;
using winograd::transform_2d;
using winograd::WgradDy1d;
using winograd::WgradInput1d;
using winograd::WgradOutput1d;

// One stride-1 3x3 correlation as Winograd sees it: `in` channels of in_h x in_w (zero outside,
// offset by the padding) to `out` channels of out_h x out_w, cut into 2x2 output tiles.
struct Geometry {
  int batch, in_channels, in_h, in_w, out_channels, out_h, out_w, pad_h, pad_w;
  int tiles_h, tiles_w, tiles;  // tiles = batch * tiles_h * tiles_w
  FastDivmod by_tiles_per_image, by_tiles_w;
};

Geometry geometry(int batch, int in_channels, int in_h, int in_w, int out_channels, int out_h,
                  int out_w, int pad_h, int pad_w) {
  Geometry geo{batch,           in_channels, in_h,  in_w,  out_channels,
               out_h,           out_w,       pad_h, pad_w, (out_h + 1) / 2,
               (out_w + 1) / 2, 0,           {},    {}};
  geo.tiles = batch * geo.tiles_h * geo.tiles_w;
  geo.by_tiles_per_image = FastDivmod(geo.tiles_h * geo.tiles_w);
  geo.by_tiles_w = FastDivmod(geo.tiles_w);
  return geo;
}

__device__ inline void tile_position(const Geometry& geo, int t, int& image, int& ty, int& tx) {
  int rest;
  geo.by_tiles_per_image.divmod(t, image, rest);
  geo.by_tiles_w.divmod(rest, ty, tx);
}

// The 4x4 input tile whose 2x2 outputs start at (2 ty, 2 tx); zero outside the plane.
__device__ inline void read_input_tile(const float* plane, const Geometry& geo, int ty, int tx,
                                       float d[kTile][kTile]) {
  for (int a = 0; a < kTile; ++a) {
    for (int b = 0; b < kTile; ++b) {
      const int h = 2 * ty - geo.pad_h + a, w = 2 * tx - geo.pad_w + b;
      const bool inside = unsigned(h) < unsigned(geo.in_h) && unsigned(w) < unsigned(geo.in_w);
      d[a][b] = inside ? plane[h * geo.in_w + w] : 0.f;
    }
  }
}

// ---- transform kernels (one thread per tile or per filter; grid-stride loops) ----------------

// u[e][o][c] = (G g G^T)[e] for the filter g from output channel o to input channel c (for
// backward-data w'[o][c] = w[c][o] rotated by 180 degrees; winograd::filter_tap).
__global__ void filter_transform_kernel(const float* w, int out_channels, int in_channels,
                                        bool rotate_transpose, float* u) {
  const int64_t count = int64_t(out_channels) * in_channels;
  for (int64_t i = first_index(); i < count; i += grid_stride()) {
    const int o = int(i / in_channels), c = int(i % in_channels);
    float filter[3][3], t[4][4];  // g in the paper's G g G^T
    for (int r = 0; r < 3; ++r) {
      for (int q = 0; q < 3; ++q) {
        // The layer's input channels: in_channels forward, out_channels for backward-data.
        const int layer_in = rotate_transpose ? out_channels : in_channels;
        filter[r][q] = w[winograd::filter_tap(o, c, r, q, layer_in, rotate_transpose)];
      }
    }
    transform_2d<3, 4>(filter, t, Filter1d{});
    for (int e = 0; e < kTransformed; ++e) u[e * count + i] = t[e / 4][e % 4];
  }
}

// v[e][c][t] = (B^T d B)[e] for the input tile d of channel c at tile t.
__global__ void input_transform_kernel(const float* in, Geometry geo, bool for_weights, float* v) {
  const int64_t count = int64_t(geo.in_channels) * geo.tiles;
  for (int64_t i = first_index(); i < count; i += grid_stride()) {
    const int c = int(i / geo.tiles), t = int(i % geo.tiles);
    int image, ty, tx;
    tile_position(geo, t, image, ty, tx);
    float d[4][4], out[4][4];
    read_input_tile(in + (int64_t(image) * geo.in_channels + c) * geo.in_h * geo.in_w, geo, ty, tx,
                    d);
    if (for_weights) {
      transform_2d<4, 4>(d, out, WgradInput1d{});
    } else {
      transform_2d<4, 4>(d, out, Input1d{});
    }
    for (int e = 0; e < kTransformed; ++e) v[e * count + i] = out[e / 4][e % 4];
  }
}

// out[image][o][2ty + a][2tx + b] = (A^T m A)[a][b] (+ bias[o]) from m[e][o][t].
__global__ void output_transform_kernel(const float* m, Geometry geo, const float* bias,
                                        float* out) {
  const int64_t count = int64_t(geo.out_channels) * geo.tiles;
  for (int64_t i = first_index(); i < count; i += grid_stride()) {
    const int o = int(i / geo.tiles), t = int(i % geo.tiles);
    int image, ty, tx;
    tile_position(geo, t, image, ty, tx);
    float mm[4][4], y[2][2];
    for (int e = 0; e < kTransformed; ++e) mm[e / 4][e % 4] = m[e * count + i];
    transform_2d<4, 2>(mm, y, Output1d{});
    float* plane = out + (int64_t(image) * geo.out_channels + o) * geo.out_h * geo.out_w;
    for (int a = 0; a < 2; ++a) {
      for (int b = 0; b < 2; ++b) {
        const int h = 2 * ty + a, w = 2 * tx + b;
        if (h < geo.out_h && w < geo.out_w)
          plane[h * geo.out_w + w] = y[a][b] + (bias ? bias[o] : 0.f);
      }
    }
  }
}

// Backward-weight: dyt[e][k][t] = (G dy G^T)[e] for the 2x2 dy tile (zero past the edge).
__global__ void wgrad_dy_transform_kernel(const float* dy, Geometry geo, float* dyt) {
  const int64_t count = int64_t(geo.out_channels) * geo.tiles;
  for (int64_t i = first_index(); i < count; i += grid_stride()) {
    const int k = int(i / geo.tiles), t = int(i % geo.tiles);
    int image, ty, tx;
    tile_position(geo, t, image, ty, tx);
    const float* plane = dy + (int64_t(image) * geo.out_channels + k) * geo.out_h * geo.out_w;
    float tile[2][2], out[4][4];
    for (int a = 0; a < 2; ++a) {
      for (int b = 0; b < 2; ++b) {
        const int h = 2 * ty + a, w = 2 * tx + b;
        tile[a][b] = h < geo.out_h && w < geo.out_w ? plane[h * geo.out_w + w] : 0.f;
      }
    }
    transform_2d<2, 4>(tile, out, WgradDy1d{});
    for (int e = 0; e < kTransformed; ++e) dyt[e * count + i] = out[e / 4][e % 4];
  }
}

// Backward-weight: dw[k][c] = (A^T m A) (3x3) from m[e][k][c].
__global__ void wgrad_output_kernel(const float* m, int out_channels, int in_channels, float* dw) {
  const int64_t count = int64_t(out_channels) * in_channels;
  for (int64_t i = first_index(); i < count; i += grid_stride()) {
    float mm[4][4], w[3][3];
    for (int e = 0; e < kTransformed; ++e) mm[e / 4][e % 4] = m[e * count + i];
    transform_2d<4, 3>(mm, w, WgradOutput1d{});
    for (int r = 0; r < 3; ++r)
      for (int s = 0; s < 3; ++s) dw[i * 9 + r * 3 + s] = w[r][s];
  }
}

// ---- the 16 GEMMs ------------------------------------------------------------------------------

// C[e] = A[e] B[e] for e < 16, all row-major: A[e] is [M x K]; B[e] is [K x N], or stored as
// its transpose [N x K] when kBTransposed (backward-weight reduces over tiles, which are the
// contiguous direction of both its operands).
template <bool kBTransposed>
struct BatchedGemm {
  static constexpr bool kAContiguousK = true;
  static constexpr bool kBContiguousK = kBTransposed;
  const float* a;
  const float* b;
  int M, N, K;
  int64_t c_row_stride, c_offset;

  __device__ BatchedGemm group(int e) const {
    BatchedGemm group = *this;
    group.a = a + int64_t(e) * M * K;
    group.b = b + int64_t(e) * K * N;
    group.c_offset = int64_t(e) * M * N;
    return group;
  }
  __device__ const float* a_line(int m) const { return a + int64_t(m) * K; }
  __device__ float a_load(const float* row, int k) const { return row[k]; }
  __device__ const float* b_line(int n) const { return kBTransposed ? b + int64_t(n) * K : b + n; }
  __device__ float b_load(const float* line, int k) const {
    return kBTransposed ? line[k] : line[int64_t(k) * N];
  }
  __device__ int64_t c_column(int n) const { return c_offset + n; }
};

template <bool kBTransposed>
void batched_gemm(const char* name, const float* a, const float* b, int M, int N, int K, float* c,
                  float* partials, const GemmTiling& t) {
  BatchedGemm<kBTransposed> p{a, b, M, N, K, N, 0};
  run_gemm(name, p, {kTransformed, M, N, K}, t, c, int64_t(kTransformed) * M * N, partials, nullptr,
           1);
}

// The forward formula for one stride-1 3x3 correlation: used by forward and backward-data.
void winograd_correlation(const char* name, const float* in, const float* w, bool rotate_transpose,
                          const Geometry& geo, const float* bias, float* out, float* workspace,
                          const GemmTiling& t) {
  const int64_t filters = int64_t(geo.out_channels) * geo.in_channels;
  float* u = workspace;                                                // [16][out][in]
  float* v = u + kTransformed * filters;                               // [16][in][tiles]
  float* m = v + int64_t(kTransformed) * geo.in_channels * geo.tiles;  // [16][out][tiles]
  float* partials = m + int64_t(kTransformed) * geo.out_channels * geo.tiles;
  launch("winograd_filter_transform", filter_transform_kernel, grid_for(filters), kBlockSize, w,
         geo.out_channels, geo.in_channels, rotate_transpose, u);
  launch("winograd_input_transform", input_transform_kernel,
         grid_for(int64_t(geo.in_channels) * geo.tiles), kBlockSize, in, geo, false, v);
  batched_gemm<false>(name, u, v, geo.out_channels, geo.tiles, geo.in_channels, m, partials, t);
  launch("winograd_output_transform", output_transform_kernel,
         grid_for(int64_t(geo.out_channels) * geo.tiles), kBlockSize, static_cast<const float*>(m),
         geo, bias, out);
}

Geometry forward_geometry(const Conv2dShape& s) {
  return geometry(s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.out_h(), s.out_w(),
                  s.pad_h, s.pad_w);
}

// dx = conv(dy, rotated w^T) with padding 2 - pad: dy is the input, dx the output.
Geometry backward_data_geometry(const Conv2dShape& s) {
  return geometry(s.batch, s.out_channels, s.out_h(), s.out_w(), s.in_channels, s.in_h, s.in_w,
                  2 - s.pad_h, 2 - s.pad_w);
}

// Tiles over dy (the outputs of the forward pass); x is read as 4x4 tiles around them.
Geometry backward_weight_geometry(const Conv2dShape& s) { return forward_geometry(s); }

}  // namespace

GemmShape winograd_gemm_shape(const Conv2dShape& s, Conv2dPass pass) {
  switch (pass) {
    case Conv2dPass::Forward:
      return {kTransformed, s.out_channels, forward_geometry(s).tiles, s.in_channels};
    case Conv2dPass::BackwardData:
      return {kTransformed, s.in_channels, backward_data_geometry(s).tiles, s.out_channels};
    case Conv2dPass::BackwardWeight: break;
  }
  return {kTransformed, s.out_channels, s.in_channels, backward_weight_geometry(s).tiles};
}

int64_t winograd_workspace(const Conv2dShape& s, Conv2dPass pass, const GemmTiling& t) {
  const GemmShape product = winograd_gemm_shape(s, pass);
  // The two transformed operands and the product, each 16 matrices, then the split partials.
  const int64_t a = int64_t(product.M) * product.K, b = int64_t(product.K) * product.N,
                c = int64_t(product.M) * product.N;
  return kTransformed * (a + b + c) + (t.slices > 1 ? int64_t(t.slices) * kTransformed * c : 0);
}

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y, float* workspace, const GemmTiling& t) {
  winograd_correlation("conv2d_forward_winograd", x, w, false, forward_geometry(s), bias, y,
                       workspace, t);
}

void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                            float* workspace, const GemmTiling& t) {
  winograd_correlation("conv2d_backward_data_winograd", dy, w, true, backward_data_geometry(s),
                       nullptr, dx, workspace, t);
}

void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              float* workspace, const GemmTiling& t) {
  const Geometry geo = backward_weight_geometry(s);
  float* dyt = workspace;                                                  // [16][K][tiles]
  float* xt = dyt + int64_t(kTransformed) * geo.out_channels * geo.tiles;  // [16][C][tiles]
  float* m = xt + int64_t(kTransformed) * geo.in_channels * geo.tiles;     // [16][K][C]
  float* partials = m + int64_t(kTransformed) * geo.out_channels * geo.in_channels;
  launch("winograd_wgrad_dy_transform", wgrad_dy_transform_kernel,
         grid_for(int64_t(geo.out_channels) * geo.tiles), kBlockSize, dy, geo, dyt);
  launch("winograd_wgrad_input_transform", input_transform_kernel,
         grid_for(int64_t(geo.in_channels) * geo.tiles), kBlockSize, x, geo, true, xt);
  batched_gemm<true>("conv2d_backward_weight_winograd", dyt, xt, geo.out_channels, geo.in_channels,
                     geo.tiles, m, partials, t);
  const int64_t filters = int64_t(geo.out_channels) * geo.in_channels;
  launch("winograd_wgrad_output", wgrad_output_kernel, grid_for(filters), kBlockSize,
         static_cast<const float*>(m), geo.out_channels, geo.in_channels, dw);
}

}  // namespace minidl::kernels::cuda
