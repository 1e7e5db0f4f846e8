// CPU Winograd F(2x2, 3x3) for 3x3 convolutions with stride 1: the transforms of
// kernels/winograd_transforms.h (shared with the CUDA version), 16 GEMMs per block of
// tiles, and 2.25x fewer multiply-adds than im2col + GEMM.
//
// The three passes, all with tiles of 2x2 outputs (as kernels/cuda/conv2d_winograd.cu):
//   forward          y = conv(x, w)
//   backward-data    dx = conv(dy, w') with w'[c][k] = w[k][c] rotated by 180 degrees and
//                    padding 2 - pad: the forward formula again
//   backward-weight  dw[k][c] = sum over tiles of F(3x3, 2x2) of the x tile and the dy tile;
//                    its 16 GEMMs reduce over the tiles.
//
// Cache blocking: the batch is processed a few images at a time, few enough that a block's
// transformed operands (16 x channels x tiles floats each) stay about 4 MB: transformed,
// multiplied and transformed back while still in cache (the whole batch's transformed input
// would be 4x the input: 134 MB for the first layers at batch 128). Within a block the
// transforms are split over the OpenMP threads by plane and the 16 GEMMs by element, each GEMM
// single-threaded (the GEMM runs serially inside a parallel region), all in one parallel region
// per call. Every output value is computed by one thread in a fixed order, so results do not
// depend on the thread count.
//
// The transforms are laid out for the vector units: each plane is first copied into a
// zero-filled frame (no bounds checks afterwards), the 1-D transform runs down whole rows of
// tiles at once, and a tile's 16 transformed values go to 16 rows where neighbouring tiles
// are neighbours (the GEMMs' contiguous operand). GCC 12 nevertheless leaves these loops
// scalar (-fopt-info-vec-missed: it finds no vector type for loads through the arrays of row
// pointers); together they are about a fifth of a CPU training step (docs/benchmarks.md).
#include "kernels/cpu/conv2d_winograd.h"

#include <algorithm>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/winograd_transforms.h"

namespace minidl::kernels::cpu {

namespace {

using winograd::kTransformed;
using winograd::transform_2d;

constexpr int64_t kBlockFloats = 1 << 20;  // per transformed operand of a block: 4 MB

// One stride-1 3x3 correlation as Winograd sees it: in_channels planes of in_h x in_w (zero
// outside, offset by the padding) to out_channels planes of out_h x out_w, in 2x2 output
// tiles numbered image by image, row by row.
struct Correlation {
  int batch, in_channels, in_h, in_w, out_channels, out_h, out_w, pad_h, pad_w;
  int tiles_h() const { return (out_h + 1) / 2; }
  int tiles_w() const { return (out_w + 1) / 2; }
  int tiles_per_image() const { return tiles_h() * tiles_w(); }
  int64_t tiles() const { return int64_t(batch) * tiles_per_image(); }
};

Correlation forward_correlation(const Conv2dShape& s) {
  return {s.batch,   s.in_channels, s.in_h,  s.in_w, s.out_channels,
          s.out_h(), s.out_w(),     s.pad_h, s.pad_w};
}

// dx = conv(dy, rotated w^T) with padding 2 - pad: dy is the input, dx the output.
Correlation backward_data_correlation(const Conv2dShape& s) {
  return {s.batch, s.out_channels, s.out_h(),   s.out_w(),  s.in_channels,
          s.in_h,  s.in_w,         2 - s.pad_h, 2 - s.pad_w};
}

// Images per block: the block's transformed operands (16 x channels x tiles floats each)
// about kBlockFloats, and at least one image (blocks hold whole images, so the transforms
// walk plain rows of tiles).
int images_per_block(const Correlation& g) {
  const int64_t widest = std::max(g.in_channels, g.out_channels);
  const int64_t tiles = std::max<int64_t>(kBlockFloats / (kTransformed * widest), 1);
  return static_cast<int>(std::clamp<int64_t>(tiles / g.tiles_per_image(), 1, g.batch));
}

// Scratch reused across calls on the calling thread: fresh memory is expensive here
// (docs/design.md, section 5, performance). 0: transformed filters, 1 and 2: a block's
// transformed operands.
float* scratch(int which, size_t floats) {
  thread_local std::vector<float> buffers[3];
  if (buffers[which].size() < floats) buffers[which].resize(floats);
  return buffers[which].data();
}

// A plane copied into a zero-filled frame, so that every tile reads inside it without bounds
// checks: `rows` x `cols` floats, the plane's (0, 0) at (top, left). Per thread.
struct FramedPlane {
  std::vector<float> values;
  int cols = 0;
  const float* row(int r) const { return values.data() + int64_t(r) * cols; }

