// Naive double-precision references: see reference.h. Loops are written out index by index on
// purpose; nothing here is shared with, or borrowed from, the library's kernels.
#include "reference/reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace ref {

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// ---- elementwise -----------------------------------------------------------------------------

Vec add(const Vec& a, const Vec& b) {
  assert(a.size() == b.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

Vec sub(const Vec& a, const Vec& b) {
  assert(a.size() == b.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] - b[i];
  return y;
}

Vec mul(const Vec& a, const Vec& b) {
  assert(a.size() == b.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] * b[i];
  return y;
}

MulGrads mul_backward(const Vec& a, const Vec& b, const Vec& g) {
  MulGrads r{Vec(a.size()), Vec(b.size())};
  for (size_t i = 0; i < a.size(); ++i) {
    r.da[i] = g[i] * b[i];
    r.db[i] = g[i] * a[i];
  }
  return r;
}

Vec scale(const Vec& a, double factor) {
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] * factor;
  return y;
}

Vec relu(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : 0.0;
  return y;
}

Vec relu_backward(const Vec& x, const Vec& g) {
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = x[i] > 0 ? g[i] : 0.0;
  return dx;
}

// Element i of x [N, C, L...] belongs to channel (i / L) % C, with L the product of the
// dimensions after C.
static int64_t inner_size(const Shape& x_shape) {
  int64_t L = 1;
  for (size_t d = 2; d < x_shape.size(); ++d) L *= x_shape[d];
  return L;
}

Vec add_bias(const Vec& x, const Shape& x_shape, const Vec& bias) {
  const int64_t N = x_shape[0], C = x_shape[1], L = inner_size(x_shape);
  Vec y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t l = 0; l < L; ++l) {
        const int64_t i = (n * C + c) * L + l;
        y[i] = x[i] + bias[c];
      }
  return y;
}

AddBiasGrads add_bias_backward(const Shape& x_shape, const Vec& g) {
  const int64_t N = x_shape[0], C = x_shape[1], L = inner_size(x_shape);
  AddBiasGrads r{g, Vec(C, 0.0)};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t l = 0; l < L; ++l) r.dbias[c] += g[(n * C + c) * L + l];
  return r;
}

// ---- reductions ------------------------------------------------------------------------------

double sum(const Vec& a) {
  double s = 0;
  for (double v : a) s += v;
  return s;
}

Vec sum_backward(int64_t n, double g) { return Vec(n, g); }

double mean(const Vec& a) { return sum(a) / static_cast<double>(a.size()); }

Vec mean_backward(int64_t n, double g) { return Vec(n, g / static_cast<double>(n)); }

// ---- matrix products -------------------------------------------------------------------------

Vec matmul(const Vec& a, const Vec& b, int64_t M, int64_t K, int64_t N) {
  Vec c(M * N, 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a[i * K + k] * b[k * N + j];
      c[i * N + j] = acc;
    }
  return c;
}

MatmulGrads matmul_backward(const Vec& a, const Vec& b, const Vec& g, int64_t M, int64_t K,
                            int64_t N) {
  MatmulGrads r{Vec(M * K, 0.0), Vec(K * N, 0.0)};
  // c[i, j] = sum_k a[i, k] b[k, j]: each product sends g[i, j] * (other factor) back.
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        r.da[i * K + k] += g[i * N + j] * b[k * N + j];
        r.db[k * N + j] += g[i * N + j] * a[i * K + k];
      }
  return r;
}

Vec linear(const Vec& x, const Vec& w, const Vec& b, int64_t N, int64_t in, int64_t out) {
  Vec y(N * out, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) acc += x[n * in + i] * w[o * in + i];
      y[n * out + o] = acc;
    }
  return y;
}

LinearGrads linear_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g, int64_t N,
                            int64_t in, int64_t out) {
  LinearGrads r{Vec(N * in, 0.0), Vec(out * in, 0.0), has_bias ? Vec(out, 0.0) : Vec()};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < out; ++o) {
      const double go = g[n * out + o];
      for (int64_t i = 0; i < in; ++i) {
        r.dx[n * in + i] += go * w[o * in + i];
        r.dw[o * in + i] += go * x[n * in + i];
      }
      if (has_bias) r.db[o] += go;
    }
  return r;
}

// ---- convolution -----------------------------------------------------------------------------

Vec conv2d(const Vec& x, const Vec& w, const Vec& b, const ConvShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  Vec y(s.N * s.K * OH * OW, 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b.empty() ? 0.0 : b[k];
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t q = 0; q < s.S; ++q) {
                const int64_t ih = oh * s.stride - s.pad + r;
                const int64_t iw = ow * s.stride - s.pad + q;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // zero padding
                acc += x[((n * s.C + c) * s.H + ih) * s.W + iw] *
                       w[((k * s.C + c) * s.R + r) * s.S + q];
              }
          y[((n * s.K + k) * OH + oh) * OW + ow] = acc;
        }
  return y;
}

