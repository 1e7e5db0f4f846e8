// Eight floats as one value, with GCC's vector extensions (also understood by Clang): `a * b`,
// `a += b` work lane by lane, and the compiler maps them onto the machine's vector unit (one
// AVX2 register on x86-64 with -march=native, fused multiply-adds included; two 4-wide
// registers on machines without AVX). Used by the CPU micro-kernels instead of intrinsics so
// that they stay plain C++ and build on every target.
#pragma once

namespace minidl::kernels::cpu {

typedef float vec8 __attribute__((vector_size(32)));

// Loads and stores through memcpy: any alignment, no aliasing questions; compiles to one
// unaligned vector move.
inline vec8 load8(const float* p) {
  vec8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, vec8 v) { __builtin_memcpy(p, &v, sizeof v); }
inline vec8 broadcast8(float x) { return vec8{x, x, x, x, x, x, x, x}; }

// Transposes the 8 x 8 block r in place (r[i][j] becomes r[j][i]) in three rounds of
// two-vector shuffles: pairs of rows interleaved, then pairs of pairs, then 128-bit halves
// swapped. __builtin_shufflevector (Clang, and GCC from 12) takes the lane indices as
// constants: 0-7 pick from the first vector, 8-15 from the second; with AVX the compiler emits
// one unpack, shuffle or lane-permute instruction per line. (GCC's own __builtin_shuffle,
// used before, does the same but Clang rejects it: the CTest test clang_build guards this.)
inline void transpose8x8(vec8 r[8]) {
  vec8 t[8], q[8];
  for (int i = 0; i < 8; i += 2) {  // low_pairs and high_pairs
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {  // q[i + j] holds rows i..i+3 of columns j and j + 4
    q[i + 0] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    q[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    q[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    q[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int j = 0; j < 4; ++j) {  // low and high 128-bit halves
    r[j] = __builtin_shufflevector(q[j], q[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[j + 4] = __builtin_shufflevector(q[j], q[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

}  // namespace minidl::kernels::cpu