  void fill(const float* plane, int h, int w, int rows, int frame_cols, int top, int left) {
    cols = frame_cols;
    values.assign(size_t(rows) * cols, 0.f);
    for (int r = 0; r < h; ++r) {
      if (r + top < 0 || r + top >= rows) continue;
      for (int c = 0; c < w; ++c) {
        if (c + left >= 0 && c + left < cols)
          values[size_t(r + top) * cols + c + left] = plane[r * w + c];
      }
    }
  }
};

// u[e][o][c] = (G g G^T)[e] for the filter g from output channel o to input channel c; with
// rotate_transpose the filter is w'[o][c] = w[c][o] rotated by 180 degrees (backward-data).
void transform_filters(const float* w, int out_channels, int in_channels, bool rotate_transpose,
                       float* u) {
  const int64_t count = int64_t(out_channels) * in_channels;
#pragma omp parallel for
  for (int64_t i = 0; i < count; ++i) {
    const int o = static_cast<int>(i / in_channels), c = static_cast<int>(i % in_channels);
    float g[3][3], t[4][4];
    for (int r = 0; r < 3; ++r) {
      for (int q = 0; q < 3; ++q) {
        g[r][q] = rotate_transpose ? w[(int64_t(c) * out_channels + o) * 9 + (2 - r) * 3 + (2 - q)]
                                   : w[i * 9 + r * 3 + q];
      }
    }
    transform_2d<3, 4>(g, t, winograd::Filter1d{});
    for (int e = 0; e < kTransformed; ++e) u[e * count + i] = t[e / 4][e % 4];
  }
}

// Where a transform reads its tiles: `channels` planes of h x w per image, tile (ty, tx)
// starting at row 2 ty - pad_h and column 2 tx - pad_w (zero outside the plane).
struct TileSource {
  const float* planes;
  int channels, h, w, pad_h, pad_w;
};

// out[e][c][j] = (T d T^T)[e] for the In x In tile d of every plane c of the block's images
// (images first .. first + images), j the tile's number within the block, T the 1-D transform
// (In -> 4 points). The 1-D transform runs first down the columns of a whole row of tiles at
// once (contiguous, vectorizable), then along each tile's row; a tile's 16 values go to 16
// rows where neighbouring tiles are neighbours. Call inside a parallel region.
template <int In, class Transform1d>
void transform_tiles(const Correlation& g, const TileSource& src, int first, int images,
                     Transform1d transform, FramedPlane& frame, float* out) {
  const int tiles_w = g.tiles_w(), frame_rows = 2 * g.tiles_h() + In - 2;
  const int frame_cols = 2 * tiles_w + In - 2;
  const int64_t block_tiles = int64_t(images) * g.tiles_per_image();
  std::vector<float> columns(4 * size_t(frame_cols));  // the column transform of one tile row
#pragma omp for schedule(static)
  for (int64_t task = 0; task < int64_t(images) * src.channels; ++task) {
    const int image = static_cast<int>(task / src.channels),
              c = static_cast<int>(task % src.channels);
    frame.fill(src.planes + (int64_t(first + image) * src.channels + c) * src.h * src.w, src.h,
               src.w, frame_rows, frame_cols, src.pad_h, src.pad_w);
    for (int ty = 0; ty < g.tiles_h(); ++ty) {
      const float* tile_rows[In];
      for (int a = 0; a < In; ++a) tile_rows[a] = frame.row(2 * ty + a);
      for (int x = 0; x < frame_cols; ++x) {
        float d[In], t[4];
        for (int a = 0; a < In; ++a) d[a] = tile_rows[a][x];
        transform(d, t);
        for (int i = 0; i < 4; ++i) columns[i * frame_cols + x] = t[i];
      }
      const int64_t j0 = int64_t(image) * g.tiles_per_image() + int64_t(ty) * tiles_w;
      for (int i = 0; i < 4; ++i) {
        const float* t_row = columns.data() + i * frame_cols;
        float* rows[4];
        for (int k = 0; k < 4; ++k)
          rows[k] = out + (int64_t(4 * i + k) * src.channels + c) * block_tiles + j0;
        for (int tx = 0; tx < tiles_w; ++tx) {
          float t[4];
          transform(t_row + 2 * tx, t);
          for (int k = 0; k < 4; ++k) rows[k][tx] = t[k];
        }
      }
    }
  }
}

// The 4x4 input tiles of a correlation (forward, backward-data, and x in backward-weight).
TileSource input_tiles(const Correlation& g, const float* in) {
  return {in, g.in_channels, g.in_h, g.in_w, g.pad_h, g.pad_w};
}

// Backward-weight's 2x2 dy tiles: the outputs of the forward pass, zero past the edge.
TileSource dy_tiles(const Correlation& g, const float* dy) {
  return {dy, g.out_channels, g.out_h, g.out_w, 0, 0};
}

// out[image][o][2ty + a][2tx + b] = (A^T m A)[a][b] + bias[o], from m[e][o][j]. Like the
// input transform, the 1-D transform first runs down the columns of a whole row of tiles
// (rows[a][k][tx]), then along the rows. Call inside a parallel region.
void write_outputs(const Correlation& g, const float* m, int first, int images, const float* bias,
                   float* out) {
  const int tiles_w = g.tiles_w(), full_tiles_w = g.out_w / 2;  // the last may be half a tile
  const int64_t block_tiles = int64_t(images) * g.tiles_per_image();
  std::vector<float> rows(2 * 4 * size_t(tiles_w));  // rows[(a * 4 + k) * tiles_w + tx]
#pragma omp for schedule(static)
  for (int64_t task = 0; task < int64_t(images) * g.out_channels; ++task) {
    const int image = static_cast<int>(task / g.out_channels),
              o = static_cast<int>(task % g.out_channels);
    const float b = bias ? bias[o] : 0.f;
    float* plane = out + (int64_t(first + image) * g.out_channels + o) * g.out_h * g.out_w;
    for (int ty = 0; ty < g.tiles_h(); ++ty) {
      const int64_t j0 = int64_t(image) * g.tiles_per_image() + int64_t(ty) * tiles_w;
      for (int k = 0; k < 4; ++k) {
        const float* in[4];
        for (int i = 0; i < 4; ++i)
          in[i] = m + (int64_t(4 * i + k) * g.out_channels + o) * block_tiles + j0;
        for (int tx = 0; tx < tiles_w; ++tx) {
          const float column[4] = {in[0][tx], in[1][tx], in[2][tx], in[3][tx]};
          float y[2];
          winograd::Output1d{}(column, y);
          rows[(0 * 4 + k) * tiles_w + tx] = y[0];
          rows[(1 * 4 + k) * tiles_w + tx] = y[1];
        }
      }
      for (int a = 0; a < 2 && 2 * ty + a < g.out_h; ++a) {
        const float* r[4];
        for (int k = 0; k < 4; ++k) r[k] = rows.data() + (a * 4 + k) * tiles_w;
        float* out_row = plane + (2 * ty + a) * g.out_w;
        for (int tx = 0; tx < full_tiles_w; ++tx) {
          const float row[4] = {r[0][tx], r[1][tx], r[2][tx], r[3][tx]};
          float y[2];
          winograd::Output1d{}(row, y);
          out_row[2 * tx] = y[0] + b;
          out_row[2 * tx + 1] = y[1] + b;
        }
        if (full_tiles_w < tiles_w) {  // odd width: the last tile's first column only
          const int tx = full_tiles_w;
          const float row[4] = {r[0][tx], r[1][tx], r[2][tx], r[3][tx]};
          float y[2];
          winograd::Output1d{}(row, y);
          out_row[2 * tx] = y[0] + b;
        }
      }
    }
  }
}

// The forward formula, block by block: used by forward and backward-data. u holds the
// transformed filters [16][out][in].
void correlate(const Correlation& g, const float* in, const float* u, const float* bias,
               float* out) {
  const int block = images_per_block(g);
  const int64_t most_tiles = int64_t(block) * g.tiles_per_image();
  float* v = scratch(1, size_t(kTransformed) * g.in_channels * most_tiles);
  float* m = scratch(2, size_t(kTransformed) * g.out_channels * most_tiles);
  const int64_t filters = int64_t(g.out_channels) * g.in_channels;
#pragma omp parallel
  {
    FramedPlane frame;
    for (int first = 0; first < g.batch; first += block) {
      const int images = std::min(block, g.batch - first);
      const int count = images * g.tiles_per_image();
      transform_tiles<4>(g, input_tiles(g, in), first, images, winograd::Input1d{}, frame, v);
      // m[e] = u[e] v[e]: [out x in] x [in x count], one GEMM per element e (the implicit
      // barrier of each `omp for` separates the phases).
#pragma omp for schedule(static)
      for (int e = 0; e < kTransformed; ++e) {
        gemm(false, false, g.out_channels, count, g.in_channels, 1.f, u + e * filters,
             v + int64_t(e) * g.in_channels * count, 0.f, m + int64_t(e) * g.out_channels * count);
      }
      write_outputs(g, m, first, images, bias, out);
    }
  }
}

}  // namespace

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y) {
  float* u = scratch(0, size_t(kTransformed) * s.out_channels * s.in_channels);
  transform_filters(w, s.out_channels, s.in_channels, false, u);
  correlate(forward_correlation(s), x, u, bias, y);
}

