// CPU Winograd convolution for 3x3 kernels with stride 1: the transforms of
// kernels/winograd_transforms.h (the 2x2 tiles' shared with the CUDA version), one GEMM per
// transformed element for each block of tiles, and 2.25x (2x2 tiles) or 4x (4x4 tiles) fewer
// multiply-adds than im2col + GEMM.
//
// The three passes, in tiles of 4x4 when the convolution's output is at least 4x4 and of 2x2
// otherwise (winograd_tile() is the rule):
//   forward          y = conv(x, w): F(4x4, 3x3), 6x6 input tiles and 36 GEMMs, or
//                    F(2x2, 3x3), 4x4 input tiles and 16 GEMMs
//   backward-data    dx = conv(dy, w') with w'[c][k] = w[k][c] rotated by 180 degrees and
//                    padding 2 - pad: the forward formula again
//   backward-weight  dw[k][c] = sum over the dy tiles of F(3x3, 4x4) (or F(3x3, 2x2), as
//                    kernels/cuda/conv2d_winograd.cu) of the x tile around the dy tile; its
//                    GEMMs reduce over the tiles.
// The 4x4 tiles measured 1.1-1.5x faster than the 2x2 ones on the 16x16, 8x8 and 4x4 layers
// (bench_conv2d_cpu, docs/benchmarks.md); their float32 error is a few times larger
// (tests/test_conv_algorithms_cpu.cpp).
//
// Cache blocking: the batch is processed a few images at a time, few enough that a block's
// transformed operands (16 or 36 x channels x tiles floats each) stay about 4 MB: transformed,
// multiplied and transformed back while still in cache (the whole batch's transformed input
// would be 4x the input: 134 MB for the first layers at batch 128). Within a block the
// transforms are split over the OpenMP threads by plane and the GEMMs by element, each GEMM
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
#include "minidl/kernels/cpu/conv2d_winograd.h"

#include <omp.h>

#include <algorithm>

#include "minidl/kernels/cpu/gemm_packed.h"
#include "minidl/kernels/cpu/vector8.h"
#include "minidl/kernels/gemm.h"
#include "minidl/kernels/winograd_transforms.h"

