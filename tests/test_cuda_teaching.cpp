// The CUDA teaching kernels against the double reference (tests/reference/), on the shared
// awkward cases of tests/conv_cases.h: v0 (one thread per element, kernels/conv2d_direct.h),
// v1 (the 64x64 tiled implicit GEMM, kernels/conv2d_tiled.h) in all three passes, and the naive
// GEMM (kernels/gemm.h) in every transpose combination. Outputs start as NaN (poisoned
// allocations): an unwritten element fails. Built for the GPU (native) and the emulator.
#include <cmath>

#include "conv_cases.h"
#include "cuda_check.h"
#include "minidl/kernels/conv2d_direct.h"
#include "minidl/kernels/conv2d_tiled.h"
#include "minidl/kernels/gemm.h"

using minidl::Device;
using minidl::Tensor;
using minidl::kernels::Conv2dShape;
using testutil::kTol;
using testutil::Vec;
namespace cuda = minidl::kernels::cuda;

namespace {

Tensor device_copy(const std::vector<float>& v) {
  return Tensor::from_vector(v, {int64_t(v.size())}, Device::CUDA);
}
Tensor device_empty(size_t n) {
  return Tensor::empty({std::max<int64_t>(int64_t(n), 1)}, Device::CUDA);
}
Vec host_values(const Tensor& t, size_t n) {
  const std::vector<float> v = t.to_vector();
  return Vec(v.begin(), v.begin() + int64_t(n));
}

}  // namespace

TEST_CASE("cuda teaching convolutions v0 and v1 match the reference in all three passes",
          "[gpu][conv2d][teaching]") {
  if (cudatest::skip_without_cuda()) return;
  std::mt19937 rng(411);
  for (const convcases::Case& c : convcases::kCases) {
    const Conv2dShape s = convcases::kernel_shape(c.s);
    const convcases::Problem p = convcases::make_problem(c, rng);
    const Tensor x = device_copy(p.x), w = device_copy(p.w), b = device_copy(p.b),
                 dy = device_copy(p.dy);
    for (int version = 0; version < 2; ++version) {
      INFO(c.what << (version == 0 ? ", v0 direct" : ", v1 tiled"));
      Tensor y = device_empty(p.y_ref.size()), dx = device_empty(p.x.size()),
             dw = device_empty(p.w.size()), db = device_empty(p.b.size());
      if (version == 0) {
        cuda::conv2d_forward_direct(s, x.data(), w.data(), b.data(), y.data());
        cuda::conv2d_backward_data_direct(s, dy.data(), w.data(), dx.data());
        cuda::conv2d_backward_weight_direct(s, x.data(), dy.data(), dw.data(), db.data());
      } else {
        const Tensor workspace =
            device_empty(size_t(cuda::conv2d_backward_weight_tiled_workspace(s)));
        cuda::conv2d_forward_tiled(s, x.data(), w.data(), b.data(), y.data());
        cuda::conv2d_backward_data_tiled(s, dy.data(), w.data(), dx.data());
        cuda::conv2d_backward_weight_tiled(s, x.data(), dy.data(), dw.data(), db.data(),
                                           workspace.data());
      }
      CHECK_REL(host_values(y, p.y_ref.size()), p.y_ref, kTol);
      CHECK_REL(host_values(dx, p.x.size()), p.g_ref.dx, kTol);
      CHECK_REL(host_values(dw, p.w.size()), p.g_ref.dw, kTol);
      CHECK_REL(host_values(db, p.b.size()), p.g_ref.db, kTol);
    }
  }
}

TEST_CASE("cuda v1 splits backward-weight's reduction and refuses a missing workspace",
          "[gpu][conv2d][teaching]") {
  // 3 x 64 x 64 images give 12,288 reduction columns: three slices of about 4096.
  const Conv2dShape s = convcases::kernel_shape({3, 2, 64, 64, 3, 3, 3, 1, 1});
  CHECK(cuda::conv2d_backward_weight_tiled_workspace(s) == 3 * 3 * 2 * 3 * 3);
  CHECK(cuda::conv2d_backward_weight_tiled_workspace(
            convcases::kernel_shape({1, 2, 8, 8, 3, 3, 3, 1, 1})) == 0);
  if (cudatest::skip_without_cuda()) return;
  std::mt19937 rng(412);
  const convcases::Problem p =
      convcases::make_problem({"split", {3, 2, 64, 64, 3, 3, 3, 1, 1}}, rng);
  const Tensor x = device_copy(p.x), dy = device_copy(p.dy);
  Tensor dw = device_empty(p.w.size());
  const Tensor workspace = device_empty(size_t(cuda::conv2d_backward_weight_tiled_workspace(s)));
  cuda::conv2d_backward_weight_tiled(s, x.data(), dy.data(), dw.data(), nullptr, workspace.data());
  CHECK_REL(host_values(dw, p.w.size()), p.g_ref.dw, kTol);
  CHECK_THROWS_WITH(
      cuda::conv2d_backward_weight_tiled(s, x.data(), dy.data(), dw.data(), nullptr, nullptr),
      Catch::Contains("needs a workspace of 162 floats"));
}

TEST_CASE("cuda naive GEMM matches the reference in every transpose combination",
          "[gpu][gemm][teaching]") {
  if (cudatest::skip_without_cuda()) return;
  std::mt19937 rng(413);
  const int m = 37, n = 19, k = 70;
  for (bool transpose_a : {false, true}) {
    for (bool transpose_b : {false, true}) {
      for (float beta : {0.f, 0.5f}) {
        INFO("transpose_a " << transpose_a << " transpose_b " << transpose_b << " beta " << beta);
        const Vec a = testutil::random_vec(int64_t(m) * k, rng),
                  b = testutil::random_vec(int64_t(k) * n, rng);
        Vec c0 = testutil::random_vec(int64_t(m) * n, rng);
        if (beta == 0.f) c0[5] = NAN;  // beta = 0 ignores C, a NaN in it included
        const Vec want = ref::gemm(transpose_a, transpose_b, m, n, k, 1.5, a, b, beta, c0);
        const Tensor a_d = device_copy(convcases::to_float(a)),
                     b_d = device_copy(convcases::to_float(b));
        Tensor c = device_copy(convcases::to_float(c0));
        cuda::gemm_naive(transpose_a, transpose_b, m, n, k, 1.5f, a_d.data(), b_d.data(), beta,
                         c.data());
        CHECK_REL(host_values(c, want.size()), want, kTol);
      }
    }
  }
}