void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  float* u = scratch(0, size_t(kTransformed) * s.in_channels * s.out_channels);
  transform_filters(w, s.in_channels, s.out_channels, true, u);
  correlate(backward_data_correlation(s), dy, u, nullptr, dx);
}

void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const Correlation g = forward_correlation(s);  // tiles over dy; x read as 4x4 tiles around them
  const int block = images_per_block(g);
  const int64_t most_tiles = int64_t(block) * g.tiles_per_image();
  const int64_t filters = int64_t(g.out_channels) * g.in_channels;
  float* du = scratch(0, size_t(kTransformed) * filters);  // [16][K][C], summed over blocks
  float* xt = scratch(1, size_t(kTransformed) * g.in_channels * most_tiles);
  float* dyt = scratch(2, size_t(kTransformed) * g.out_channels * most_tiles);
#pragma omp parallel
  {
    FramedPlane frame;
    for (int first = 0; first < g.batch; first += block) {
      const int images = std::min(block, g.batch - first);
      const int count = images * g.tiles_per_image();
      transform_tiles<4>(g, input_tiles(g, x), first, images, winograd::WgradInput1d{}, frame, xt);
      transform_tiles<2>(g, dy_tiles(g, dy), first, images, winograd::WgradDy1d{}, frame, dyt);
      // du[e] (+)= dyt[e] xt[e]^T: [K x count] x [count x C]; element e always on the same
      // thread (static schedule), so the sum over blocks has a fixed order.
#pragma omp for schedule(static)
      for (int e = 0; e < kTransformed; ++e) {
        gemm(false, true, g.out_channels, g.in_channels, count, 1.f,
             dyt + int64_t(e) * g.out_channels * count, xt + int64_t(e) * g.in_channels * count,
             first == 0 ? 0.f : 1.f, du + e * filters);
      }
    }
    // dw[k][c] = (A^T du A), 3x3.
#pragma omp for
    for (int64_t i = 0; i < filters; ++i) {
      float mm[4][4], out[3][3];
      for (int e = 0; e < kTransformed; ++e) mm[e / 4][e % 4] = du[e * filters + i];
      transform_2d<4, 3>(mm, out, winograd::WgradOutput1d{});
      for (int r = 0; r < 3; ++r)
        for (int q = 0; q < 3; ++q) dw[i * 9 + r * 3 + q] = out[r][q];
    }
  }
}

}  // namespace minidl::kernels::cpu
