// init::patch_whitening (layers/init.h): the patches' second-moment matrix, accumulated in
// double, and its eigendecomposition by Eigen, the one place the library uses Eigen.
#include <Eigen/Dense>

#include <cmath>
#include <vector>

#include "minidl/core/error.h"
#include "minidl/layers/init.h"

namespace minidl::init {

Tensor patch_whitening(const Tensor& images, int kernel, float eps) {
  const char* op = "init::patch_whitening";
  MINIDL_CHECK(images.defined() && images.dim() == 4 && images.device() == Device::CPU, op,
               "expects CPU images [N, C, H, W], got ",
               images.defined() ? images.shape_str() : "an undefined tensor");
  const int64_t n = images.size(0), channels = images.size(1), height = images.size(2),
                width = images.size(3);
  MINIDL_CHECK(kernel >= 1 && kernel <= height && kernel <= width, op, "kernel ", kernel,
               " must be in [1, ", std::min(height, width), "] for images ", images.shape_str());
  MINIDL_CHECK(eps > 0.f && std::isfinite(eps), op, "eps must be positive, got ", eps);
  const int64_t d = channels * kernel * kernel;

  // S = (1 / P) sum over patches of p p^T, p ordered as a filter is: (channel, row, column).
  Eigen::MatrixXd moment = Eigen::MatrixXd::Zero(d, d);
  Eigen::VectorXd patch(d);
  const float* x = images.data();
  int64_t patches = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t y = 0; y + kernel <= height; ++y) {
      for (int64_t c0 = 0; c0 + kernel <= width; ++c0) {
        int64_t k = 0;
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t r = 0; r < kernel; ++r)
            for (int64_t s = 0; s < kernel; ++s)
              patch[k++] = x[((i * channels + c) * height + y + r) * width + c0 + s];
        moment.selfadjointView<Eigen::Lower>().rankUpdate(patch);
        ++patches;
      }
    }
  }
  moment = moment.selfadjointView<Eigen::Lower>();
  moment /= double(patches);

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(moment);
  MINIDL_CHECK(solver.info() == Eigen::Success, op, "the eigendecomposition of the ", d, "x", d,
               " patch moment matrix did not converge");
  // Eigen orders eigenvalues ascending: filter f takes the (d - 1 - f)-th, largest first.
  Tensor weight = Tensor::empty({2 * d, channels, kernel, kernel});
  float* w = weight.data();
  for (int64_t f = 0; f < d; ++f) {
    const int64_t e = d - 1 - f;
    const double scale = 1.0 / std::sqrt(std::max(solver.eigenvalues()[e], 0.0) + double(eps));
    for (int64_t k = 0; k < d; ++k) {
      const float value = float(solver.eigenvectors()(k, e) * scale);
      w[f * d + k] = value;
      w[(f + d) * d + k] = -value;
    }
  }
  return weight;
}

}  // namespace minidl::init
