// CPU batch norm: one channel per OpenMP iteration (channels are independent). A channel's
// values are `batch` contiguous planes of `spatial` floats. Statistics are accumulated in two
// passes (mean, then squared deviations), which is stable where the one-pass
// E[x^2] - E[x]^2 formula cancels catastrophically: within a plane in float, vectorized
// (`omp simd reduction` lets the compiler split the sum over vector lanes), and the planes'
// sums in double. The epilogue (residual add, ReLU) is applied in the same loop that writes y,
// and its gradient in the loops that read dy.
#include <cmath>

#include "kernels/batch_norm.h"

namespace minidl::kernels::cpu {

namespace {
// Calls fn(offset) with the flat index of the first value of each of channel c's planes.
template <typename PerPlane>
void for_each_plane(const BatchNormShape& s, int64_t c, PerPlane fn) {
  for (int64_t n = 0; n < s.batch; ++n) fn((n * s.channels + c) * s.spatial);
}

// sum over the channel of f(i), each plane summed in float, the planes in double.
template <typename Value>
double channel_sum(const BatchNormShape& s, int64_t c, Value f) {
  double total = 0.0;
  for_each_plane(s, c, [&](int64_t offset) {
    float plane = 0.f;
#pragma omp simd reduction(+ : plane)
    for (int64_t i = offset; i < offset + s.spatial; ++i) plane += f(i);
    total += plane;
  });
  return total;
}

void apply(const BatchNormShape& s, int64_t c, const float* x, const BatchNormEpilogue& e,
           float mean, float scale, float beta, float* y) {
  for_each_plane(s, c, [&](int64_t offset) {
    if (e.residual) {
#pragma omp simd
      for (int64_t i = offset; i < offset + s.spatial; ++i)
        y[i] = batch_norm_output(x[i], mean, scale, beta, e.residual[i], e.relu);
    } else {
#pragma omp simd
      for (int64_t i = offset; i < offset + s.spatial; ++i)
        y[i] = batch_norm_output(x[i], mean, scale, beta, 0.f, e.relu);
    }
  });
}
}  // namespace

int64_t batch_norm_workspace(const BatchNormShape&) { return 0; }

void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, const BatchNormEpilogue& epilogue, float eps,
                              float momentum, float* y, float* save_mean, float* save_invstd,
                              float* running_mean, float* running_var, float*) {
  const double count = static_cast<double>(s.count());
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    const double mean = channel_sum(s, c, [&](int64_t i) { return x[i]; }) / count;
    const float mean_f = static_cast<float>(mean);
    const double squares = channel_sum(s, c, [&](int64_t i) {
      const float d = x[i] - mean_f;
      return d * d;
    });
    const double var = squares / count;  // biased: what normalization uses
    const float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    apply(s, c, x, epilogue, m, (gamma ? gamma[c] : 1.f) * invstd, beta ? beta[c] : 0.f, y);
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
                             const float* beta, const BatchNormEpilogue& epilogue,
                             const float* running_mean, const float* running_var, float eps,
                             float* y) {
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    const float invstd = 1.f / std::sqrt(running_var[c] + eps);
    apply(s, c, x, epilogue, running_mean[c], (gamma ? gamma[c] : 1.f) * invstd,
          beta ? beta[c] : 0.f, y);
  }
}

// With xhat = (x - mean) * invstd, y = gamma * xhat + beta (+ residual, ReLU) and dz the
// gradient that reaches the normalization (dy masked by the ReLU), per channel over its M
// values:
//   dbeta = sum(dz),  dgamma = sum(dz * xhat),  dresidual = dz
//   dx = gamma * invstd / M * (M * dz - dbeta - xhat * dgamma)
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         const float* relu_output, float* dx, float* residual_grad,
                         float* dgamma, float* dbeta, float*) {
  const double count = static_cast<double>(s.count());
#pragma omp parallel for
  for (int64_t c = 0; c < s.channels; ++c) {
    const float m = save_mean[c], invstd = save_invstd[c];
    const double sum_dz =
        channel_sum(s, c, [&](int64_t i) { return batch_norm_masked_grad(dy[i], relu_output, i); });
    const double sum_dz_xhat = channel_sum(s, c, [&](int64_t i) {
      return batch_norm_masked_grad(dy[i], relu_output, i) * (x[i] - m) * invstd;
    });
    const float k = static_cast<float>((gamma ? gamma[c] : 1.f) * invstd / count);
    const float total_dz = static_cast<float>(sum_dz), total_dz_xhat = static_cast<float>(sum_dz_xhat);
    const float fcount = static_cast<float>(count);
    for_each_plane(s, c, [&](int64_t offset) {
#pragma omp simd
      for (int64_t i = offset; i < offset + s.spatial; ++i) {
        const float dz = batch_norm_masked_grad(dy[i], relu_output, i);
        dx[i] = k * (fcount * dz - total_dz - (x[i] - m) * invstd * total_dz_xhat);
        if (residual_grad) residual_grad[i] = dz;
      }
    });
    if (dgamma) dgamma[c] = total_dz_xhat;
    if (dbeta) dbeta[c] = total_dz;
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
    const double sum_dy = channel_sum(s, c, [&](int64_t i) { return dy[i]; });
    const double sum_dy_xhat = channel_sum(s, c, [&](int64_t i) { return dy[i] * (x[i] - m) * invstd; });
    for_each_plane(s, c, [&](int64_t offset) {
      for (int64_t i = offset; i < offset + s.spatial; ++i) dx[i] = dy[i] * g * invstd;
    });
    if (dgamma) dgamma[c] = static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[c] = static_cast<float>(sum_dy);
  }
}

}  // namespace minidl::kernels::cpu
