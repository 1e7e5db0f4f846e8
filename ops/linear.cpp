// Matrix products: matmul and linear, both on the GEMM kernel (kernels/cpu/gemm.cpp on the
// CPU, cuBLAS on the GPU).
//   Y = A B       ->  dA = dY B^T,   dB = A^T dY
//   Y = X W^T + b ->  dX = dY W,     dW = dY^T X,   db = column sums of dY
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/elementwise.h"
#include "minidl/kernels/gemm.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"
#include "minidl/ops/scratch.h"

namespace minidl::ops {

namespace {
// C [m, n] = op(A) op(B), on a's device.
Tensor gemm(const char* op, bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, int64_t m,
            int64_t n, int64_t k) {
  Tensor c = Tensor::empty({m, n}, a.device());
  // The CPU GEMM's packing scratch (none for cuBLAS), for as many threads as it may use.
  const int64_t floats =
      MINIDL_DEVICE_QUERY(a.device(), gemm_workspace(int(m), int(n), int(k), /*threads=*/0));
  MINIDL_DISPATCH(a, op,
                  gemm(trans_a, trans_b, int(m), int(n), int(k), 1.f, a.data(), b.data(), 0.f,
                       c.data(), scratch(floats, a.device())));
  return c;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  checks::rank("matmul", "a", a, 2, "[M, K]");
  checks::rank("matmul", "b", b, 2, "[K, N]");
  checks::same_device("matmul", {a, b});
  MINIDL_CHECK(a.size(1) == b.size(0), "matmul", "inner dimensions differ: ", a.shape_str(), " x ",
               b.shape_str());
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  Tensor out = gemm("matmul", false, false, a, b, m, n, k);
  const Tensor a_values = a.detach(), b_values = b.detach();
  record("matmul", out, {a, b}, [a_values, b_values, m, n, k](const Tensor& g) {
    return std::vector<Tensor>{gemm("matmul backward", false, true, g, b_values, m, k, n),
                               gemm("matmul backward", true, false, a_values, g, k, n, m)};
  });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  checks::rank("linear", "x", x, 2, "[N, in_features]");
  checks::rank("linear", "weight", weight, 2, "[out_features, in_features]");
  checks::same_device("linear", {x, weight, bias});
  MINIDL_CHECK(x.size(1) == weight.size(1), "linear", "x ", x.shape_str(), " has ", x.size(1),
               " features but weight ", weight.shape_str(), " expects ", weight.size(1));
  if (bias.defined()) {
    MINIDL_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear", "bias ",
                 bias.shape_str(), " must be [", weight.size(0), "] for weight ",
                 weight.shape_str());
  }
  const int64_t batch = x.size(0), in = x.size(1), out_features = weight.size(0);
  Tensor out = gemm("linear", false, true, x, weight, batch, out_features, in);
  if (bias.defined()) {  // in place: `out` is ours
    MINIDL_DISPATCH(out, "linear (bias)",
                    add_channel_bias(batch, out_features, 1, out.data(), bias.data(), out.data()));
  }
  const Tensor x_values = x.detach(), w_values = weight.detach();
  const bool has_bias = bias.defined();
  std::vector<Tensor> inputs{x, weight};
  if (has_bias) inputs.push_back(bias);
  record("linear", out, std::move(inputs),
         [x_values, w_values, has_bias, batch, in, out_features](const Tensor& g) {
           std::vector<Tensor> grads{
               gemm("linear backward", false, false, g, w_values, batch, in, out_features),
               gemm("linear backward", true, false, g, x_values, out_features, in, batch)};
           if (has_bias) {
             Tensor bias_grad = Tensor::empty({out_features}, g.device());
             MINIDL_DISPATCH(g, "linear backward (bias)",
                             channel_sum(batch, out_features, 1, g.data(), bias_grad.data()));
             grads.push_back(bias_grad);
           }
           return grads;
         });
  return out;
}

}  // namespace minidl::ops
