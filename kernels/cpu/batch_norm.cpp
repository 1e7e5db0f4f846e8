// CPU batch norm in two streaming passes over the NCHW tensors, plane by plane.
//
// A channel's values are `batch` planes of `spatial` floats, one per image, a whole
// channels * spatial apart. Walking a channel at a time jumps through memory at that stride
// (measured at 2-4 GB/s); walking the planes in storage order streams. So each pass runs over
// the (image, channel) planes in order, split over the OpenMP threads:
//   1. per plane, its sums (forward: sum and squared deviations from the plane's own mean;
//      backward: sum of dz and of dz * (x - mean)), the plane held in L1 while it is read;
//   2. per channel, the planes' sums merged in double in image order (Chan et al.'s pairwise
//      formula for the variance: M2 = sum over planes of M2_p + n_p (mean_p - mean)^2, as
//      stable as two passes over the data and exact in its algebra);
//   3. per plane, the output (forward: y with the epilogue; backward: dx and the residual's
//      gradient).
// Every plane's sums and every channel's merge have a fixed order, so results do not depend
// on the number of threads. The per-value math (normalize, epilogue, masked gradient) is
// kernels/batch_norm.h's, shared with the CUDA kernels.
#include <cmath>
#include <vector>

#include "minidl/kernels/batch_norm.h"

namespace minidl::kernels::cpu {

namespace {

// Two floats per (image, channel) plane, in the caller's workspace (batch_norm_workspace).
struct PlaneSums {
  float* first;
  float* second;
};
int64_t planes(const BatchNormShape& s) { return int64_t(s.batch) * s.channels; }
PlaneSums plane_sums(const BatchNormShape& s, float* workspace) {
  return {workspace, workspace + planes(s)};
}

// y = the normalized plane with the epilogue, for every plane: scale[c] = gamma * invstd.
void apply(const BatchNormShape& s, const float* x, const BatchNormEpilogue& e, const float* mean,
           const float* scale, const float* shift, float* y) {
  const int64_t n = s.spatial;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.batch * s.channels; ++plane) {
    const int64_t c = plane % s.channels, begin = plane * n;
    const float m = mean[c], k = scale[c], b = shift[c];
    if (e.residual) {
#pragma omp simd
      for (int64_t i = begin; i < begin + n; ++i)
        y[i] = batch_norm_output(x[i], m, k, b, e.residual[i], e.relu);
    } else {
#pragma omp simd
      for (int64_t i = begin; i < begin + n; ++i)
        y[i] = batch_norm_output(x[i], m, k, b, 0.f, e.relu);
    }
  }
}

// Per-channel affine parameters for apply(): scale = gamma * invstd, shift = beta.
void affine(const BatchNormShape& s, const float* gamma, const float* beta, const float* invstd,
            std::vector<float>& scale, std::vector<float>& shift) {
  scale.resize(s.channels);
  shift.resize(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) {
    scale[c] = (gamma ? gamma[c] : 1.f) * invstd[c];
    shift[c] = beta ? beta[c] : 0.f;
  }
}

}  // namespace

int64_t batch_norm_workspace(const BatchNormShape& s) { return 2 * planes(s); }

void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, const BatchNormEpilogue& epilogue, float eps,
                              float momentum, float* y, float* save_mean, float* save_invstd,
                              float* running_mean, float* running_var, float* workspace) {
  const PlaneSums sums = plane_sums(s, workspace);  // first: the plane's sum, second: its M2
  const int64_t n = s.spatial;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.batch * s.channels; ++plane) {
    const float* v = x + plane * n;
    float total = 0.f;
#pragma omp simd reduction(+ : total)
    for (int64_t i = 0; i < n; ++i) total += v[i];
    const float plane_mean = total / static_cast<float>(n);
    float m2 = 0.f;
#pragma omp simd reduction(+ : m2)
    for (int64_t i = 0; i < n; ++i) m2 += (v[i] - plane_mean) * (v[i] - plane_mean);
    sums.first[plane] = total;
    sums.second[plane] = m2;
  }
  const double count = static_cast<double>(s.count());
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < s.channels; ++c) {
    double total = 0.0;
    for (int64_t b = 0; b < s.batch; ++b) total += sums.first[b * s.channels + c];
    const double mean = total / count;
    double m2 = 0.0;
    for (int64_t b = 0; b < s.batch; ++b) {
      const double deviation = sums.first[b * s.channels + c] / double(n) - mean;
      m2 += sums.second[b * s.channels + c] + double(n) * deviation * deviation;
    }
    const double var = m2 / count;  // biased: what normalization uses
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    if (running_mean && running_var) {
      const double unbiased = count > 1 ? m2 / (count - 1) : var;
      running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * save_mean[c];
      running_var[c] = (1.f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
    }
  }
  std::vector<float> scale, shift;
  affine(s, gamma, beta, save_invstd, scale, shift);
  apply(s, x, epilogue, save_mean, scale.data(), shift.data(), y);
}

