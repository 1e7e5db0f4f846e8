// The CPU matrix product, blocked and packed the way GotoBLAS and BLIS do it, around one small
// "micro-kernel" that keeps a 6 x 16 tile of C in vector registers.
//
//   for jc over n in steps of kNc:                 B block   kKc x kNc  (stays in L3)
//     for pc over k in steps of kKc:               pack B[pc.., jc..] into panels of kNr columns
//       for ic over m in steps of kMc:             pack A[ic.., pc..] into panels of kMr rows (L2)
//         for every kMr x kNr tile of the block:   micro-kernel over kKc (the B panel in L1)
//
// Why pack: the micro-kernel then reads both operands as contiguous streams in exactly the
// order it uses them, whatever the transposes and leading dimensions were, and padding the
// edge panels with zeros lets one kernel serve every tile. Why these sizes: a tile of
// kMr x kNr = 6 x 16 floats is 12 vectors of 8, plus 2 for a row of B and 1 for the broadcast
// A value, within the 16 vector registers of AVX2; per step of k it does 12 fused
// multiply-adds for 2 loads, so the FMA units, not memory, set the pace. kKc x kNr floats of B
// (16 KB) stay in the 32 KB L1 cache, kMc x kKc of A (144 KB) in L2.
//
// The micro-kernel is written with GCC's vector extensions (`float` vectors of 8, see
// kernels/cpu/vector8.h) rather than intrinsics: the compiler emits AVX2 FMA instructions with
// -march=native on x86-64 and pairs of 4-wide instructions elsewhere, from the same plain C++.
// On the team's 2-core AVX2 VM (one core peaks at 90 GFLOP/s) it runs the reference model's
// products at 58-83 GFLOP/s, 1.1-1.4x Eigen's general product, except the small, deep ones of
// Winograd's backward-weight (64 x 64 x 1024: 0.84x, where packing both operands costs as much
// as a third of the arithmetic). Measured with bench_gemm_cpu, best of 3 alternating runs;
// numbers in docs/benchmarks.md. Eigen stays the peer it is benchmarked against.
//
// Threads: called from inside an OpenMP parallel region (the convolutions split images over
// threads), it runs on the calling thread alone; called from outside one with enough work, it
// splits the ic blocks over the threads after packing B together. Every element of C is summed
// in the same order either way, so results do not depend on the thread count.
//
// Scratch: the packed B block and one packed A block per thread come from the caller's
// workspace (gemm_workspace floats), which ops take from the caching allocator like any
// tensor, so the allocator's statistics count them and nothing is allocated per call.
#include <omp.h>

#include <algorithm>

#include "minidl/kernels/cpu/gemm_packed.h"
#include "minidl/kernels/cpu/vector8.h"
#include "minidl/kernels/gemm.h"

