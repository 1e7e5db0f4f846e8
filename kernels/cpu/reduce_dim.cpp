#include "minidl/kernels/reduce_dim.h"

namespace minidl::kernels::cpu {

namespace {
constexpr int64_t kParallelThreshold = 1 << 15;
}

void sum_dim(int64_t outer, int64_t size, int64_t inner, const float* x, float* out) {
  // One output per iteration, each summed in double in index order: the result does not
  // depend on the thread count. Along the last dimension (inner = 1) the inner loop reads a
  // contiguous row; along another it strides, which the hardware prefetcher follows.
#pragma omp parallel for if (outer * size * inner > kParallelThreshold)
  for (int64_t r = 0; r < outer * inner; ++r) {
    const float* row = x + (r / inner) * size * inner + r % inner;
    double total = 0.0;
    for (int64_t k = 0; k < size; ++k) total += row[k * inner];
    out[r] = static_cast<float>(total);
  }
}

void broadcast_dim(int64_t outer, int64_t size, int64_t inner, const float* g, float* dx) {
#pragma omp parallel for collapse(2) if (outer * size * inner > kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t k = 0; k < size; ++k) {
      float* out = dx + (o * size + k) * inner;
      const float* in = g + o * inner;
      for (int64_t i = 0; i < inner; ++i) out[i] = in[i];
    }
  }
}

}  // namespace minidl::kernels::cpu
