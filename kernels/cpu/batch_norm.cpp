// CPU batch norm: one channel per OpenMP iteration (channels are independent). Statistics are
// accumulated in double in two passes (mean, then squared deviations), which is stable where
// the one-pass E[x^2] - E[x]^2 formula cancels catastrophically.
#include <cmath>

#include "kernels/batch_norm.h"

namespace minidl::kernels::cpu {

namespace {
template <typename PerValue>
void for_channel(const BatchNormShape& s, int64_t c, const float* base, PerValue fn) {
  for (int64_t n = 0; n < s.batch; ++n) {
    const int64_t offset = (n * s.channels + c) * s.spatial;
    for (int64_t i = 0; i < s.spatial; ++i) fn(offset + i, base[offset + i]);
  }
}
}  // namespace

void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, float eps, float momentum, float* y,
                              float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var) {
  const double count = static_cast<double>(s.count());
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    double total = 0.0;
    for_channel(s, c, x, [&](int64_t, float v) { total += v; });
    const double mean = total / count;
    double squares = 0.0;
    for_channel(s, c, x, [&](int64_t, float v) { squares += (v - mean) * (v - mean); });
    const double var = squares / count;  // biased: what normalization uses
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
    const float m = static_cast<float>(mean);
    for_channel(s, c, x, [&](int64_t i, float v) { y[i] = (v - m) * invstd * g + b; });
    save_mean[c] = m;
    save_invstd[c] = invstd;
    if (running_mean && running_var) {
      const double unbiased = count > 1 ? squares / (count - 1) : var;
      running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * m;
      running_var[c] = (1.f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
    }
  }
}

void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const float* running_mean,
                             const float* running_var, float eps, float* y) {
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    const float invstd = 1.f / std::sqrt(running_var[c] + eps);
    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
    const float m = running_mean[c];
    for_channel(s, c, x, [&](int64_t i, float v) { y[i] = (v - m) * invstd * g + b; });
  }
}

// With xhat = (x - mean) * invstd and y = gamma * xhat + beta, per channel over its M values:
//   dbeta = sum(dy),  dgamma = sum(dy * xhat)
//   dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma)
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         float* dx, float* dgamma, float* dbeta) {
  const double count = static_cast<double>(s.count());
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    const float m = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for_channel(s, c, x, [&](int64_t i, float v) {
      sum_dy += dy[i];
      sum_dy_xhat += dy[i] * (v - m) * invstd;
    });
    const float g = gamma ? gamma[c] : 1.f;
    const float k = static_cast<float>(g * invstd / count);
    const float total_dy = static_cast<float>(sum_dy), total_dy_xhat = static_cast<float>(sum_dy_xhat);
    for_channel(s, c, x, [&](int64_t i, float v) {
      const float xhat = (v - m) * invstd;
      dx[i] = k * (static_cast<float>(count) * dy[i] - total_dy - xhat * total_dy_xhat);
    });
    if (dgamma) dgamma[c] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[c] = static_cast<float>(sum_dy);
  }
}

void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta) {
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    const float invstd = 1.f / std::sqrt(running_var[c] + eps);
    const float m = running_mean[c];
    const float g = gamma ? gamma[c] : 1.f;
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for_channel(s, c, x, [&](int64_t i, float v) {
      sum_dy += dy[i];
      sum_dy_xhat += dy[i] * (v - m) * invstd;
      dx[i] = dy[i] * g * invstd;
    });
    if (dgamma) dgamma[c] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[c] = static_cast<float>(sum_dy);
  }
}

}  // namespace minidl::kernels::cpu
