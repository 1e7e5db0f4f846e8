// The CPU GEMM's packed operands, for callers that build an operand themselves and can write
// it in the order the micro-kernel reads (kernels/cpu/gemm.cpp explains that order and the
// block sizes) instead of writing it plainly for gemm() to copy again, and that multiply one
// packed matrix by many: Winograd's forward and backward-data (conv2d_winograd.cpp) pack the
// transformed filters once per call and write their transformed tiles packed. Internal to the
// CPU backend.
//
// Layouts, both split along k into blocks of kKc (the last one shorter):
//   A (m x k): for each k block, the rows in panels of kMr: panel after panel, and within one
//              the kMr values of each k in turn.
//   B (k x n): for each k block, the columns in panels of kNr: panel after panel, and within one
//              the kNr values of each k in turn.
// The last panel's rows past m (columns past n) only make values that are never stored to C,
// so a caller that writes a packed operand itself may leave them as they are.
#pragma once

#include <cstdint>

namespace minidl::kernels::cpu::packed {

constexpr int kMr = 6, kNr = 16;  // the micro-kernel's register tile
constexpr int kKc = 256;          // the k block

inline int64_t round_up(int64_t x, int to) { return (x + to - 1) / to * to; }

// Floats of a packed m x k A, and of a packed k x n B.
inline int64_t a_floats(int m, int k) { return round_up(m, kMr) * k; }
inline int64_t b_floats(int k, int n) { return int64_t(k) * round_up(n, kNr); }

// Where element (row, col) of a packed k x n B goes; the next columns up to the end of its
// panel of kNr follow it.
inline int64_t b_offset(int row, int col, int k, int n) {
  const int block = row / kKc * kKc;                    // the first row of row's k block
  const int depth = k - block < kKc ? k - block : kKc;  // the rows of that block
  return int64_t(block) * round_up(n, kNr) + int64_t(col / kNr) * depth * kNr +
         (row - block) * kNr + col % kNr;
}

// Packs op(a) (m x k; a is k x m when transposed) into `packed` (a_floats(m, k) floats).
// Threads: splits the panels over the OpenMP threads when called outside a parallel region.
void pack_a(bool transpose, int m, int k, const float* a, float* packed);

// C = A B + beta C on packed operands, C row-major with row stride ldc; on the calling thread.
// beta == 0 never reads C.
void gemm(int m, int n, int k, const float* a, const float* b, float beta, float* c, int64_t ldc);

}  // namespace minidl::kernels::cpu::packed