namespace minidl::kernels::cpu {

namespace {

using packed::kKc;
using packed::kMr;
using packed::kNr;
constexpr int kMc = 144, kNc = 4096;       // the other cache blocks (kMc a multiple of kMr)
constexpr double kParallelMinFlops = 4e6;  // below this, one thread is faster

// A stored matrix read through strides: element (i, j) is at data[i * row_stride + j * col_stride],
// which serves a row-major matrix (row_stride = columns, col_stride = 1) and its transpose
// (the same buffer with the strides swapped) alike.
struct StridedMatrix {
  const float* data;
  int64_t row_stride, col_stride;
  float at(int64_t i, int64_t j) const { return data[i * row_stride + j * col_stride]; }
};

// Rows [row0, row0 + rows) and columns [col0, col0 + depth) of A, as panels of kMr rows: panel
// after panel, and within one, the kMr values of column 0, then of column 1, ... Rows past the
// end are zeros. The loops walk the stored matrix along its contiguous direction.
void pack_a_panels(const StridedMatrix& a, int row0, int rows, int col0, int depth, float* packed) {
  for (int panel = 0; panel < rows; panel += kMr) {
    const int valid = std::min(kMr, rows - panel);
    const float* rows_of_a[kMr];
    for (int r = 0; r < kMr; ++r)
      rows_of_a[r] = a.data + int64_t(row0 + panel + std::min(r, valid - 1)) * a.row_stride;
    for (int p = 0; p < depth; ++p) {  // kMr streams read side by side, one contiguous write
      const int64_t offset = int64_t(col0 + p) * a.col_stride;
      if (valid == kMr) {
        for (int r = 0; r < kMr; ++r) packed[p * kMr + r] = rows_of_a[r][offset];
      } else {
        for (int r = 0; r < kMr; ++r) packed[p * kMr + r] = r < valid ? rows_of_a[r][offset] : 0.f;
      }
    }
    packed += kMr * depth;
  }
}

// Rows [row0, row0 + depth) and columns [col0, col0 + cols) of B, as one panel of kNr columns:
// the kNr values of row 0, then of row 1, ... Columns past the end are zeros.
void pack_b_panel(const StridedMatrix& b, int row0, int depth, int col0, int cols, float* packed) {
  if (b.col_stride == 1) {  // B stored as is: a row of the panel is a contiguous run
    for (int p = 0; p < depth; ++p) {
      const float* src = b.data + int64_t(row0 + p) * b.row_stride + col0;
      if (cols == kNr) {  // two vector moves (a library copy call costs more at 64 bytes)
        store8(packed + p * kNr, load8(src));
        store8(packed + p * kNr + 8, load8(src + 8));
      } else {
        for (int j = 0; j < kNr; ++j) packed[p * kNr + j] = j < cols ? src[j] : 0.f;
      }
    }
    return;
  }
  // B stored transposed: each column of the panel is a contiguous run; kNr runs read side by
  // side, one contiguous write per row of the panel. In a full panel, 8 x 8 blocks at a time:
  // eight runs of 8 loaded as vectors, transposed in registers, stored as 8 half-rows.
  const float* columns_of_b[kNr];
  for (int j = 0; j < kNr; ++j)
    columns_of_b[j] = b.data + int64_t(col0 + std::min(j, cols - 1)) * b.col_stride;
  int p = 0;
  if (cols == kNr && b.row_stride == 1) {
    for (; p + 8 <= depth; p += 8) {
      for (int half = 0; half < kNr; half += 8) {
        vec8 block[8];
        for (int j = 0; j < 8; ++j) block[j] = load8(columns_of_b[half + j] + row0 + p);
        transpose8x8(block);
        for (int i = 0; i < 8; ++i) store8(packed + (p + i) * kNr + half, block[i]);
      }
    }
  }
  for (; p < depth; ++p) {
    const int64_t offset = int64_t(row0 + p) * b.row_stride;
    if (cols == kNr) {
      for (int j = 0; j < kNr; ++j) packed[p * kNr + j] = columns_of_b[j][offset];
    } else {
      for (int j = 0; j < kNr; ++j) packed[p * kNr + j] = j < cols ? columns_of_b[j][offset] : 0.f;
    }
  }
}

// C tile (kMr x kNr at c, row stride ldc; only rows x cols of it are real)
//   = alpha * (packed A panel) (packed B panel) + beta * C tile,  over `depth` steps of k.
// beta == 0 never reads C (it may hold NaN from a fresh allocation).
void micro_kernel(int depth, const float* a, const float* b, float alpha, float beta, float* c,
                  int64_t ldc, int rows, int cols) {
  vec8 acc[kMr][2] = {};
  for (int p = 0; p < depth; ++p) {
    const vec8 b0 = load8(b), b1 = load8(b + 8);
    for (int r = 0; r < kMr; ++r) {
      const vec8 ar = broadcast8(a[r]);
      acc[r][0] += ar * b0;
      acc[r][1] += ar * b1;
    }
    a += kMr;
    b += kNr;
  }
  if (rows == kMr && cols == kNr) {
    for (int r = 0; r < kMr; ++r) {
      float* row = c + r * ldc;
      for (int h = 0; h < 2; ++h) {
        vec8 value = broadcast8(alpha) * acc[r][h];
        if (beta != 0.f) value += broadcast8(beta) * load8(row + 8 * h);
        store8(row + 8 * h, value);
      }
    }
    return;
  }
  float tile[kMr][kNr];  // an edge tile: through a buffer, then only the real part
  for (int r = 0; r < kMr; ++r) {
    store8(tile[r], acc[r][0]);
    store8(tile[r] + 8, acc[r][1]);
  }
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) {
      float& out = c[r * ldc + j];
      out = alpha * tile[r][j] + (beta != 0.f ? beta * out : 0.f);
    }
  }
}

// One kMc x kNc block of C: every tile of rows [ic, ic + rows) x the packed B block's columns.
void multiply_block(const float* packed_a, const float* packed_b, int rows, int cols, int depth,
                    float alpha, float beta, float* c, int64_t ldc) {
  for (int j = 0; j < cols; j += kNr) {
    const float* b_panel = packed_b + int64_t(j) * depth;
    for (int i = 0; i < rows; i += kMr) {
      micro_kernel(depth, packed_a + int64_t(i) * depth, b_panel, alpha, beta, c + i * ldc + j, ldc,
                   std::min(kMr, rows - i), std::min(kNr, cols - j));
    }
  }
}

// Every kMc x n block of C over one k block of the packed operands.
void multiply_blocks(int m, int n, int depth, const float* packed_a, const float* packed_b,
                     float alpha, float beta, float* c, int64_t ldc) {
  for (int ic = 0; ic < m; ic += kMc) {
    multiply_block(packed_a + int64_t(ic) * depth, packed_b, std::min(kMc, m - ic), n, depth, alpha,
                   beta, c + ic * ldc, ldc);
  }
}

}  // namespace