void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const BatchNormEpilogue& epilogue,
                             const float* running_mean, const float* running_var, float eps,
                             float* y) {
  std::vector<float> invstd(s.channels), scale, shift;
  for (int64_t c = 0; c < s.channels; ++c) invstd[c] = 1.f / std::sqrt(running_var[c] + eps);
  affine(s, gamma, beta, invstd.data(), scale, shift);
  apply(s, x, epilogue, running_mean, scale.data(), shift.data(), y);
}

// With xhat = (x - mean) * invstd, y = gamma * xhat + beta (+ residual, ReLU) and dz the
// gradient that reaches the normalization (dy masked by the ReLU), per channel over its M
// values:
//   dbeta = sum(dz),  dgamma = sum(dz * xhat),  dresidual = dz
//   dx = gamma * invstd / M * (M * dz - dbeta - xhat * dgamma)
void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         const float* relu_output, float* dx, float* residual_grad, float* dgamma,
                         float* dbeta, float* workspace) {
  const PlaneSums sums =
      plane_sums(s, workspace);  // first: sum of dz, second: sum of dz * (x - mean)
  const int64_t n = s.spatial;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.batch * s.channels; ++plane) {
    const int64_t begin = plane * n;
    const float m = save_mean[plane % s.channels];
    float dz_total = 0.f, dz_x_total = 0.f;
#pragma omp simd reduction(+ : dz_total, dz_x_total)
    for (int64_t i = begin; i < begin + n; ++i) {
      const float dz = batch_norm_masked_grad(dy[i], relu_output, i);
      dz_total += dz;
      dz_x_total += dz * (x[i] - m);
    }
    sums.first[plane] = dz_total;
    sums.second[plane] = dz_x_total;
  }
  std::vector<float> total_dz(s.channels), total_dz_xhat(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) {
    double dz = 0.0, dz_x = 0.0;
    for (int64_t b = 0; b < s.batch; ++b) {
      dz += sums.first[b * s.channels + c];
      dz_x += sums.second[b * s.channels + c];
    }
    total_dz[c] = static_cast<float>(dz);
    total_dz_xhat[c] = static_cast<float>(dz_x * save_invstd[c]);
    if (dgamma) dgamma[c] = total_dz_xhat[c];
    if (dbeta) dbeta[c] = total_dz[c];
  }
  const float count = static_cast<float>(s.count());
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.batch * s.channels; ++plane) {
    const int64_t c = plane % s.channels, begin = plane * n;
    const float m = save_mean[c], invstd = save_invstd[c];
    const float k = (gamma ? gamma[c] : 1.f) * invstd / count;
    const float sum_dz = total_dz[c], sum_dz_xhat = total_dz_xhat[c];
#pragma omp simd
    for (int64_t i = begin; i < begin + n; ++i) {
      const float dz = batch_norm_masked_grad(dy[i], relu_output, i);
      dx[i] = k * (count * dz - sum_dz - (x[i] - m) * invstd * sum_dz_xhat);
      if (residual_grad) residual_grad[i] = dz;
    }
  }
}

void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta, float* workspace) {
  const PlaneSums sums =
      plane_sums(s, workspace);  // first: sum of dy, second: sum of dy * (x - mean)
  const int64_t n = s.spatial;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.batch * s.channels; ++plane) {
    const int64_t c = plane % s.channels, begin = plane * n;
    const float m = running_mean[c];
    const float k = (gamma ? gamma[c] : 1.f) * (1.f / std::sqrt(running_var[c] + eps));
    float dy_total = 0.f, dy_x_total = 0.f;
#pragma omp simd reduction(+ : dy_total, dy_x_total)
    for (int64_t i = begin; i < begin + n; ++i) {
      dy_total += dy[i];
      dy_x_total += dy[i] * (x[i] - m);
      dx[i] = dy[i] * k;
    }
    sums.first[plane] = dy_total;
    sums.second[plane] = dy_x_total;
  }
  for (int64_t c = 0; c < s.channels; ++c) {
    double total = 0.0, total_x = 0.0;
    for (int64_t b = 0; b < s.batch; ++b) {
      total += sums.first[b * s.channels + c];
      total_x += sums.second[b * s.channels + c];
    }
    const double invstd = 1.0 / std::sqrt(double(running_var[c]) + eps);
    if (dgamma) dgamma[c] = static_cast<float>(total_x * invstd);
    if (dbeta) dbeta[c] = static_cast<float>(total);
  }
}

}  // namespace minidl::kernels::cpu
