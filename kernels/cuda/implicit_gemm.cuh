// The matrix-multiply core behind the three convolution passes (kernels/cuda/conv2d.cu):
// C[M x N] = A[M x K] * B[K x N], where A and B are never stored as matrices. A "problem"
// object computes each element straight from the NCHW tensors (implicit GEMM) and says where
// each element of C goes. This file knows nothing about convolutions. Read the v1 kernel first
// (kernels/cuda/conv2d_tiled.cu: the same idea with 64x64 tiles and nothing else); this one is
// what v1 became, step by measured step.
//
// The GEMM as a loop nest (compare kernels/cpu/gemm.cpp), and which loops the hardware runs:
//   for g in groups                       blockIdx.z / slices   independent GEMMs, one launch
//    for slice in slices                  blockIdx.z % slices   split-K: a part of the reduction
//     for m0 in 0..M step TileM           blockIdx.y            a block owns TileM x TileN of C
//      for n0 in 0..N step TileN          blockIdx.x
//       for k0 in slice step kTileK       (in the block)        fetch step k0 + kTileK to
//                                                               registers while multiplying k0
//        for (i, j) in 8 x 8              (per thread)          kAccumulators = 64 sums in
//         for kk in 0..kTileK                                   registers: 16 loads, 64 FMAs
//
// The thread-to-element map of a 128 x 128 tile (256 threads, 8 warps). The tile is four
// 64 x 64 quadrants, and thread (tx, ty) owns the same 4 x 4 square in each of them:
//                   columns tx*4 .. tx*4+3        columns 64 + tx*4 .. 64 + tx*4+3
//   rows ty*4..+3           quadrant 0                     quadrant 1
//   rows 64+ty*4..+3        quadrant 2                     quadrant 3
// Inside a quadrant (16 x 16 threads), warps and lanes are laid out as
//             tx 0..7   tx 8..15          and in each warp, lane l is
//   ty  0..3   warp 0    warp 1             tx = (warp's first) + l % 8,
//   ty  4..7   warp 2    warp 3             ty = (warp's first) + l / 8:
//   ty  8..11  warp 4    warp 5             8 lanes across, 4 down.
//   ty 12..15  warp 6    warp 7
// So one warp spans kWarpSpanN = 64 columns of C (8 lanes x 4 columns, in each half). With
// TileN = 64 there is one warp across and the warps stack; with TileM = 64 the quadrants
// are 32 rows high.
//
// How the work is cut (each step measured on an H200 against cuDNN; docs/results/gpu.md):
// - A block owns a TileM x TileN tile of C (64 or 128 each; the host picks per problem so the
//   grid fills the GPU), one thread an 8x8 sub-tile held in 64 registers: per step of the
//   reduction a thread reads 8 values of A and 8 of B from shared memory and does 64 FMAs.
//   The 8x8 is two 4x4 quadrants (rows ty*4.. and TileM/2 + ty*4..) so that neighbouring
//   threads read neighbouring 16-byte words: no shared-memory bank conflicts on the reads.
// - The reduction walks K in steps of kTileK = 8. A block has TileM * TileN / kAccumulators
//   threads, so each loads kTileK * kAccumulators / (other tile side) = 512 / (other side)
//   elements of A and of B per step. Who loads what depends on the operand's memory layout:
//   when K is the contiguous direction in memory (a weight row, an image row in
//   backward-weight) a thread loads a run of consecutive k; when M or N is (the pixels of an
//   image) consecutive threads load consecutive columns. Either way global reads coalesce.
// - Tiles are stored transposed, [k][m], with 4 floats of padding per row: the transposing
//   store of a K-contiguous operand would otherwise put 32 threads on a few banks (the old
//   kernel's 8.9 million bank conflicts per launch).
// - Double buffering: two tiles of each operand in shared memory. While the block multiplies
//   tile t, each thread already has tile t+1's values in flight from global memory into
//   registers, and stores them into the other buffer afterwards: one __syncthreads() per step
//   and the global latency hidden behind 512 FMAs.
// - Split-K: when the output has too few tiles to fill the GPU (the late layers; every
//   backward-weight), blockIdx.z also cuts the reduction into `slices`. Each slice writes its
//   partial C to a workspace and sum_slices_kernel adds them in a fixed order: bitwise
//   reproducible, no atomics.
// - Several independent GEMMs can share a launch ("groups", blockIdx.z / slices), each with its
//   own M, N, K: backward-data with stride 2 is four of them (kernels/cuda/conv2d.cu).
//
// The Problem concept (see ForwardGemm in conv2d.cu for a complete example):
//   kAContiguousK, kBContiguousK       which way each operand is laid out (see above)
//   Group group(int g) const           per-group view, computed once per block; a Group has
//     int M, N, K;
//     Row a_line(int m) / float a_load(const Row&, int k)      A(m, k), 0 outside the image
//     Col b_line(int n) / float b_load(const Col&, int k)      B(k, n)
//     int64_t c_column(int n)          where column n of C starts in the output, element
//     int64_t c_row_stride              (m, n) being at c_column(n) + m * c_row_stride;
//                                      c_column must be strictly increasing in n
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "minidl/kernels/cuda/launch.cuh"

