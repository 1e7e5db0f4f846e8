// Elementwise ops and full reductions: add (with bias broadcast), sub, mul, scale, relu, sum,
// mean. Each runs the kernel of its input's device (core/dispatch.h); each backward is
// written with ops or dispatched kernels, so it runs wherever the gradient lives.
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/elementwise.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

namespace {

bool is_channel_bias_of(const Tensor& bias, const Tensor& x) {
  return bias.dim() == 1 && x.dim() >= 2 && bias.size(0) == x.size(1);
}

Tensor add_channel_bias(const Tensor& x, const Tensor& bias) {
  // x viewed as [outer, channels, inner] around dimension 1.
  const int64_t outer = x.size(0), channels = x.size(1), inner = x.numel() / (outer * channels);
  Tensor out = Tensor::empty(x.shape(), x.device());
  MINIDL_DISPATCH(x, "add (channel bias)",
                  add_channel_bias(outer, channels, inner, x.data(), bias.data(), out.data()));
  record(
      "add", out, {x, bias},
      [outer, channels, inner](const Tensor& g) {
        Tensor bias_grad = Tensor::empty({channels}, g.device());
        MINIDL_DISPATCH(g, "add backward (channel bias)",
                        channel_sum(outer, channels, inner, g.data(), bias_grad.data()));
        return std::vector<Tensor>{g, bias_grad};
      },
      SavedInputs::ShapesOnly);
  return out;
}

void check_binary(const char* op, const Tensor& a, const Tensor& b) {
  checks::nonempty(op, "a", a);
  checks::nonempty(op, "b", b);
  checks::same_device(op, {a, b});
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_binary("add", a, b);
  if (a.shape() != b.shape() && is_channel_bias_of(b, a)) return add_channel_bias(a, b);
  MINIDL_CHECK(a.shape() == b.shape(), "add", "shapes ", a.shape_str(), " and ", b.shape_str(),
               " are neither equal nor [C] broadcast along dimension 1 of [N, C, ...]");
  Tensor out = Tensor::empty(a.shape(), a.device());
  MINIDL_DISPATCH(a, "add", add(a.numel(), a.data(), b.data(), out.data()));
  record(
      "add", out, {a, b},
      [](const Tensor& g) {
        return std::vector<Tensor>{g, g};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_binary("sub", a, b);
  checks::same_shape("sub", a, b);
  Tensor out = Tensor::empty(a.shape(), a.device());
  MINIDL_DISPATCH(a, "sub", sub(a.numel(), a.data(), b.data(), out.data()));
  record(
      "sub", out, {a, b},
      [](const Tensor& g) {
        return std::vector<Tensor>{g, scale(g, -1.f)};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_binary("mul", a, b);
  checks::same_shape("mul", a, b);
  Tensor out = Tensor::empty(a.shape(), a.device());
  MINIDL_DISPATCH(a, "mul", mul(a.numel(), a.data(), b.data(), out.data()));
  // Only the values are needed by backward, not the inputs' graphs: detach to avoid holding them.
  const Tensor a_values = a.detach(), b_values = b.detach();
  record("mul", out, {a, b}, [a_values, b_values](const Tensor& g) {
    return std::vector<Tensor>{mul(g, b_values), mul(g, a_values)};
  });
  return out;
}

Tensor scale(const Tensor& a, float factor) {
  checks::nonempty("scale", "a", a);
  Tensor out = Tensor::empty(a.shape(), a.device());
  MINIDL_DISPATCH(a, "scale", scale(a.numel(), a.data(), factor, out.data()));
  record(
      "scale", out, {a},
      [factor](const Tensor& g) { return std::vector<Tensor>{scale(g, factor)}; },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor relu(const Tensor& x) {
  checks::nonempty("relu", "x", x);
  Tensor out = Tensor::empty(x.shape(), x.device());
  MINIDL_DISPATCH(x, "relu", relu_forward(x.numel(), x.data(), out.data()));
  const Tensor y = out.detach();
  record("relu", out, {x}, [y](const Tensor& g) {
    Tensor dx = Tensor::empty(y.shape(), y.device());
    MINIDL_DISPATCH(y, "relu backward", relu_backward(y.numel(), y.data(), g.data(), dx.data()));
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor sum(const Tensor& a) {
  checks::nonempty("sum", "a", a);
  Tensor out = Tensor::empty({}, a.device());
  MINIDL_DISPATCH(a, "sum", sum(a.numel(), a.data(), out.data()));
  const Shape shape = a.shape();
  record(
      "sum", out, {a},
      [shape](const Tensor& g) {
        Tensor dx = Tensor::empty(shape, g.device());
        MINIDL_DISPATCH(g, "sum backward", broadcast(dx.numel(), g.data(), dx.data()));
        return std::vector<Tensor>{dx};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor mean(const Tensor& a) {
  checks::nonempty("mean", "a", a);
  return scale(sum(a), 1.f / static_cast<float>(a.numel()));
}

}  // namespace minidl::ops
