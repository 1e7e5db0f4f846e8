// Naive double-precision references for kernels/softmax_cross_entropy.h (see
// softmax_cross_entropy.h). Loops are written out index by index on purpose; nothing here is
// shared with the library's kernels.
#include "reference/softmax_cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace ref {

// log(sum_k exp(z_k)) of one row, shifted by its maximum so that exp cannot overflow.
static double log_sum_exp(const double* z, int64_t K) {
  double m = z[0];
  for (int64_t k = 1; k < K; ++k) m = std::max(m, z[k]);
  double s = 0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(z[k] - m);
  return m + std::log(s);
}

static double smoothed_target(int label, int64_t k, int64_t K, double eps) {
  return (k == label ? 1.0 - eps : 0.0) + eps / static_cast<double>(K);
}

double softmax_cross_entropy(const Vec& logits, const std::vector<int>& labels, int64_t N,
                             int64_t K, double eps) {
  double total = 0;
  for (int64_t n = 0; n < N; ++n) {
    const double* z = &logits[n * K];
    const double lse = log_sum_exp(z, K);
    for (int64_t k = 0; k < K; ++k) total -= smoothed_target(labels[n], k, K, eps) * (z[k] - lse);
  }
  return total / static_cast<double>(N);
}

Vec softmax_cross_entropy_backward(const Vec& logits, const std::vector<int>& labels, int64_t N,
                                   int64_t K, double eps, double g) {
  Vec d(N * K);
  for (int64_t n = 0; n < N; ++n) {
    const double* z = &logits[n * K];
    const double lse = log_sum_exp(z, K);
    // d/dz_k of -sum_j t_j (z_j - lse) is softmax_k * sum_j t_j - t_k = softmax_k - t_k.
    for (int64_t k = 0; k < K; ++k)
      d[n * K + k] = g / static_cast<double>(N) *
                     (std::exp(z[k] - lse) - smoothed_target(labels[n], k, K, eps));
  }
  return d;
}

}  // namespace ref