// MINIDL_UNROLL (kernels/cuda/cuda_compat.cuh): nvcc unrolls only the innermost loops by
// itself; without it the step loop ran two k at a time, recomputing shared-memory addresses,
// ~40% more instructions than FMAs.

namespace minidl::kernels::cuda {

constexpr int kTileK = 8;          // reduction step
constexpr int kTilePad = 4;        // floats of padding per shared-memory tile row
constexpr int kAccumulators = 64;  // elements of C per thread: an 8 x 8 sub-tile
constexpr int kWarpSpanN = 64;     // columns of C one warp covers (8 lanes x 4, both halves)

// Threads in a block that owns a TileM x TileN tile of C.
constexpr int threads_for(int tile_m, int tile_n) { return tile_m * tile_n / kAccumulators; }

// v[0..3] = tile[index..index+3], index a multiple of 4: one 128-bit shared-memory load on the
// GPU (a quarter of the load instructions, and half the shared-memory wavefronts, of four
// scalar loads; nvcc does not vectorize them by itself). The emulator reads element by
// element, so its checks see every access.
template <class Tile>
__device__ inline void load4(Tile& tile, int index, float* v) {
#ifdef MINIDL_CUDA_EMULATION
  for (int i = 0; i < 4; ++i) v[i] = tile[index + i];
#else
  const float4 q = *reinterpret_cast<const float4*>(&tile[index]);
  v[0] = q.x;
  v[1] = q.y;
  v[2] = q.z;
  v[3] = q.w;
#endif
}

// at[0..3] = v[0..3], at 16-byte aligned: one 128-bit global store on the GPU.
__device__ inline void store4(float* at, const float* v) {
#ifdef MINIDL_CUDA_EMULATION
  for (int i = 0; i < 4; ++i) at[i] = v[i];
#else
  *reinterpret_cast<float4*>(at) = make_float4(v[0], v[1], v[2], v[3]);
#endif
}

// Which elements of an operand tile (Extent lines of A or B, by kTileK) thread `tid` loads in
// each step. A block has threads_for(Extent, Other) threads (`Other` is the other tile side),
// so each loads kCount = kTileK * kAccumulators / Other values, numbered j.
//  - Contiguous lines (the pixels of an image): consecutive threads take consecutive lines of
//    one k, so a warp reads 32 neighbouring floats. A thread keeps one line: kLines = 1.
//  - Contiguous K (a weight row, a row of dy): a warp takes 4 lines x 8 consecutive k, i.e. four
//    full 32-byte sectors. The first version let each thread read 4 consecutive k of one line,
//    so one warp-wide load touched 16 lines and L1 served it in 16 passes: that starved
//    backward-weight (both its operands are K-contiguous). Now a thread has one k and kCount
//    lines, and the per-k index arithmetic is shared by its kCount loads.
template <int Extent, int Other, bool kContiguousK>
struct TileLoader {
  static constexpr int kThreads = threads_for(Extent, Other);
  static constexpr int kCount = kTileK * Extent / kThreads;
  static constexpr int kLines = kContiguousK ? kCount : 1;  // lines a thread keeps state for
  __device__ static int line(int tid, int j) {
    return kContiguousK ? tid / kTileK + j * (kThreads / kTileK) : tid % Extent;
  }
  __device__ static int k(int tid, int j) {
    return kContiguousK ? tid % kTileK : tid / Extent + j * (kThreads / Extent);
  }
};

// ---- the kernel's steps: load, stage, multiply, store ------------------------------------------
// As in kernels/cuda/conv2d_tiled.cu (load_tiles, multiply_tiles), except that loading is two
// steps here: global memory -> registers early, registers -> shared memory ("stage") after the
// FMAs, which is what hides the global latency (double buffering, above). The steps are
// __forceinline__, so nothing is called at run time: each kernel kept its register count and its
// number of machine instructions when they were split out of its body (only the order differs).

// One thread's part of the loads of A and B, kept in registers across the steps: the lines it
// reads (found once per block), and the values of the next step, from load_tiles to stage_tiles.
template <int TileM, int TileN, class Problem>
struct TileLoads {
  using LoadA = TileLoader<TileM, TileN, Problem::kAContiguousK>;
  using LoadB = TileLoader<TileN, TileM, Problem::kBContiguousK>;
  using ALine = decltype(std::declval<Problem>().group(0).a_line(0));  // what a_load reads from
  using BLine = decltype(std::declval<Problem>().group(0).b_line(0));
  ALine a_src[LoadA::kLines];
  BLine b_src[LoadB::kLines];
  bool a_inside[LoadA::kLines], b_inside[LoadB::kLines];  // false past the edge of C
  float a_next[LoadA::kCount], b_next[LoadB::kCount];
};

// Before the first step: the lines of A and B this thread reads. The index arithmetic of a line
// (which image, which pixel, which filter) is done once, here.
template <int TileM, int TileN, class Problem, class Group>
__device__ __forceinline__ void find_lines(const Group& g, int m0, int n0, int tid,
                                           TileLoads<TileM, TileN, Problem>& loads) {
  using LoadA = typename TileLoads<TileM, TileN, Problem>::LoadA;
  using LoadB = typename TileLoads<TileM, TileN, Problem>::LoadB;
  MINIDL_UNROLL
  for (int j = 0; j < LoadA::kLines; ++j) {
    const int m = m0 + LoadA::line(tid, j);
    loads.a_inside[j] = m < g.M;
    loads.a_src[j] = g.a_line(loads.a_inside[j] ? m : 0);
  }
  MINIDL_UNROLL
  for (int j = 0; j < LoadB::kLines; ++j) {
    const int n = n0 + LoadB::line(tid, j);
    loads.b_inside[j] = n < g.N;
    loads.b_src[j] = g.b_line(loads.b_inside[j] ? n : 0);
  }
}

// Step 1, load: this thread's elements of the step at k0 of A and of B, global memory ->
// registers, zero outside the matrices and past the slice's end.
template <int TileM, int TileN, class Problem, class Group>
__device__ __forceinline__ void load_tiles(const Group& g, int k0, int k_end, int tid,
                                           TileLoads<TileM, TileN, Problem>& loads) {
  using LoadA = typename TileLoads<TileM, TileN, Problem>::LoadA;
  using LoadB = typename TileLoads<TileM, TileN, Problem>::LoadB;
  MINIDL_UNROLL
  for (int j = 0; j < LoadA::kCount; ++j) {
    const int k = k0 + LoadA::k(tid, j), line = LoadA::kLines > 1 ? j : 0;
    loads.a_next[j] = loads.a_inside[line] && k < k_end ? g.a_load(loads.a_src[line], k) : 0.f;
  }
  MINIDL_UNROLL
  for (int j = 0; j < LoadB::kCount; ++j) {
    const int k = k0 + LoadB::k(tid, j), line = LoadB::kLines > 1 ? j : 0;
    loads.b_next[j] = loads.b_inside[line] && k < k_end ? g.b_load(loads.b_src[line], k) : 0.f;
  }
}

// Step 2, stage: the loaded values, registers -> shared-memory buffer `buffer`, transposed to
// [k][line]. (ATile, BTile: shared-memory arrays, which the emulator wraps in checked types.)
template <int TileM, int TileN, class Problem, class ATile, class BTile>
__device__ __forceinline__ void stage_tiles(const TileLoads<TileM, TileN, Problem>& loads,
                                            int buffer, int tid, ATile& a_tiles, BTile& b_tiles) {
  using LoadA = typename TileLoads<TileM, TileN, Problem>::LoadA;
  using LoadB = typename TileLoads<TileM, TileN, Problem>::LoadB;
  constexpr int kStrideA = TileM + kTilePad, kStrideB = TileN + kTilePad;
  MINIDL_UNROLL
  for (int j = 0; j < LoadA::kCount; ++j)
    a_tiles[(buffer * kTileK + LoadA::k(tid, j)) * kStrideA + LoadA::line(tid, j)] =
        loads.a_next[j];
  MINIDL_UNROLL
  for (int j = 0; j < LoadB::kCount; ++j)
    b_tiles[(buffer * kTileK + LoadB::k(tid, j)) * kStrideB + LoadB::line(tid, j)] =
        loads.b_next[j];
}

// Step 3, multiply: the kTileK steps of shared-memory buffer `buffer` into the 8x8
// accumulators. Per kk, 4 vector loads (8 values of A, 8 of B) feed 64 FMAs.
template <int TileM, int TileN, class ATile, class BTile>
__device__ __forceinline__ void multiply_tiles(ATile& a_tiles, BTile& b_tiles, int buffer, int tx,
                                               int ty, float (&acc)[8][8]) {
  constexpr int kStrideA = TileM + kTilePad, kStrideB = TileN + kTilePad;
  MINIDL_UNROLL
  for (int kk = 0; kk < kTileK; ++kk) {
    const int a_row = (buffer * kTileK + kk) * kStrideA, b_row = (buffer * kTileK + kk) * kStrideB;
    float a[8], b[8];
    load4(a_tiles, a_row + ty * 4, a);
    load4(a_tiles, a_row + TileM / 2 + ty * 4, a + 4);
    load4(b_tiles, b_row + tx * 4, b);
    load4(b_tiles, b_row + TileN / 2 + tx * 4, b + 4);
    MINIDL_UNROLL
    for (int i = 0; i < 8; ++i) {
      MINIDL_UNROLL
      for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
  }
}

// Step 4, store: the 8x8 sub-tile to `target`, the output (plus bias) or, when split, this
// slice's part of the workspace. Each quadrant row is 4 neighbouring columns; where they are
// also neighbours in memory (c_column rises by exactly 3 over them) and 16-byte aligned, one
// vector store writes them: a warp then fills whole 128-byte lines instead of using 8 of
// every 32 bytes it sends (what the profiler reported for the scalar stores).
template <int TileM, int TileN, class Group>
__device__ __forceinline__ void store_tile(const Group& g, int m0, int n0, int tx, int ty,
                                           const float (&acc)[8][8], float* target,
                                           const float* bias) {
  MINIDL_UNROLL
  for (int half = 0; half < 2; ++half) {
    const int n = n0 + half * (TileN / 2) + tx * 4;
    if (n >= g.N) continue;
    int64_t columns[4];
    MINIDL_UNROLL
    for (int j = 0; j < 4; ++j) columns[j] = n + j < g.N ? g.c_column(n + j) : -1;
    const bool vector = columns[3] == columns[0] + 3 && g.c_row_stride % 4 == 0 &&
                        reinterpret_cast<uintptr_t>(target + columns[0]) % 16 == 0;
    MINIDL_UNROLL
    for (int i = 0; i < 8; ++i) {
      const int m = m0 + (i < 4 ? ty * 4 + i : TileM / 2 + ty * 4 + i - 4);
      if (m >= g.M) continue;
      float v[4];
      MINIDL_UNROLL
      for (int j = 0; j < 4; ++j) v[j] = acc[i][half * 4 + j] + (bias ? bias[m] : 0.f);
      const int64_t row = m * g.c_row_stride;
      if (vector) {
        store4(target + columns[0] + row, v);
      } else {
        MINIDL_UNROLL
        for (int j = 0; j < 4; ++j)
          if (columns[j] >= 0) target[columns[j] + row] = v[j];
      }
    }
  }
}

// ---- the kernel: the loop nest at the top of the file, for one block --------------------------

template <int TileM, int TileN, class Problem>
__global__ void MINIDL_LAUNCH_BOUNDS(threads_for(TileM, TileN))
    implicit_gemm_kernel(Problem problem, int slices, float* out, int64_t slice_size,
                         const float* bias) {
  MINIDL_SHARED(float, a_tiles, 2 * kTileK * (TileM + kTilePad));  // [buffer][k][m]
  MINIDL_SHARED(float, b_tiles, 2 * kTileK * (TileN + kTilePad));  // [buffer][k][n]

  const int slice = blockIdx.z % slices;
  const auto& g = problem.group(blockIdx.z / slices);  // by value for a computed group
  const int m0 = blockIdx.y * TileM, n0 = blockIdx.x * TileN;
  if (m0 >= g.M || n0 >= g.N) return;  // the grid fits the largest group; the whole block leaves

  // This slice's part of the reduction, in whole steps.
  const int k_per_slice = ((g.K + slices - 1) / slices + kTileK - 1) / kTileK * kTileK;
  const int k_begin = slice * k_per_slice < g.K ? slice * k_per_slice : g.K;
  const int k_end = k_begin + k_per_slice < g.K ? k_begin + k_per_slice : g.K;

  const int tid = threadIdx.x;
  TileLoads<TileM, TileN, Problem> loads;
  find_lines(g, m0, n0, tid, loads);

  // Thread (tx, ty) computes rows ty*4.. and columns tx*4.. of each quadrant. A warp covers
  // 8 x 4 of them, so each shared-memory read of a warp touches 8 float4 of B and 4 of A:
  // one 128-byte wavefront each (a 16 x 2 warp needed three per pair of reads).
  const int warp = tid / 32, lane = tid % 32, warps_across = TileN / kWarpSpanN;
  const int tx = (warp % warps_across) * 8 + lane % 8, ty = (warp / warps_across) * 4 + lane / 8;
  float acc[8][8];
  MINIDL_UNROLL
  for (int i = 0; i < 8; ++i) {
    MINIDL_UNROLL
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
  }

  const int steps = (k_end - k_begin + kTileK - 1) / kTileK;
  if (steps > 0) {
    load_tiles(g, k_begin, k_end, tid, loads);
    stage_tiles(loads, 0, tid, a_tiles, b_tiles);
  }
  __syncthreads();
  for (int step = 0; step < steps; ++step) {
    const int buffer = step % 2;
    // The next step's loads are issued first: they are in flight during the FMAs.
    if (step + 1 < steps) load_tiles(g, k_begin + (step + 1) * kTileK, k_end, tid, loads);
    multiply_tiles<TileM, TileN>(a_tiles, b_tiles, buffer, tx, ty, acc);
    // The other buffer was last read in step - 1, which every thread finished before the
    // barrier at the end of that step: safe to overwrite without a second barrier.
    if (step + 1 < steps) stage_tiles(loads, 1 - buffer, tid, a_tiles, b_tiles);
    __syncthreads();
  }

  store_tile<TileM, TileN>(g, m0, n0, tx, ty, acc, out + slice * slice_size, bias);
}

// out[i] = sum over slices z, in order, of workspace[z * n + i] (+ bias[channel of i], the
// output being [..., channels, plane]).
__global__ void sum_slices_kernel(int64_t n, int slices, const float* workspace, float* out,
                                  const float* bias, int channels, int plane);

// ---- choosing a tiling and launching ------------------------------------------------------------

struct GemmShape {
  int groups, M, N, K;  // N and K of the largest group
};
struct GemmTiling {
  int tile_m, tile_n, slices;
};

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

inline int multiprocessor_count() {
#ifdef MINIDL_CUDA_EMULATION
  return 132;  // an H100 SXM, so emulated runs choose the tilings a GPU would
#else
  static const int count = [] {
    int device = 0, sms = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
      return 132;
    }
    return sms;
  }();
  return count;
#endif
}

// The rule, fitted to a sweep of every tiling on the reference model's layers at batch 128 and
// 512 on an H200 (docs/results/gpu.md): 128x128 tiles (the most FMAs per byte moved through
// shared memory), 64 along a side no longer than 64; if that gives fewer than
// `blocks_per_sm` blocks per SM, split the reduction until it does, keeping at least 16 steps
// of kTileK in every slice. Shrinking the tiles instead, the first rule tried, filled the GPU
// with blocks that each do less work per load: 1.3-2x slower on the late layers. Nonzero
// arguments are kept as given.
inline GemmTiling choose_gemm_tiling(const GemmShape& g, int tile_m, int tile_n, int slices,
                                     double blocks_per_sm) {
  GemmTiling t{tile_m ? tile_m : (g.M > 64 ? 128 : 64), tile_n ? tile_n : (g.N > 64 ? 128 : 64),
               slices};
  if (t.slices == 0) {
    const int64_t tiles = int64_t(g.groups) * ceil_div(g.M, t.tile_m) * ceil_div(g.N, t.tile_n);
    const int64_t wanted = int64_t(blocks_per_sm * multiprocessor_count() / double(tiles) + 0.999);
    const int64_t most = g.K / (16 * kTileK);
    t.slices = int(wanted < most ? wanted : most);
    if (t.slices < 1) t.slices = 1;
  }
  if (t.slices > 65535 / g.groups) t.slices = 65535 / g.groups;  // gridDim.z
  return t;
}

// Runs `problem` with TileM x TileN tiles, `groups` GEMMs and `slices` splits of each
// reduction. max_m / max_n: the largest M and N over the groups (they size the grid).
// Writes C to `out` (output_size floats), or through `workspace` (slices * output_size
// floats) when slices > 1. bias (per row m, may be null) is added with the given layout.
template <int TileM, int TileN, class Problem>
void run_implicit_gemm(const char* name, const Problem& problem, int groups, int max_m, int max_n,
                       int slices, float* out, int64_t output_size, float* workspace,
                       const float* bias, int bias_plane) {
  const dim3 grid(unsigned((max_n + TileN - 1) / TileN), unsigned((max_m + TileM - 1) / TileM),
                  unsigned(groups * slices));
  const dim3 block(threads_for(TileM, TileN));
  if (slices == 1) {
    launch(name, implicit_gemm_kernel<TileM, TileN, Problem>, grid, block, problem, 1, out,
           output_size, bias);
    return;
  }
  launch(name, implicit_gemm_kernel<TileM, TileN, Problem>, grid, block, problem, slices, workspace,
         output_size, static_cast<const float*>(nullptr));
  launch("conv2d_sum_slices", sum_slices_kernel, grid_for(output_size), kBlockSize, output_size,
         slices, static_cast<const float*>(workspace), out, bias, max_m, bias_plane);
}

// run_implicit_gemm with the tile sizes chosen at run time.
template <class Problem>
void run_gemm(const char* name, const Problem& problem, const GemmShape& g, const GemmTiling& t,
              float* out, int64_t output_size, float* workspace, const float* bias,
              int bias_plane) {
  auto go = [&](auto tile_m, auto tile_n) {
    run_implicit_gemm<decltype(tile_m)::value, decltype(tile_n)::value>(
        name, problem, g.groups, g.M, g.N, t.slices, out, output_size, workspace, bias, bias_plane);
  };
  using T64 = std::integral_constant<int, 64>;
  using T128 = std::integral_constant<int, 128>;
  if (t.tile_m == 128 && t.tile_n == 128) return go(T128{}, T128{});
  if (t.tile_m == 128 && t.tile_n == 64) return go(T128{}, T64{});
  if (t.tile_m == 64 && t.tile_n == 128) return go(T64{}, T128{});
  if (t.tile_m == 64 && t.tile_n == 64) return go(T64{}, T64{});
  // conv2d_config refuses other sizes first; a caller that skipped it must not get a silently
  // unwritten output.
  throw std::invalid_argument(std::string(name) + ": no kernel for a " + std::to_string(t.tile_m) +
                              "x" + std::to_string(t.tile_n) + " tiling (tiles are 64 or 128)");
}

}  // namespace minidl::kernels::cuda
