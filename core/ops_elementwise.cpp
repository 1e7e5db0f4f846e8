// Elementwise ops and full reductions: add (with bias broadcast), sub, mul, scale, relu, sum,
// mean. Each forward picks the kernel of its device; each backward is written in ops, so it
// runs on whatever device the gradient lives on.
#include "core/autograd.h"
#include "core/cuda_runtime.h"
#include "core/op_checks.h"
#include "core/ops.h"
#include "kernels/elementwise.h"

namespace minidl::ops {

namespace {

bool is_channel_bias_of(const Tensor& bias, const Tensor& x) {
  return bias.dim() == 1 && x.dim() >= 2 && bias.size(0) == x.size(1);
}

// x viewed as [outer, channels, inner] around dimension 1.
void split_at_channels(const Tensor& x, int64_t* outer, int64_t* channels, int64_t* inner) {
  *outer = x.size(0);
  *channels = x.size(1);
  *inner = x.numel() / (*outer * *channels);
}

Tensor add_channel_bias(const Tensor& x, const Tensor& bias) {
  int64_t outer, channels, inner;
  split_at_channels(x, &outer, &channels, &inner);
  if (x.device() != Device::CPU) checks::no_cuda_kernel("add (channel bias)");
  Tensor out = Tensor::empty(x.shape(), x.device());
  kernels::cpu::add_channel_bias(outer, channels, inner, x.data(), bias.data(), out.data());
  record("add", out, {x, bias}, [outer, channels, inner](const Tensor& g) {
    if (g.device() != Device::CPU) checks::no_cuda_kernel("add backward (channel bias)");
    Tensor bias_grad = Tensor::empty({channels}, g.device());
    kernels::cpu::channel_sum(outer, channels, inner, g.data(), bias_grad.data());
    return std::vector<Tensor>{g, bias_grad};
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  checks::nonempty("add", "a", a);
  checks::nonempty("add", "b", b);
  checks::same_device("add", {a, b});
  if (is_channel_bias_of(b, a)) return add_channel_bias(a, b);
  MINIDL_CHECK(a.shape() == b.shape(), "add", "shapes ", a.shape_str(), " and ", b.shape_str(),
               " are neither equal nor [C] broadcast along dimension 1 of [N, C, ...]");
  Tensor out = Tensor::empty(a.shape(), a.device());
  if (a.device() == Device::CPU) {
    kernels::cpu::add(a.numel(), a.data(), b.data(), out.data());
  } else {
    kernels::cuda::add(a.numel(), a.data(), b.data(), out.data());
    MINIDL_CHECK_LAUNCH("add");
  }
  record("add", out, {a, b}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  checks::nonempty("sub", "a", a);
  checks::nonempty("sub", "b", b);
  checks::same_device("sub", {a, b});
  checks::same_shape("sub", a, b);
  if (a.device() != Device::CPU) checks::no_cuda_kernel("sub");
  Tensor out = Tensor::empty(a.shape(), a.device());
  kernels::cpu::sub(a.numel(), a.data(), b.data(), out.data());
  record("sub", out, {a, b},
         [](const Tensor& g) { return std::vector<Tensor>{g, scale(g, -1.f)}; });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  checks::nonempty("mul", "a", a);
  checks::nonempty("mul", "b", b);
  checks::same_device("mul", {a, b});
  checks::same_shape("mul", a, b);
  if (a.device() != Device::CPU) checks::no_cuda_kernel("mul");
  Tensor out = Tensor::empty(a.shape(), a.device());
  kernels::cpu::mul(a.numel(), a.data(), b.data(), out.data());
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
  if (a.device() == Device::CPU) {
    kernels::cpu::scale(a.numel(), a.data(), factor, out.data());
  } else {
    kernels::cuda::scale(a.numel(), a.data(), factor, out.data());
    MINIDL_CHECK_LAUNCH("scale");
  }
  record("scale", out, {a},
         [factor](const Tensor& g) { return std::vector<Tensor>{scale(g, factor)}; });
  return out;
}

Tensor relu(const Tensor& x) {
  checks::nonempty("relu", "x", x);
  Tensor out = Tensor::empty(x.shape(), x.device());
  if (x.device() == Device::CPU) {
    kernels::cpu::relu_forward(x.numel(), x.data(), out.data());
  } else {
    kernels::cuda::relu_forward(x.numel(), x.data(), out.data());
    MINIDL_CHECK_LAUNCH("relu");
  }
  const Tensor y = out.detach();
  record("relu", out, {x}, [y](const Tensor& g) {
    Tensor dx = Tensor::empty(y.shape(), y.device());
    if (y.device() == Device::CPU) {
      kernels::cpu::relu_backward(y.numel(), y.data(), g.data(), dx.data());
    } else {
      kernels::cuda::relu_backward(y.numel(), y.data(), g.data(), dx.data());
      MINIDL_CHECK_LAUNCH("relu backward");
    }
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor sum(const Tensor& a) {
  checks::nonempty("sum", "a", a);
  if (a.device() != Device::CPU) checks::no_cuda_kernel("sum");
  Tensor out = Tensor::scalar(kernels::cpu::sum(a.numel(), a.data()), a.device());
  const Shape shape = a.shape();
  record("sum", out, {a}, [shape](const Tensor& g) {
    return std::vector<Tensor>{Tensor::full(shape, g.item(), g.device())};
  });
  return out;
}

Tensor mean(const Tensor& a) {
  checks::nonempty("mean", "a", a);
  return scale(sum(a), 1.f / static_cast<float>(a.numel()));
}

}  // namespace minidl::ops
