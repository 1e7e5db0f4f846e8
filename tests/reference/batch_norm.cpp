// Naive double-precision references for kernels/batch_norm.h (see batch_norm.h). Loops are
// written out index by index on purpose; nothing here is shared with the library's kernels.
#include "reference/batch_norm.h"

#include <cmath>
#include <limits>

namespace ref {

BatchNormForward batch_norm_train(const Vec& x, const Vec& gamma, const Vec& beta, int64_t N,
                                  int64_t C, int64_t L, double eps) {
  const double M = static_cast<double>(N * L);
  BatchNormForward f{Vec(x.size()), Vec(C, 0.0), Vec(C, 0.0), Vec(C, 0.0)};
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) s += x[(n * C + c) * L + l];
    const double mu = s / M;
    double ss = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const double d = x[(n * C + c) * L + l] - mu;
        ss += d * d;
      }
    f.mean[c] = mu;
    f.var[c] = ss / M;
    f.var_unbiased[c] = M > 1 ? ss / (M - 1) : std::numeric_limits<double>::quiet_NaN();
    const double inv_std = 1.0 / std::sqrt(f.var[c] + eps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        const double xhat = (x[i] - mu) * inv_std;
        f.y[i] = gamma.empty() ? xhat : gamma[c] * xhat + beta[c];
      }
  }
  return f;
}

BatchNormGrads batch_norm_train_backward(const Vec& x, const Vec& gamma, const Vec& g, int64_t N,
                                         int64_t C, int64_t L, double eps) {
  const bool affine = !gamma.empty();
  const double M = static_cast<double>(N * L);
  const BatchNormForward f = batch_norm_train(x, Vec(), Vec(), N, C, L, eps);  // f.y is xhat
  BatchNormGrads r{Vec(x.size()), affine ? Vec(C, 0.0) : Vec(), affine ? Vec(C, 0.0) : Vec()};
  for (int64_t c = 0; c < C; ++c) {
    const double inv_std = 1.0 / std::sqrt(f.var[c] + eps);
    const double gam = affine ? gamma[c] : 1.0;
    // With xhat = (x - mean) * inv_std and dxhat = g * gamma, differentiating through the
    // batch mean and variance gives
    //   dx = inv_std / M * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)).
    double sum_dxhat = 0, sum_dxhat_xhat = 0, sum_g = 0, sum_g_xhat = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        sum_g += g[i];
        sum_g_xhat += g[i] * f.y[i];
        sum_dxhat += g[i] * gam;
        sum_dxhat_xhat += g[i] * gam * f.y[i];
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        r.dx[i] = inv_std / M * (M * g[i] * gam - sum_dxhat - f.y[i] * sum_dxhat_xhat);
      }
    if (affine) {
      r.dgamma[c] = sum_g_xhat;
      r.dbeta[c] = sum_g;
    }
  }
  return r;
}

Vec batch_norm_eval(const Vec& x, const Vec& gamma, const Vec& beta, const Vec& running_mean,
                    const Vec& running_var, int64_t N, int64_t C, int64_t L, double eps) {
  Vec y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        const double xhat = (x[i] - running_mean[c]) / std::sqrt(running_var[c] + eps);
        y[i] = gamma.empty() ? xhat : gamma[c] * xhat + beta[c];
      }
  return y;
}

BatchNormGrads batch_norm_eval_backward(const Vec& x, const Vec& gamma, const Vec& running_mean,
                                        const Vec& running_var, const Vec& g, int64_t N, int64_t C,
                                        int64_t L, double eps) {
  // In eval mode the statistics are constants: y is an affine function of x per channel.
  const bool affine = !gamma.empty();
  BatchNormGrads r{Vec(x.size()), affine ? Vec(C, 0.0) : Vec(), affine ? Vec(C, 0.0) : Vec()};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double inv_std = 1.0 / std::sqrt(running_var[c] + eps);
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        r.dx[i] = g[i] * (affine ? gamma[c] : 1.0) * inv_std;
        if (affine) {
          r.dgamma[c] += g[i] * (x[i] - running_mean[c]) * inv_std;
          r.dbeta[c] += g[i];
        }
      }
    }
  return r;
}

Vec running_update(const Vec& running, const Vec& batch, double momentum) {
  Vec r(running.size());
  for (size_t c = 0; c < running.size(); ++c)
    r[c] = (1 - momentum) * running[c] + momentum * batch[c];
  return r;
}

}  // namespace ref
