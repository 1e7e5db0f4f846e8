#include <cstring>

#include "minidl/kernels/shape_ops.h"

namespace minidl::kernels::cpu {

namespace {
constexpr int64_t kParallelThreshold = 1 << 15;
}

void copy_slice(const SliceCopy& s, const float* src, float* dst) {
  // The slab is outer runs of length * inner contiguous floats on both sides: one memcpy each.
  // Read backwards (a flip), only runs of inner floats are contiguous in both.
  const int64_t run = s.reverse ? s.inner : s.length * s.inner;
  const int64_t runs = s.count() / run;
#pragma omp parallel for if (s.count() > kParallelThreshold)
  for (int64_t r = 0; r < runs; ++r) {
    std::memcpy(dst + s.dst_index(r * run), src + s.src_index(r * run), run * sizeof(float));
  }
}

void permute(const PermuteShape& s, const float* x, float* out) {
  // Writes are sequential, reads jump by the strides. The index arithmetic per element is what
  // this costs; permutes are rare next to convolutions, so it stays the plain formula.
  const int64_t n = s.count();
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t e = 0; e < n; ++e) out[e] = x[s.src_index(e)];
}

}  // namespace minidl::kernels::cpu
