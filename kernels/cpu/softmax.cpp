// CPU softmax and log-softmax: one row per OpenMP iteration (rows are independent), the row's
// sums accumulated in double. Row r of [outer, size, inner] starts at (r / inner) * size * inner
// + r % inner and steps by inner.
#include <algorithm>
#include <cmath>

#include "minidl/kernels/softmax.h"

namespace minidl::kernels::cpu {

namespace {
constexpr int64_t kParallelThreshold = 1 << 14;

int64_t row_start(int64_t row, int64_t size, int64_t inner) {
  return (row / inner) * size * inner + row % inner;
}
}  // namespace

void softmax_forward(int64_t outer, int64_t size, int64_t inner, bool log, const float* x,
                     float* y) {
  const int64_t rows = outer * inner;
#pragma omp parallel for if (rows * size > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + row_start(r, size, inner);
    float* out = y + row_start(r, size, inner);
    float max_x = in[0];
    for (int64_t k = 1; k < size; ++k) max_x = std::max(max_x, in[k * inner]);
    double exp_sum = 0.0;
    for (int64_t k = 0; k < size; ++k) exp_sum += std::exp(in[k * inner] - max_x);
    if (log) {
      const float log_sum = static_cast<float>(std::log(exp_sum));
      for (int64_t k = 0; k < size; ++k) out[k * inner] = in[k * inner] - max_x - log_sum;
    } else {
      const float inverse = static_cast<float>(1.0 / exp_sum);
      for (int64_t k = 0; k < size; ++k) out[k * inner] = std::exp(in[k * inner] - max_x) * inverse;
    }
  }
}

void softmax_backward(int64_t outer, int64_t size, int64_t inner, bool log, const float* y,
                      const float* dy, float* dx) {
  const int64_t rows = outer * inner;
#pragma omp parallel for if (rows * size > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t start = row_start(r, size, inner);
    const float *out = y + start, *grad_out = dy + start;
    float* grad_in = dx + start;
    double dot = 0.0;  // sum_j dy_j y_j (softmax) or sum_j dy_j (log_softmax)
    for (int64_t k = 0; k < size; ++k) dot += grad_out[k * inner] * (log ? 1.f : out[k * inner]);
    const float total = static_cast<float>(dot);
    for (int64_t k = 0; k < size; ++k) {
      const int64_t e = k * inner;
      grad_in[e] = log ? grad_out[e] - std::exp(out[e]) * total : out[e] * (grad_out[e] - total);
    }
  }
}

}  // namespace minidl::kernels::cpu