void packed::pack_a(bool transpose, int m, int k, const float* a, float* out) {
  const StridedMatrix A = transpose ? StridedMatrix{a, 1, m} : StridedMatrix{a, k, 1};
  const int panels = (m + kMr - 1) / kMr;
  const bool parallel = !omp_in_parallel() && omp_get_max_threads() > 1;
  for (int pc = 0; pc < k; pc += kKc) {
    const int depth = std::min(kKc, k - pc);
    float* block = out + pc * round_up(m, kMr);
#pragma omp parallel for if (parallel) schedule(static)
    for (int panel = 0; panel < panels; ++panel) {
      pack_a_panels(A, panel * kMr, std::min(kMr, m - panel * kMr), pc, depth,
                    block + int64_t(panel) * kMr * depth);
    }
  }
}

void packed::gemm(int m, int n, int k, const float* a, const float* b, float beta, float* c,
                  int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // an empty sum: C = beta * C
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
    return;
  }
  for (int pc = 0; pc < k; pc += kKc) {
    multiply_blocks(m, n, std::min(kKc, k - pc), a + pc * round_up(m, kMr),
                    b + pc * round_up(n, kNr), 1.f, pc == 0 ? beta : 1.f, c, ldc);
  }
}

namespace {
// The packed operands' blocks, for a product of m x k by k x n: one B block (at most kKc x kNc,
// in whole panels) and one A block (at most kMc x kKc) per thread.
int64_t packed_b_floats(int n, int k) {
  return int64_t(std::min(k, kKc)) * packed::round_up(std::min(n, kNc), kNr);
}
int64_t packed_a_floats(int m, int k) {
  return int64_t(std::min(k, kKc)) * packed::round_up(std::min(m, kMc), kMr);
}
}  // namespace

int64_t gemm_workspace(int m, int n, int k, int threads) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  const int team = threads > 0 ? threads : omp_get_max_threads();
  return packed_b_floats(n, k) + int64_t(team) * packed_a_floats(m, k);
}

void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c, float* workspace) {
  if (m <= 0 || n <= 0) return;
  const StridedMatrix A = transpose_a ? StridedMatrix{a, 1, m} : StridedMatrix{a, k, 1};
  const StridedMatrix B = transpose_b ? StridedMatrix{b, 1, k} : StridedMatrix{b, n, 1};
  if (k <= 0) {  // an empty sum: C = beta * C
    for (int64_t i = 0; i < int64_t(m) * n; ++i) c[i] = beta == 0.f ? 0.f : beta * c[i];
    return;
  }
  const bool parallel =
      !omp_in_parallel() && omp_get_max_threads() > 1 && 2.0 * m * n * k >= kParallelMinFlops;
  float* packed_b = workspace;
  float* packed_a_blocks = workspace + packed_b_floats(n, k);
  for (int jc = 0; jc < n; jc += kNc) {
    const int cols = std::min(kNc, n - jc);
    const int panels = (cols + kNr - 1) / kNr;
    for (int pc = 0; pc < k; pc += kKc) {
      const int depth = std::min(kKc, k - pc);
      const float block_beta = pc == 0 ? beta : 1.f;  // later k blocks add to the first
      const int blocks = (m + kMc - 1) / kMc;
      // The region exists even when serial (a team of one): inside a caller's parallel region
      // the `omp for` loops below must bind to this team, not split across the caller's threads.
#pragma omp parallel if (parallel)
      {
#pragma omp for schedule(static)
        for (int panel = 0; panel < panels; ++panel) {
          pack_b_panel(B, pc, depth, jc + panel * kNr, std::min(kNr, cols - panel * kNr),
                       packed_b + int64_t(panel) * kNr * depth);
        }
        // Work items: an ic block times a group of B panels, enough items for every thread
        // (each packs its own copy of its A block: cheap next to the products).
        const int groups = std::min(panels, (omp_get_num_threads() + blocks - 1) / blocks);
        const int panels_per_group = (panels + groups - 1) / groups;
        float* packed_a = packed_a_blocks + omp_get_thread_num() * packed_a_floats(m, k);
#pragma omp for schedule(static)
        for (int item = 0; item < blocks * groups; ++item) {
          const int ic = (item / groups) * kMc, rows = std::min(kMc, m - ic);
          const int j0 = (item % groups) * panels_per_group * kNr;
          if (j0 >= cols) continue;
          pack_a_panels(A, ic, rows, pc, depth, packed_a);
          multiply_block(packed_a, packed_b + int64_t(j0) * depth, rows,
                         std::min(panels_per_group * kNr, cols - j0), depth, alpha, block_beta,
                         c + int64_t(ic) * n + jc + j0, n);
        }
      }
    }
  }
}

}  // namespace minidl::kernels::cpu
