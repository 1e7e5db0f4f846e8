// The CPU GEMM (kernels/cpu/gemm.cpp) and the naive teaching one (kernels/cpu/gemm_naive.cpp)
// on their own, against the double-precision loop ref::gemm (tests/reference/gemm.cpp): every
// transpose combination, alpha and beta (beta = 0 must ignore NaN already in C), an empty sum
// (k = 0), sizes around the register tile (6 x 16) and the cache blocks (256 deep, 144 rows,
// 4096 columns) so that every edge path runs, and the threaded path (called outside a parallel
// region) giving the same bits as one thread. Error bound: |C - reference| <= 1e-5 * sqrt(k) *
// (1 + |reference|) per element (float32 accumulation of k products of values in [-1, 1]). The
// packed interface (kernels/cpu/gemm_packed.h) the convolutions use is checked the same way, its
// B operand written element by element through b_offset as they write it, with C inside a wider
// matrix (ldc > n).
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "minidl/kernels/cpu/gemm_packed.h"
#include "minidl/kernels/gemm.h"
#include "reference/gemm.h"

namespace cpu = minidl::kernels::cpu;

namespace {

using Matrix = std::vector<float>;

Matrix random_matrix(size_t size, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-1.f, 1.f);
  Matrix m(size);
  for (float& v : m) v = value(rng);
  return m;
}

// The largest scaled error of C = alpha op(A) op(B) + beta C0 over all elements, against the
// double-precision loop ref::gemm (tests/reference/gemm.cpp).
double worst_error(bool ta, bool tb, int m, int n, int k, float alpha, const Matrix& a,
                   const Matrix& b, float beta, const Matrix& c0, const Matrix& c) {
  const ref::Vec expected =
      ref::gemm(ta, tb, m, n, k, alpha, ref::Vec(a.begin(), a.end()), ref::Vec(b.begin(), b.end()),
                beta, ref::Vec(c0.begin(), c0.end()));
  double worst = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double error = std::abs(expected[i] - c[i]) / (1.0 + std::abs(expected[i]));
    worst = std::max(worst, error / std::sqrt(std::max(k, 1)));
  }
  return worst;
}

}  // namespace

