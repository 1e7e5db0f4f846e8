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
// Vector lanes: the transforms work on eight images at once, one per lane of a vec8
// (kernels/cpu/vector8.h). A channel of eight images is first interleaved into a zero-filled
// frame (pixel after pixel, the eight images' values side by side), so every transform is the
// shared 2-D one of kernels/winograd_transforms.h run on vec8 values: whole-vector loads and
// stores, no bounds checks and no shuffles, whatever the image size (the model's planes go
// down to 2x2, one tile, where a vector along a row of tiles would be mostly empty). The GEMMs
// do not care how their columns are numbered, so a block's tiles are numbered to suit the
// lanes: column (group * tiles_per_image + tile) * 8 + lane for image 8 group + lane. A last
// group of fewer than eight images leaves its lanes zero: zero transformed columns, which add
// nothing to backward-weight's sums and whose outputs are never written back.
#include "kernels/cpu/conv2d_winograd.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/vector8.h"
#include "kernels/gemm.h"
#include "kernels/winograd_transforms.h"

namespace minidl::kernels::cpu {

namespace {

using winograd::kTransformed;
using winograd::transform_2d;

constexpr int kLanes = 8;                  // images per vector (a vec8)
constexpr int64_t kBlockFloats = 1 << 20;  // per transformed operand of a block: 4 MB

int lane_groups(int images) { return (images + kLanes - 1) / kLanes; }

// One stride-1 3x3 correlation as Winograd sees it: in_channels planes of in_h x in_w (zero
// outside, offset by the padding) to out_channels planes of out_h x out_w, in 2x2 output
// tiles numbered row by row within an image.
struct Correlation {
  int batch, in_channels, in_h, in_w, out_channels, out_h, out_w, pad_h, pad_w;
  int tiles_h() const { return (out_h + 1) / 2; }
  int tiles_w() const { return (out_w + 1) / 2; }
  int tiles_per_image() const { return tiles_h() * tiles_w(); }
  // The GEMMs' columns for a block of `images`: every tile of every lane of its groups.
  int columns(int images) const { return lane_groups(images) * kLanes * tiles_per_image(); }
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

// Images per block: a multiple of kLanes whose transformed operands (16 x channels x tiles
// floats each) are about kBlockFloats, at least one group of lanes.
int images_per_block(const Correlation& g) {
  const int64_t widest = std::max(g.in_channels, g.out_channels);
  const int64_t tiles = kBlockFloats / (kTransformed * widest);
  const int64_t groups =
      std::clamp<int64_t>(tiles / (int64_t(kLanes) * g.tiles_per_image()), 1, lane_groups(g.batch));
  return static_cast<int>(groups) * kLanes;
}

// Scratch reused across calls on the calling thread: fresh memory is expensive here
// (docs/design.md, section 5, performance). 0: transformed filters, 1 and 2: a block's
// transformed operands, 3: the transformed filters before packing.
float* scratch(int which, size_t floats) {
  thread_local std::vector<float> buffers[4];
  if (buffers[which].size() < floats) buffers[which].resize(floats);
  return buffers[which].data();
}

// One channel of up to kLanes images, interleaved inside a zero-filled frame: frame pixel
// (r, q) holds the images' values side by side, lanes past the last image zero; the planes'
// (0, 0) is at (top, left). Per thread.
struct LaneFrame {
  std::vector<float> values;
  int cols = 0;
  vec8 at(int r, int q) const { return load8(values.data() + (int64_t(r) * cols + q) * kLanes); }