namespace minidl::kernels::cpu {

namespace {

using winograd::transform_2d;

constexpr int kLanes = 8;                  // images per vector (a vec8)
constexpr int64_t kBlockFloats = 1 << 20;  // per transformed operand of a block: 4 MB

int lane_groups(int images) { return (images + kLanes - 1) / kLanes; }

// The forward formula's two tiles: kOut x kOut outputs from a kIn x kIn input tile, through
// kIn * kIn transformed values (and as many GEMMs).
struct F2x2 {
  static constexpr int kOut = 2, kIn = 4, kTransformed = kIn * kIn;
  using Input = winograd::Input1d;
  using Filter = winograd::Filter1d;
  using Output = winograd::Output1d;
};
struct F4x4 {
  static constexpr int kOut = 4, kIn = 6, kTransformed = kIn * kIn;
  using Input = winograd::InputF4_1d;
  using Filter = winograd::FilterF4_1d;
  using Output = winograd::OutputF4_1d;
};
// Backward-weight's two tiles: kDy x kDy dy tiles, kIn x kIn x tiles around them, kIn * kIn
// transformed values (and GEMMs).
struct W2x2 {  // F(3x3, 2x2)
  static constexpr int kDy = 2, kIn = 4, kTransformed = kIn * kIn;
  using Input = winograd::WgradInput1d;
  using Dy = winograd::WgradDy1d;
  using Output = winograd::WgradOutput1d;
};
struct W4x4 {  // F(3x3, 4x4)
  static constexpr int kDy = 4, kIn = 6, kTransformed = kIn * kIn;
  using Input = winograd::InputF4_1d;
  using Dy = winograd::WgradDyF4_1d;
  using Output = winograd::WgradOutputF4_1d;
};

// One stride-1 3x3 correlation as Winograd sees it: in_channels planes of in_h x in_w (zero
// outside, offset by the padding) to out_channels planes of out_h x out_w, in tile x tile
// output tiles numbered row by row within an image.
struct Correlation {
  int batch, in_channels, in_h, in_w, out_channels, out_h, out_w, pad_h, pad_w, tile;
  int tiles_h() const { return (out_h + tile - 1) / tile; }
  int tiles_w() const { return (out_w + tile - 1) / tile; }
  int tiles_per_image() const { return tiles_h() * tiles_w(); }
  // The GEMMs' columns for a block of `images`: every tile of every lane of its groups.
  int columns(int images) const { return lane_groups(images) * kLanes * tiles_per_image(); }
};

Correlation forward_correlation(const Conv2dShape& s, int tile) {
  return {s.batch,   s.in_channels, s.in_h,  s.in_w,  s.out_channels,
          s.out_h(), s.out_w(),     s.pad_h, s.pad_w, tile};
}

// dx = conv(dy, rotated w^T) with padding 2 - pad: dy is the input, dx the output.
Correlation backward_data_correlation(const Conv2dShape& s, int tile) {
  return {s.batch, s.out_channels, s.out_h(),   s.out_w(),   s.in_channels,
          s.in_h,  s.in_w,         2 - s.pad_h, 2 - s.pad_w, tile};
}

// Images per block: a multiple of kLanes whose transformed operands (`transformed` x channels
// x tiles floats each) are about kBlockFloats, at least one group of lanes. That floor is
// large for large planes (224x224 images with 64 channels: about 230 MB per operand); splitting
// a group's tiles over several blocks would bound it, but the reference model's planes
// (16x16 and smaller) already fit 24 or more images in a block.
int images_per_block(const Correlation& corr, int transformed) {
  const int64_t widest = std::max(corr.in_channels, corr.out_channels);
  const int64_t tiles = kBlockFloats / (transformed * widest);
  const int64_t groups = std::clamp<int64_t>(tiles / (int64_t(kLanes) * corr.tiles_per_image()), 1,
                                             lane_groups(corr.batch));
  return static_cast<int>(groups) * kLanes;
}

// Floats of a lane frame (below) for a correlation's tiles of in x in.
int64_t frame_floats(const Correlation& corr, int in) {
  const int step = corr.tile;
  return int64_t(step * corr.tiles_h() + in - step) * (step * corr.tiles_w() + in - step) * kLanes;
}

// A pass's workspace (winograd_workspace floats) and its parts. Shared by the threads: the
// transformed filters (packed, and before packing; backward-weight: their summed gradients)
// and a block's two transformed operands (forward and backward-data: the tiles v and the
// products m; backward-weight: x's and dy's tiles). Per thread: a lane frame and, in
// backward-weight, the GEMM's packing scratch. (These were `thread_local` buffers, invisible
// to the allocator; reusing memory across calls was measured to matter here, docs/design.md
// section 5, and the caching allocator now does that reuse.)
struct Scratch {
  int64_t filters = 0, plain = 0, first = 0, second = 0;  // shared
  int64_t frame = 0, gemm = 0;                            // per thread
  int threads = 1;
  int64_t floats() const { return filters + plain + first + second + threads * (frame + gemm); }
};
struct ScratchBuffers {
  float *filters, *plain, *first, *second;
  float *frames, *gemms;  // thread t's at + t * frame (gemm)
};
ScratchBuffers buffers_of(const Scratch& sc, float* workspace) {
  ScratchBuffers b;
  b.filters = workspace;
  b.plain = b.filters + sc.filters;
  b.first = b.plain + sc.plain;
  b.second = b.first + sc.first;
  b.frames = b.second + sc.second;
  b.gemms = b.frames + sc.threads * sc.frame;
  return b;
}

// One channel of up to kLanes images, interleaved inside a zero-filled frame: frame pixel
// (r, q) holds the images' values side by side, lanes past the last image zero; the planes'
// (0, 0) is at (top, left). Per thread, in the thread's part of the workspace.
struct LaneFrame {
  float* values;
  int cols = 0;
  vec8 at(int r, int q) const { return load8(values + (int64_t(r) * cols + q) * kLanes); }

