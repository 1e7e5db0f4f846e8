#include "kernels/gemm.h"

#include <Eigen/Core>

namespace minidl::kernels::cpu {

namespace {
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor>;
using Map = Eigen::Map<RowMajor>;

// Eigen picks a kernel per expression type at compile time, so the four transpose cases are
// spelled out. A stored transposed is just the same buffer mapped with swapped dimensions.
template <typename OpA, typename OpB>
void multiply_into(Map& c, const OpA& a, const OpB& b, float alpha, float beta) {
  if (beta == 0.f) {
    c.noalias() = alpha * (a * b);
  } else {
    if (beta != 1.f) c *= beta;
    c.noalias() += alpha * (a * b);
  }
}
}  // namespace

void gemm(bool transpose_a, bool transpose_b, int m, int n, int k, float alpha, const float* a,
          const float* b, float beta, float* c) {
  Map c_mat(c, m, n);
  ConstMap a_mat(a, transpose_a ? k : m, transpose_a ? m : k);
  ConstMap b_mat(b, transpose_b ? n : k, transpose_b ? k : n);
  if (!transpose_a && !transpose_b) multiply_into(c_mat, a_mat, b_mat, alpha, beta);
  if (!transpose_a && transpose_b) multiply_into(c_mat, a_mat, b_mat.transpose(), alpha, beta);
  if (transpose_a && !transpose_b) multiply_into(c_mat, a_mat.transpose(), b_mat, alpha, beta);
  if (transpose_a && transpose_b)
    multiply_into(c_mat, a_mat.transpose(), b_mat.transpose(), alpha, beta);
}

}  // namespace minidl::kernels::cpu
