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

}  // namespace minidl::kernels::cpu