TEST_CASE("cpu gemm matches a double loop on every transpose and edge size", "[gemm]") {
  std::mt19937 rng(7);
  const int ms[] = {1, 5, 6, 7, 145}, ns[] = {1, 15, 16, 17, 4113}, ks[] = {1, 3, 257};
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (int m : ms) {
        for (int n : ns) {
          for (int k : ks) {
            if (double(m) * n * k > 3e6) continue;  // the double loop is slow
            const Matrix a = random_matrix(size_t(m) * k, rng),
                         b = random_matrix(size_t(k) * n, rng);
            const Matrix c0 = random_matrix(size_t(m) * n, rng);
            for (float beta : {0.f, 1.f, -0.5f}) {
              // The fast GEMM and the teaching one (kernels/cpu/gemm_naive.cpp) alike.
              for (bool naive : {false, true}) {
                Matrix c = c0;
                if (beta == 0.f) c.assign(c.size(), std::numeric_limits<float>::quiet_NaN());
                if (naive) {
                  cpu::gemm_naive(ta, tb, m, n, k, 0.75f, a.data(), b.data(), beta, c.data());
                } else {
                  // Scratch starts as NaN: gemm must not read what it has not written.
                  Matrix workspace(size_t(cpu::gemm_workspace(m, n, k, 0)),
                                   std::numeric_limits<float>::quiet_NaN());
                  cpu::gemm(ta, tb, m, n, k, 0.75f, a.data(), b.data(), beta, c.data(),
                            workspace.data());
                }
                INFO((naive ? "gemm_naive" : "gemm")
                     << " transpose " << ta << tb << " m " << m << " n " << n << " k " << k
                     << " beta " << beta);
                CHECK(worst_error(ta, tb, m, n, k, 0.75f, a, b, beta, c0, c) <= 1e-5);
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("cpu gemm with k = 0 scales C by beta", "[gemm]") {
  Matrix c = {1.f, 2.f, 3.f, 4.f};
  CHECK(cpu::gemm_workspace(2, 2, 0, 0) == 0);  // nothing to pack
  cpu::gemm(false, false, 2, 2, 0, 1.f, nullptr, nullptr, 0.5f, c.data(), nullptr);
  CHECK(c == Matrix{0.5f, 1.f, 1.5f, 2.f});
  c.assign(4, std::numeric_limits<float>::quiet_NaN());
  cpu::gemm(false, false, 2, 2, 0, 1.f, nullptr, nullptr, 0.f, c.data(), nullptr);
  CHECK(c == Matrix{0.f, 0.f, 0.f, 0.f});
}

TEST_CASE("cpu gemm gives the same bits with one thread and with several", "[gemm]") {
  std::mt19937 rng(11);
  const int m = 300, n = 700, k = 600;  // several row blocks and k blocks: the threaded path
  const Matrix a = random_matrix(size_t(m) * k, rng), b = random_matrix(size_t(k) * n, rng);
  Matrix serial(size_t(m) * n), threaded(size_t(m) * n);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  Matrix workspace(size_t(cpu::gemm_workspace(m, n, k, 0)));
  cpu::gemm(false, true, m, n, k, 1.f, a.data(), b.data(), 0.f, serial.data(), workspace.data());
  omp_set_num_threads(std::max(threads, 3));
  // Sized for the threads the call will use (0: all of them), asked in the same setting.
  workspace.resize(size_t(cpu::gemm_workspace(m, n, k, 0)));
  cpu::gemm(false, true, m, n, k, 1.f, a.data(), b.data(), 0.f, threaded.data(), workspace.data());
  omp_set_num_threads(threads);
  CHECK(serial == threaded);
  CHECK(worst_error(false, true, m, n, k, 1.f, a, b, 0.f, serial, serial) <= 1e-5);
}

TEST_CASE("cpu packed gemm matches a double loop, its operands packed by pack_a and b_offset",
          "[gemm]") {
  namespace packed = minidl::kernels::cpu::packed;
  std::mt19937 rng(13);
  const int ms[] = {1, 7, 145}, ns[] = {1, 17, 40}, ks[] = {3, 256, 300};
  for (int ta = 0; ta < 2; ++ta) {
    for (int m : ms) {
      for (int n : ns) {
        for (int k : ks) {
          const Matrix a = random_matrix(size_t(m) * k, rng), b = random_matrix(size_t(k) * n, rng);
          const Matrix c0 = random_matrix(size_t(m) * n, rng);
          Matrix packed_a(packed::a_floats(m, k)), packed_b(packed::b_floats(k, n), NAN);
          packed::pack_a(ta, m, k, a.data(), packed_a.data());
          for (int row = 0; row < k; ++row)
            for (int col = 0; col < n; ++col)
              packed_b[packed::b_offset(row, col, k, n)] = b[size_t(row) * n + col];
          for (float beta : {0.f, 1.f}) {
            const int ldc = n + 3;  // C is the left part of a wider matrix
            Matrix wide(size_t(m) * ldc, beta == 0.f ? NAN : 0.f);
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < n; ++j) wide[size_t(i) * ldc + j] = c0[size_t(i) * n + j];
            packed::gemm(m, n, k, packed_a.data(), packed_b.data(), beta, wide.data(), ldc);
            Matrix c(size_t(m) * n);
            for (int i = 0; i < m; ++i) {
              for (int j = 0; j < n; ++j) c[size_t(i) * n + j] = wide[size_t(i) * ldc + j];
              for (int j = n; j < ldc; ++j)
                CHECK(std::isnan(wide[size_t(i) * ldc + j]) == (beta == 0.f));
            }
            INFO("transposed A " << ta << " m " << m << " n " << n << " k " << k << " beta "
                                 << beta);
            CHECK(worst_error(ta, false, m, n, k, 1.f, a, b, beta, c0, c) <= 1e-5);
          }
        }
      }
    }
  }
}