  // `lanes` planes of h x w, plane l at first_plane + l * plane_stride.
  void fill(const float* first_plane, int64_t plane_stride, int lanes, int h, int w, int rows,
            int frame_cols, int top, int left) {
    cols = frame_cols;
    values.assign(size_t(rows) * cols * kLanes, 0.f);
    const int r0 = std::max(0, -top), r1 = std::min(h, rows - top);
    const int q0 = std::max(0, -left), q1 = std::min(w, cols - left);
    for (int lane = 0; lane < lanes; ++lane) {
      const float* plane = first_plane + lane * plane_stride;
      for (int r = r0; r < r1; ++r) {
        float* pixel = values.data() + (int64_t(r + top) * cols + left) * kLanes + lane;
        for (int q = q0; q < q1; ++q) pixel[q * kLanes] = plane[r * w + q];
      }
    }
  }
};

// u[e] = (G g G^T)[e] for the filter g from output channel o to input channel c, at row o and
// column c of the out_channels x in_channels matrix u[e], stored packed as the GEMM's A
// operand (kernels/cpu/gemm_packed.h); with rotate_transpose the filter is w'[o][c] = w[c][o]
// rotated by 180 degrees (backward-data). Eight filters at once, one per lane, into plain
// matrices, then packed: stores straight into the packed order, 6 floats apart, took longer
// than the two passes (the 512-channel layer has 16 MB of transformed filters).
void transform_filters(const float* w, int out_channels, int in_channels, bool rotate_transpose,
                       float* u) {
  const int64_t count = int64_t(out_channels) * in_channels;
  float* plain = scratch(3, kTransformed * count);  // [16][out][in]
#pragma omp parallel for
  for (int64_t first = 0; first < count; first += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, count - first));
    float taps[3][3][kLanes] = {};  // taps[r][q][lane]
    for (int lane = 0; lane < lanes; ++lane) {
      const int64_t i = first + lane;
      const int64_t o = i / in_channels, c = i % in_channels;
      for (int r = 0; r < 3; ++r) {
        for (int q = 0; q < 3; ++q) {
          taps[r][q][lane] = rotate_transpose
                                 ? w[(c * out_channels + o) * 9 + (2 - r) * 3 + (2 - q)]
                                 : w[i * 9 + r * 3 + q];
        }
      }
    }
    vec8 g[3][3], t[4][4];
    for (int r = 0; r < 3; ++r)
      for (int q = 0; q < 3; ++q) g[r][q] = load8(taps[r][q]);
    transform_2d<3, 4>(g, t, winograd::Filter1d{});
    for (int e = 0; e < kTransformed; ++e) {
      float* row = plain + e * count + first;
      if (lanes == kLanes) {
        store8(row, t[e / 4][e % 4]);
      } else {
        for (int lane = 0; lane < lanes; ++lane) row[lane] = t[e / 4][e % 4][lane];
      }
    }
  }
  for (int e = 0; e < kTransformed; ++e) {
    packed::pack_a(false, out_channels, in_channels, plain + e * count,
                   u + e * packed::a_floats(out_channels, in_channels));
  }
}

// Where a transform reads its tiles: `channels` planes of h x w per image, tile (ty, tx)
// starting at row 2 ty - pad_h and column 2 tx - pad_w (zero outside the plane).
struct TileSource {
  const float* planes;
  int channels, h, w, pad_h, pad_w;
};

// How a block's transformed operand is stored: for each of the 16 elements e, a channels x
// columns matrix, either row-major (backward-weight's GEMMs read it transposed) or packed as
// the GEMM's B operand (kernels/cpu/gemm_packed.h; forward and backward-data), which saves
// the GEMM a copy of it.
struct Transformed {
  int channels, columns;
  bool packed;
  int64_t per_element() const {
    return packed ? packed::b_floats(channels, columns) : int64_t(channels) * columns;
  }
  // Where (c, column) of element 0 goes: 8 columns from a multiple of 8 are contiguous.
  int64_t offset(int c, int column) const {
    return packed ? packed::b_offset(c, column, channels, columns) : int64_t(c) * columns + column;
  }
};

// (T d T^T)[e] for the In x In tile d of every plane c of the block's images (images first ..
// first + images), T the 1-D transform (In -> 4 points), to row c of element e of `out`, at
// the columns numbered as the file's comment says. Call inside a parallel region.
template <int In, class Transform1d>
void transform_tiles(const Correlation& g, const TileSource& src, int first, int images,
                     Transform1d transform, LaneFrame& frame, bool packed, float* out) {
  const int tiles_w = g.tiles_w(), tiles = g.tiles_per_image();
  const int frame_rows = 2 * g.tiles_h() + In - 2, frame_cols = 2 * tiles_w + In - 2;
  const Transformed layout{src.channels, g.columns(images), packed};
  const int64_t plane = int64_t(src.h) * src.w, per_element = layout.per_element();
#pragma omp for schedule(static)
  for (int64_t task = 0; task < int64_t(lane_groups(images)) * src.channels; ++task) {
    const int group = static_cast<int>(task / src.channels),
              c = static_cast<int>(task % src.channels);
    const int image = first + group * kLanes, lanes = std::min(kLanes, first + images - image);
    frame.fill(src.planes + (int64_t(image) * src.channels + c) * plane, src.channels * plane,
               lanes, src.h, src.w, frame_rows, frame_cols, src.pad_h, src.pad_w);
    int column = group * tiles * kLanes;
    for (int ty = 0; ty < g.tiles_h(); ++ty) {
      for (int tx = 0; tx < tiles_w; ++tx, column += kLanes) {
        vec8 d[In][In], t[4][4];
        for (int a = 0; a < In; ++a)
          for (int b = 0; b < In; ++b) d[a][b] = frame.at(2 * ty + a, 2 * tx + b);
        transform_2d<In, 4>(d, t, transform);
        float* to = out + layout.offset(c, column);
        for (int e = 0; e < kTransformed; ++e) store8(to + e * per_element, t[e / 4][e % 4]);
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

// out[image][o][2ty + a][2tx + b] = (A^T m A)[a][b] + bias[o], from m[e][o][column], eight
// images at once; each lane's values then go to its own image's plane. Call inside a parallel
// region.
void write_outputs(const Correlation& g, const float* m, int first, int images, const float* bias,
                   float* out) {
  const int tiles_w = g.tiles_w(), tiles = g.tiles_per_image();
  const int64_t columns = g.columns(images), plane = int64_t(g.out_h) * g.out_w;
#pragma omp for schedule(static)
  for (int64_t task = 0; task < int64_t(lane_groups(images)) * g.out_channels; ++task) {
    const int group = static_cast<int>(task / g.out_channels),
              o = static_cast<int>(task % g.out_channels);
    const int image = first + group * kLanes, lanes = std::min(kLanes, first + images - image);
    const float b = bias ? bias[o] : 0.f;
    float* planes = out + (int64_t(image) * g.out_channels + o) * plane;
    const float* column = m + o * columns + int64_t(group) * tiles * kLanes;
    for (int ty = 0; ty < g.tiles_h(); ++ty) {
      for (int tx = 0; tx < tiles_w; ++tx, column += kLanes) {
        vec8 mm[4][4], y[2][2];
        for (int e = 0; e < kTransformed; ++e)
          mm[e / 4][e % 4] = load8(column + e * g.out_channels * columns);
        transform_2d<4, 2>(mm, y, winograd::Output1d{});
        const int rows = std::min(2, g.out_h - 2 * ty), cols = std::min(2, g.out_w - 2 * tx);
        for (int lane = 0; lane < lanes; ++lane) {
          float* p = planes + lane * g.out_channels * plane + (2 * ty) * g.out_w + 2 * tx;
          for (int a = 0; a < rows; ++a)
            for (int q = 0; q < cols; ++q) p[a * g.out_w + q] = y[a][q][lane] + b;
        }
      }
    }
  }
}

// The forward formula, block by block: used by forward and backward-data. u holds the
// transformed filters: 16 out x in matrices, packed.
void correlate(const Correlation& g, const float* in, const float* u, const float* bias,
               float* out) {
  const int block = images_per_block(g);
  const int most_columns = g.columns(block);
  float* v = scratch(1, kTransformed * packed::b_floats(g.in_channels, most_columns));
  float* m = scratch(2, size_t(kTransformed) * g.out_channels * most_columns);
  const int64_t filters = packed::a_floats(g.out_channels, g.in_channels);
#pragma omp parallel
  {
    LaneFrame frame;
    for (int first = 0; first < g.batch; first += block) {
      const int images = std::min(block, g.batch - first);
      const int columns = g.columns(images);
      transform_tiles<4>(g, input_tiles(g, in), first, images, winograd::Input1d{}, frame, true, v);
      // m[e] = u[e] v[e]: [out x in] x [in x columns], one GEMM per element e (the implicit
      // barrier of each `omp for` separates the phases).
#pragma omp for schedule(static)
      for (int e = 0; e < kTransformed; ++e) {
        packed::gemm(g.out_channels, columns, g.in_channels, u + e * filters,
                     v + e * packed::b_floats(g.in_channels, columns), 0.f,
                     m + int64_t(e) * g.out_channels * columns, columns);
      }
      write_outputs(g, m, first, images, bias, out);
    }
  }
}

}  // namespace

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y) {
  float* u = scratch(0, kTransformed * packed::a_floats(s.out_channels, s.in_channels));
  transform_filters(w, s.out_channels, s.in_channels, false, u);
  correlate(forward_correlation(s), x, u, bias, y);
}

void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  float* u = scratch(0, kTransformed * packed::a_floats(s.in_channels, s.out_channels));
  transform_filters(w, s.in_channels, s.out_channels, true, u);
  correlate(backward_data_correlation(s), dy, u, nullptr, dx);
}

void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const Correlation g = forward_correlation(s);  // tiles over dy; x read as 4x4 tiles around them
  const int block = images_per_block(g);
  const int64_t most_columns = g.columns(block);
  const int64_t filters = int64_t(g.out_channels) * g.in_channels;
  float* du = scratch(0, size_t(kTransformed) * filters);  // [16][K][C], summed over blocks
  float* xt = scratch(1, size_t(kTransformed) * g.in_channels * most_columns);
  float* dyt = scratch(2, size_t(kTransformed) * g.out_channels * most_columns);
#pragma omp parallel
  {
    LaneFrame frame;
    for (int first = 0; first < g.batch; first += block) {
      const int images = std::min(block, g.batch - first);
      const int columns = g.columns(images);
      transform_tiles<4>(g, input_tiles(g, x), first, images, winograd::WgradInput1d{}, frame,
                         false, xt);
      transform_tiles<2>(g, dy_tiles(g, dy), first, images, winograd::WgradDy1d{}, frame, false,
                         dyt);
      // du[e] (+)= dyt[e] xt[e]^T: [K x columns] x [columns x C]; element e always on the same
      // thread (static schedule), so the sum over blocks has a fixed order.
#pragma omp for schedule(static)
      for (int e = 0; e < kTransformed; ++e) {
        gemm(false, true, g.out_channels, g.in_channels, columns, 1.f,
             dyt + int64_t(e) * g.out_channels * columns, xt + int64_t(e) * g.in_channels * columns,
             first == 0 ? 0.f : 1.f, du + e * filters);
      }
    }
    // dw[k][c] = (A^T du A), 3x3, eight filters at once.
#pragma omp for
    for (int64_t i = 0; i < filters; i += kLanes) {
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, filters - i));
      float sums[kTransformed][kLanes] = {};
      for (int e = 0; e < kTransformed; ++e)
        for (int lane = 0; lane < lanes; ++lane) sums[e][lane] = du[e * filters + i + lane];
      vec8 mm[4][4], out[3][3];
      for (int e = 0; e < kTransformed; ++e) mm[e / 4][e % 4] = load8(sums[e]);
      transform_2d<4, 3>(mm, out, winograd::WgradOutput1d{});
      for (int lane = 0; lane < lanes; ++lane)
        for (int r = 0; r < 3; ++r)
          for (int q = 0; q < 3; ++q) dw[(i + lane) * 9 + r * 3 + q] = out[r][q][lane];
    }
  }
}

}  // namespace minidl::kernels::cpu