  // `lanes` planes of h x w, plane l at first_plane + l * plane_stride.
  void fill(const float* first_plane, int64_t plane_stride, int lanes, int h, int w, int rows,
            int frame_cols, int top, int left) {
    cols = frame_cols;
    std::fill(values, values + int64_t(rows) * cols * kLanes, 0.f);
    const int r0 = std::max(0, -top), r1 = std::min(h, rows - top);
    const int q0 = std::max(0, -left), q1 = std::min(w, cols - left);
    for (int lane = 0; lane < lanes; ++lane) {
      const float* plane = first_plane + lane * plane_stride;
      for (int r = r0; r < r1; ++r) {
        float* pixel = values + (int64_t(r + top) * cols + left) * kLanes + lane;
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
template <class F>
void transform_filters(const float* w, int out_channels, int in_channels, bool rotate_transpose,
                       int threads, float* plain, float* u) {
  constexpr int kIn = F::kIn, kTransformed = F::kTransformed;
  const int64_t count = int64_t(out_channels) * in_channels;  // plain: [kTransformed][out][in]
#pragma omp parallel for num_threads(threads)
  for (int64_t first = 0; first < count; first += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, count - first));
    float taps[3][3][kLanes] = {};  // taps[r][q][lane]
    for (int lane = 0; lane < lanes; ++lane) {
      const int64_t i = first + lane;
      const int64_t o = i / in_channels, c = i % in_channels;
      for (int r = 0; r < 3; ++r) {
        for (int q = 0; q < 3; ++q) {
          // The layer's input channels: in_channels forward, out_channels for backward-data.
          const int layer_in = rotate_transpose ? out_channels : in_channels;
          taps[r][q][lane] = w[winograd::filter_tap(o, c, r, q, layer_in, rotate_transpose)];
        }
      }
    }
    vec8 filter[3][3], t[kIn][kIn];  // g in the paper's G g G^T
    for (int r = 0; r < 3; ++r)
      for (int q = 0; q < 3; ++q) filter[r][q] = load8(taps[r][q]);
    transform_2d<3, kIn>(filter, t, typename F::Filter{});
    for (int e = 0; e < kTransformed; ++e) {
      float* row = plain + e * count + first;
      if (lanes == kLanes) {
        store8(row, t[e / kIn][e % kIn]);
      } else {
        for (int lane = 0; lane < lanes; ++lane) row[lane] = t[e / kIn][e % kIn][lane];
      }
    }
  }
  for (int e = 0; e < kTransformed; ++e) {
    packed::pack_a(false, out_channels, in_channels, plain + e * count,
                   u + e * packed::a_floats(out_channels, in_channels));
  }
}

// Where a transform reads its tiles: `channels` planes of h x w per image, tile (ty, tx)
// starting at row corr.tile ty - pad_h and column corr.tile tx - pad_w (zero outside the plane).
struct TileSource {
  const float* planes;
  int channels, h, w, pad_h, pad_w;
};

// How a block's transformed operand is stored: for each transformed element e, a channels x
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
// first + images), tile (ty, tx) starting corr.tile ty rows and corr.tile tx columns in, T the 1-D
// transform (In -> Points points), to row c of element e of `out`, at the columns numbered as
// the file's comment says. Call inside a parallel region.
template <int In, int Points, class Transform1d>
void transform_tiles(const Correlation& corr, const TileSource& src, int first, int images,
                     Transform1d transform, LaneFrame& frame, bool packed, float* out) {
  const int tiles_w = corr.tiles_w(), tiles = corr.tiles_per_image(), step = corr.tile;
  const int frame_rows = step * corr.tiles_h() + In - step, frame_cols = step * tiles_w + In - step;
  const Transformed layout{src.channels, corr.columns(images), packed};
  const int64_t plane = int64_t(src.h) * src.w, per_element = layout.per_element();
#pragma omp for schedule(static)
  for (int64_t task = 0; task < int64_t(lane_groups(images)) * src.channels; ++task) {
    const int group = static_cast<int>(task / src.channels),
              c = static_cast<int>(task % src.channels);
    const int image = first + group * kLanes, lanes = std::min(kLanes, first + images - image);
    frame.fill(src.planes + (int64_t(image) * src.channels + c) * plane, src.channels * plane,
               lanes, src.h, src.w, frame_rows, frame_cols, src.pad_h, src.pad_w);
    int column = group * tiles * kLanes;
    for (int ty = 0; ty < corr.tiles_h(); ++ty) {
      for (int tx = 0; tx < tiles_w; ++tx, column += kLanes) {
        vec8 d[In][In], t[Points][Points];
        for (int a = 0; a < In; ++a)
          for (int b = 0; b < In; ++b) d[a][b] = frame.at(step * ty + a, step * tx + b);
        transform_2d<In, Points>(d, t, transform);
        float* to = out + layout.offset(c, column);
        for (int e = 0; e < Points * Points; ++e)
          store8(to + e * per_element, t[e / Points][e % Points]);
      }
    }
  }
}

// The input tiles of a correlation (forward, backward-data, and x in backward-weight).
TileSource input_tiles(const Correlation& corr, const float* in) {
  return {in, corr.in_channels, corr.in_h, corr.in_w, corr.pad_h, corr.pad_w};
}

// Backward-weight's dy tiles: the outputs of the forward pass, zero past the edge.
TileSource dy_tiles(const Correlation& corr, const float* dy) {
  return {dy, corr.out_channels, corr.out_h, corr.out_w, 0, 0};
}

// out[image][o][kOut ty + a][kOut tx + b] = (A^T m A)[a][b] + bias[o], from m[e][o][column], eight
// images at once; each lane's values then go to its own image's plane. Call inside a parallel
// region.
template <class F>
void write_outputs(const Correlation& corr, const float* m, int first, int images,
                   const float* bias, float* out) {
  constexpr int kIn = F::kIn, kOut = F::kOut;
  const int tiles_w = corr.tiles_w(), tiles = corr.tiles_per_image();
  const int64_t columns = corr.columns(images), plane = int64_t(corr.out_h) * corr.out_w;
#pragma omp for schedule(static)
  for (int64_t task = 0; task < int64_t(lane_groups(images)) * corr.out_channels; ++task) {
    const int group = static_cast<int>(task / corr.out_channels),
              o = static_cast<int>(task % corr.out_channels);
    const int image = first + group * kLanes, lanes = std::min(kLanes, first + images - image);
    const float b = bias ? bias[o] : 0.f;
    float* planes = out + (int64_t(image) * corr.out_channels + o) * plane;
    const float* column = m + o * columns + int64_t(group) * tiles * kLanes;
    for (int ty = 0; ty < corr.tiles_h(); ++ty) {
      for (int tx = 0; tx < tiles_w; ++tx, column += kLanes) {
        vec8 mm[kIn][kIn], y[kOut][kOut];
        for (int e = 0; e < F::kTransformed; ++e)
          mm[e / kIn][e % kIn] = load8(column + e * corr.out_channels * columns);
        transform_2d<kIn, kOut>(mm, y, typename F::Output{});
        const int rows = std::min(kOut, corr.out_h - kOut * ty);
        const int cols = std::min(kOut, corr.out_w - kOut * tx);
        for (int lane = 0; lane < lanes; ++lane) {
          float* p =
              planes + lane * corr.out_channels * plane + (kOut * ty) * corr.out_w + kOut * tx;
          for (int a = 0; a < rows; ++a)
            for (int q = 0; q < cols; ++q) p[a * corr.out_w + q] = y[a][q][lane] + b;
        }
      }
    }
  }
}

// The workspace of the forward formula (forward and backward-data) with tile F.
template <class F>
Scratch correlate_scratch(const Correlation& corr, int threads) {
  const int most_columns = corr.columns(images_per_block(corr, F::kTransformed));
  Scratch sc;
  sc.filters = F::kTransformed * packed::a_floats(corr.out_channels, corr.in_channels);
  sc.plain = int64_t(F::kTransformed) * corr.out_channels * corr.in_channels;
  sc.first = F::kTransformed * packed::b_floats(corr.in_channels, most_columns);  // v
  sc.second = int64_t(F::kTransformed) * corr.out_channels * most_columns;        // m
  sc.frame = frame_floats(corr, F::kIn);
  sc.threads = threads;
  return sc;
}

// The forward formula, block by block: used by forward and backward-data. u holds the
// transformed filters: F::kTransformed out x in matrices, packed.
template <class F>
void correlate(const Correlation& corr, const float* in, const float* u, const float* bias,
               float* out, const Scratch& sc, const ScratchBuffers& b) {
  constexpr int kTransformed = F::kTransformed;
  const int block = images_per_block(corr, kTransformed);
  float* v = b.first;
  float* m = b.second;
  const int64_t filters = packed::a_floats(corr.out_channels, corr.in_channels);
#pragma omp parallel num_threads(sc.threads)
  {
    LaneFrame frame{b.frames + omp_get_thread_num() * sc.frame};
    for (int first = 0; first < corr.batch; first += block) {
      const int images = std::min(block, corr.batch - first);
      const int columns = corr.columns(images);
      transform_tiles<F::kIn, F::kIn>(corr, input_tiles(corr, in), first, images,
                                      typename F::Input{}, frame, true, v);
      // m[e] = u[e] v[e]: [out x in] x [in x columns], one GEMM per element e (the implicit
      // barrier of each `omp for` separates the phases).
#pragma omp for schedule(static)
      for (int e = 0; e < kTransformed; ++e) {
        packed::gemm(corr.out_channels, columns, corr.in_channels, u + e * filters,
                     v + e * packed::b_floats(corr.in_channels, columns), 0.f,
                     m + int64_t(e) * corr.out_channels * columns, columns);
      }
      write_outputs<F>(corr, m, first, images, bias, out);
    }
  }
}

// Forward and backward-data with tile F: backward-data is the forward formula on dy with the
// filters rotated and transposed (backward_data_correlation).
template <class F>
void correlate_pass(const Correlation& corr, const float* in, const float* w, bool rotate_transpose,
                    const float* bias, float* out, float* workspace, int threads) {
  const Scratch sc = correlate_scratch<F>(corr, threads);
  const ScratchBuffers b = buffers_of(sc, workspace);
  transform_filters<F>(w, corr.out_channels, corr.in_channels, rotate_transpose, threads, b.plain,
                       b.filters);
  correlate<F>(corr, in, b.filters, bias, out, sc, b);
}

// Backward-weight's workspace with tile W.
template <class W>
Scratch backward_weight_scratch(const Correlation& corr, int threads) {
  const int most_columns = corr.columns(images_per_block(corr, W::kTransformed));
  Scratch sc;
  sc.filters = int64_t(W::kTransformed) * corr.out_channels * corr.in_channels;  // du, summed
  sc.first = int64_t(W::kTransformed) * corr.in_channels * most_columns;         // x's tiles
  sc.second = int64_t(W::kTransformed) * corr.out_channels * most_columns;       // dy's tiles
  sc.frame = frame_floats(corr, W::kIn);  // the larger of x's and dy's tiles
  sc.gemm = gemm_workspace(corr.out_channels, corr.in_channels, most_columns, 1);
  sc.threads = threads;
  return sc;
}

// Backward-weight with tile W: dy in W::kDy x W::kDy tiles, x read as W::kIn x W::kIn tiles
// around them.
template <class W>
void backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                     float* workspace, int threads) {
  constexpr int kIn = W::kIn, kTransformed = W::kTransformed;
  const Correlation corr = forward_correlation(s, W::kDy);
  const int block = images_per_block(corr, kTransformed);
  const int64_t filters = int64_t(corr.out_channels) * corr.in_channels;
  const Scratch sc = backward_weight_scratch<W>(corr, threads);
  const ScratchBuffers b = buffers_of(sc, workspace);
  float* du = b.filters;  // [kTransformed][K][C], summed
  float* xt = b.first;
  float* dyt = b.second;
#pragma omp parallel num_threads(threads)
  {
    LaneFrame frame{b.frames + omp_get_thread_num() * sc.frame};
    float* gemm_scratch = b.gemms + omp_get_thread_num() * sc.gemm;
    for (int first = 0; first < corr.batch; first += block) {
      const int images = std::min(block, corr.batch - first);
      const int columns = corr.columns(images);
      transform_tiles<kIn, kIn>(corr, input_tiles(corr, x), first, images, typename W::Input{},
                                frame, false, xt);
      transform_tiles<W::kDy, kIn>(corr, dy_tiles(corr, dy), first, images, typename W::Dy{}, frame,
                                   false, dyt);
      // du[e] (+)= dyt[e] xt[e]^T: [K x columns] x [columns x C]; element e always on the same
      // thread (static schedule), so the sum over blocks has a fixed order.
#pragma omp for schedule(static)
      for (int e = 0; e < kTransformed; ++e) {
        gemm(false, true, corr.out_channels, corr.in_channels, columns, 1.f,
             dyt + int64_t(e) * corr.out_channels * columns,
             xt + int64_t(e) * corr.in_channels * columns, first == 0 ? 0.f : 1.f, du + e * filters,
             gemm_scratch);
      }
    }
    // dw[k][c] = (A^T du A), 3x3, eight filters at once.
#pragma omp for
    for (int64_t i = 0; i < filters; i += kLanes) {
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, filters - i));
      float sums[kTransformed][kLanes] = {};
      for (int e = 0; e < kTransformed; ++e)
        for (int lane = 0; lane < lanes; ++lane) sums[e][lane] = du[e * filters + i + lane];
      vec8 mm[kIn][kIn], out[3][3];
      for (int e = 0; e < kTransformed; ++e) mm[e / kIn][e % kIn] = load8(sums[e]);
      transform_2d<kIn, 3>(mm, out, typename W::Output{});
      for (int lane = 0; lane < lanes; ++lane)
        for (int r = 0; r < 3; ++r)
          for (int q = 0; q < 3; ++q) dw[(i + lane) * 9 + r * 3 + q] = out[r][q][lane];
    }
  }
}

}  // namespace