ConvGrads conv2d_backward(const Vec& x, const Vec& w, bool has_bias, const Vec& g,
                          const ConvShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  ConvGrads r{Vec(x.size(), 0.0), Vec(w.size(), 0.0), has_bias ? Vec(s.K, 0.0) : Vec()};
  // The forward loop again, sending each output's gradient back along every product it summed.
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double go = g[((n * s.K + k) * OH + oh) * OW + ow];
          if (has_bias) r.db[k] += go;
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t rr = 0; rr < s.R; ++rr)
              for (int64_t q = 0; q < s.S; ++q) {
                const int64_t ih = oh * s.stride - s.pad + rr;
                const int64_t iw = ow * s.stride - s.pad + q;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                const int64_t xi = ((n * s.C + c) * s.H + ih) * s.W + iw;
                const int64_t wi = ((k * s.C + c) * s.R + rr) * s.S + q;
                r.dx[xi] += go * w[wi];
                r.dw[wi] += go * x[xi];
              }
        }
  return r;
}

// ---- pooling ---------------------------------------------------------------------------------

// Index into x of the first maximum of the window of output (n, c, oh, ow).
static int64_t max_pool_argmax(const Vec& x, const PoolShape& s, int64_t n, int64_t c, int64_t oh,
                               int64_t ow) {
  int64_t best = -1;
  for (int64_t r = 0; r < s.kernel; ++r)
    for (int64_t q = 0; q < s.kernel; ++q) {
      const int64_t ih = oh * s.stride - s.pad + r;
      const int64_t iw = ow * s.stride - s.pad + q;
      if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // padding never wins
      const int64_t i = ((n * s.C + c) * s.H + ih) * s.W + iw;
      if (best < 0 || x[i] > x[best]) best = i;
    }
  assert(best >= 0 && "a pooling window lies entirely in the padding");
  return best;
}

Vec max_pool2d(const Vec& x, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  Vec y(s.N * s.C * OH * OW);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          y[((n * s.C + c) * OH + oh) * OW + ow] = x[max_pool_argmax(x, s, n, c, oh, ow)];
  return y;
}

Vec max_pool2d_backward(const Vec& x, const Vec& g, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  Vec dx(x.size(), 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          dx[max_pool_argmax(x, s, n, c, oh, ow)] += g[((n * s.C + c) * OH + oh) * OW + ow];
  return dx;
}

Vec avg_pool2d(const Vec& x, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  const double area = static_cast<double>(s.kernel * s.kernel);
  Vec y(s.N * s.C * OH * OW);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = 0;
          for (int64_t r = 0; r < s.kernel; ++r)
            for (int64_t q = 0; q < s.kernel; ++q) {
              const int64_t ih = oh * s.stride - s.pad + r;
              const int64_t iw = ow * s.stride - s.pad + q;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;  // a zero
              acc += x[((n * s.C + c) * s.H + ih) * s.W + iw];
            }
          y[((n * s.C + c) * OH + oh) * OW + ow] = acc / area;
        }
  return y;
}

Vec avg_pool2d_backward(const Vec& g, const PoolShape& s) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  const double area = static_cast<double>(s.kernel * s.kernel);
  Vec dx(s.N * s.C * s.H * s.W, 0.0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const double go = g[((n * s.C + c) * OH + oh) * OW + ow];
          for (int64_t r = 0; r < s.kernel; ++r)
            for (int64_t q = 0; q < s.kernel; ++q) {
              const int64_t ih = oh * s.stride - s.pad + r;
              const int64_t iw = ow * s.stride - s.pad + q;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              dx[((n * s.C + c) * s.H + ih) * s.W + iw] += go / area;
            }
        }
  return dx;
}

Vec global_avg_pool(const Vec& x, int64_t N, int64_t C, int64_t H, int64_t W) {
  Vec y(N * C, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int64_t i = 0; i < H * W; ++i) acc += x[(n * C + c) * H * W + i];
      y[n * C + c] = acc / static_cast<double>(H * W);
    }
  return y;
}

Vec global_avg_pool_backward(const Vec& g, int64_t N, int64_t C, int64_t H, int64_t W) {
  Vec dx(N * C * H * W);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H * W; ++i)
        dx[(n * C + c) * H * W + i] = g[n * C + c] / static_cast<double>(H * W);
  return dx;
}

// ---- batch normalization ---------------------------------------------------------------------

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

// ---- loss ------------------------------------------------------------------------------------

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

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace testutil
