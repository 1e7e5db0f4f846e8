// Helpers shared by the test suites: see testutil.h.
#include "testutil.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace testutil {

Vec random_vec(int64_t n, std::mt19937& rng, double low, double high) {
  std::uniform_real_distribution<double> dist(low, high);
  Vec v(n);
  for (auto& x : v) x = static_cast<double>(static_cast<float>(dist(rng)));
  return v;
}

std::vector<int> random_labels(int64_t n, int classes, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(0, classes - 1);
  std::vector<int> labels(n);
  for (auto& l : labels) l = dist(rng);
  return labels;
}

double rel_err(const Vec& a, const Vec& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    ref += b[i] * b[i];
  }
  // A NaN anywhere in a makes the result NaN, which fails every `err <= tol` check.
  return std::sqrt(diff) / std::max(std::sqrt(ref), 1e-12);
}

}  // namespace testutil