int winograd_tile(const Conv2dShape& s) { return s.out_h() >= 4 && s.out_w() >= 4 ? 4 : 2; }

int64_t winograd_workspace(const Conv2dShape& s, Conv2dPass pass, int tile, int threads) {
  switch (pass) {
    case Conv2dPass::Forward:
      return tile == 4 ? correlate_scratch<F4x4>(forward_correlation(s, 4), threads).floats()
                       : correlate_scratch<F2x2>(forward_correlation(s, 2), threads).floats();
    case Conv2dPass::BackwardData:
      return tile == 4 ? correlate_scratch<F4x4>(backward_data_correlation(s, 4), threads).floats()
                       : correlate_scratch<F2x2>(backward_data_correlation(s, 2), threads).floats();
    case Conv2dPass::BackwardWeight: break;
  }
  return tile == 4 ? backward_weight_scratch<W4x4>(forward_correlation(s, 4), threads).floats()
                   : backward_weight_scratch<W2x2>(forward_correlation(s, 2), threads).floats();
}

void winograd_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      float* y, int tile, float* workspace, int threads) {
  if (tile == 4) {
    correlate_pass<F4x4>(forward_correlation(s, 4), x, w, false, bias, y, workspace, threads);
  } else {
    correlate_pass<F2x2>(forward_correlation(s, 2), x, w, false, bias, y, workspace, threads);
  }
}

void winograd_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                            int tile, float* workspace, int threads) {
  if (tile == 4) {
    correlate_pass<F4x4>(backward_data_correlation(s, 4), dy, w, true, nullptr, dx, workspace,
                         threads);
  } else {
    correlate_pass<F2x2>(backward_data_correlation(s, 2), dy, w, true, nullptr, dx, workspace,
                         threads);
  }
}

void winograd_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                              int tile, float* workspace, int threads) {
  if (tile == 4) {
    backward_weight<W4x4>(s, x, dy, dw, workspace, threads);
  } else {
    backward_weight<W2x2>(s, x, dy, dw, workspace, threads);
  }
}

}  // namespace minidl::kernels::cpu
