// Convolution and pooling ops: argument checks, output allocation, kernel dispatch and the
// autograd nodes. The arithmetic is in kernels/cpu/conv2d.cpp and kernels/cpu/pooling.cpp.
#include <cstdint>
#include <memory>
#include <string>

#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/pooling.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"
#include "minidl/ops/scratch.h"

namespace minidl::ops {

namespace {

kernels::Conv2dShape conv_shape(const Tensor& x, const Tensor& weight, int stride, int padding) {
  checks::rank("conv2d", "input", x, 4, "(N, C, H, W)");
  checks::rank("conv2d", "weight", weight, 4, "(out_channels, in_channels, kH, kW)");
  MINIDL_CHECK(stride >= 1, "conv2d", "stride must be >= 1, got ", stride);
  MINIDL_CHECK(padding >= 0, "conv2d", "padding must be >= 0, got ", padding);
  MINIDL_CHECK(x.size(1) == weight.size(1), "conv2d", "input ", x.shape_str(), " has ", x.size(1),
               " channels but weight ", weight.shape_str(), " expects ", weight.size(1));
  kernels::Conv2dShape s;
  s.batch = int(x.size(0));
  s.in_channels = int(x.size(1));
  s.in_h = int(x.size(2));
  s.in_w = int(x.size(3));
  s.out_channels = int(weight.size(0));
  s.kernel_h = int(weight.size(2));
  s.kernel_w = int(weight.size(3));
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = padding;
  MINIDL_CHECK(s.in_h + 2 * padding >= s.kernel_h && s.in_w + 2 * padding >= s.kernel_w, "conv2d",
               "kernel ", s.kernel_h, "x", s.kernel_w, " of weight ", weight.shape_str(),
               " is larger than the input ", x.shape_str(), " with padding ", padding);
  return s;
}

kernels::Pool2dShape pool_shape(const char* op, const Tensor& x, int kernel, int stride,
                                int padding) {
  checks::rank(op, "input", x, 4, "(N, C, H, W)");
  MINIDL_CHECK(kernel >= 1 && stride >= 1, op, "kernel and stride must be >= 1, got kernel ",
               kernel, " stride ", stride);
  MINIDL_CHECK(padding >= 0 && 2 * padding <= kernel, op, "padding must be in [0, kernel/2], got ",
               padding, " for kernel ", kernel);
  kernels::Pool2dShape s;
  s.batch = int(x.size(0));
  s.channels = int(x.size(1));
  s.in_h = int(x.size(2));
  s.in_w = int(x.size(3));
  s.kernel = kernel;
  s.stride = stride;
  s.pad = padding;
  MINIDL_CHECK(s.in_h + 2 * padding >= kernel && s.in_w + 2 * padding >= kernel, op, "kernel ",
               kernel, " is larger than the input ", x.shape_str(), " with padding ", padding);
  return s;
}

// The one place a convolution pass's plan is made (kernels/conv2d.h: algorithm, tiles,
// workspace); the kernels run what it says. Its workspace is the ops' scratch buffer
// (ops/scratch.h), and its name labels the profiler's row and any error:
// "conv2d[winograd F4x4]".
struct PlannedPass {
  kernels::Conv2dPlan plan;
  std::string name;
};
PlannedPass plan_pass(const kernels::Conv2dShape& s, kernels::Conv2dPass pass, Device device,
                      const char* op) {
  PlannedPass p;
  p.plan = MINIDL_DEVICE_QUERY(device, conv2d_plan(s, pass));
  // One profiler row per distinct layer: the shape, then the plan.
  p.name = std::string(op) + " " + std::to_string(s.in_channels) + "->" +
           std::to_string(s.out_channels) + " " + std::to_string(s.kernel_h) + "x" +
           std::to_string(s.kernel_w) + " s" + std::to_string(s.stride_h) + " " +
           std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + " [" +
           kernels::describe(p.plan) + "]";
  return p;
}
float* data_or_null(const Tensor& t) { return t.defined() ? t.data() : nullptr; }

Shape pooled(const kernels::Pool2dShape& s) { return {s.batch, s.channels, s.out_h(), s.out_w()}; }

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding) {
  const kernels::Conv2dShape s = conv_shape(x, weight, stride, padding);
  checks::same_device("conv2d", {x, weight, bias});
  if (bias.defined()) {
    MINIDL_CHECK(bias.dim() == 1 && bias.size(0) == s.out_channels, "conv2d", "bias ",
                 bias.shape_str(), " must be [", s.out_channels, "]");
  }
  Tensor out = Tensor::empty({s.batch, s.out_channels, s.out_h(), s.out_w()}, x.device());
  const PlannedPass forward = plan_pass(s, kernels::Conv2dPass::Forward, x.device(), "conv2d");
  MINIDL_DISPATCH(x, forward.name.c_str(),
                  conv2d_forward(s, forward.plan, x.data(), weight.data(), data_or_null(bias),
                                 out.data(), scratch(forward.plan.workspace, x.device())));

  const Tensor x_values = x.detach(), w_values = weight.detach();
  const bool has_bias = bias.defined();
  std::vector<Tensor> inputs{x, weight};
  if (has_bias) inputs.push_back(bias);
  // Only the gradients that someone needs are computed: the first layer's input never
  // requires grad, and backward-data is a third of a convolution's cost.
  const bool need_dx = x.requires_grad();
  record("conv2d", out, std::move(inputs),
         [s, x_values, w_values, has_bias, need_dx](const Tensor& dy) {
           const Device device = dy.device();
           std::vector<Tensor> grads(2);
           if (need_dx) {
             grads[0] = Tensor::empty(x_values.shape(), device);
             const PlannedPass data =
                 plan_pass(s, kernels::Conv2dPass::BackwardData, device, "conv2d backward-data");
             MINIDL_DISPATCH(dy, data.name.c_str(),
                             conv2d_backward_data(s, data.plan, dy.data(), w_values.data(),
                                                  grads[0].data(),
                                                  scratch(data.plan.workspace, device)));
           }
           grads[1] = Tensor::empty(w_values.shape(), device);
           Tensor bias_grad = has_bias ? Tensor::empty({s.out_channels}, device) : Tensor();
           float* db = has_bias ? bias_grad.data() : nullptr;
           const PlannedPass weight =
               plan_pass(s, kernels::Conv2dPass::BackwardWeight, device, "conv2d backward-weight");
           MINIDL_DISPATCH(dy, weight.name.c_str(),
                           conv2d_backward_weight(s, weight.plan, x_values.data(), dy.data(),
                                                  grads[1].data(), db,
                                                  scratch(weight.plan.workspace, device)));
           if (has_bias) grads.push_back(bias_grad);
           return grads;
         });
  return out;
}

Tensor max_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  const kernels::Pool2dShape s = pool_shape("max_pool2d", x, kernel, stride, padding);
  Tensor out = Tensor::empty(pooled(s), x.device());
  // The winners' positions (int32, on x's device) live as long as the node needs them.
  const auto argmax = std::make_shared<Storage>(out.numel() * sizeof(int32_t), x.device());
  int32_t* winners = static_cast<int32_t*>(argmax->data());
  MINIDL_DISPATCH(x, "max_pool2d", max_pool2d_forward(s, x.data(), out.data(), winners));
  const Shape in_shape = x.shape();
  record("max_pool2d", out, {x}, [s, argmax, in_shape](const Tensor& dy) {
    Tensor dx = Tensor::empty(in_shape, dy.device());
    MINIDL_DISPATCH(
        dy, "max_pool2d backward",
        max_pool2d_backward(s, dy.data(), static_cast<const int32_t*>(argmax->data()), dx.data()));
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor avg_pool2d(const Tensor& x, int kernel, int stride, int padding) {
  const kernels::Pool2dShape s = pool_shape("avg_pool2d", x, kernel, stride, padding);
  Tensor out = Tensor::empty(pooled(s), x.device());
  MINIDL_DISPATCH(x, "avg_pool2d", avg_pool2d_forward(s, x.data(), out.data()));
  const Shape in_shape = x.shape();
  record(
      "avg_pool2d", out, {x},
      [s, in_shape](const Tensor& dy) {
        Tensor dx = Tensor::empty(in_shape, dy.device());
        MINIDL_DISPATCH(dy, "avg_pool2d backward", avg_pool2d_backward(s, dy.data(), dx.data()));
        return std::vector<Tensor>{dx};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor global_avg_pool(const Tensor& x) {
  checks::rank("global_avg_pool", "input", x, 4, "(N, C, H, W)");
  const int64_t planes = x.size(0) * x.size(1), spatial = x.size(2) * x.size(3);
  Tensor out = Tensor::empty({x.size(0), x.size(1)}, x.device());
  MINIDL_DISPATCH(x, "global_avg_pool",
                  global_avg_pool_forward(planes, spatial, x.data(), out.data()));
  const Shape in_shape = x.shape();
  record(
      "global_avg_pool", out, {x},
      [planes, spatial, in_shape](const Tensor& dy) {
        Tensor dx = Tensor::empty(in_shape, dy.device());
        MINIDL_DISPATCH(dy, "global_avg_pool backward",
                        global_avg_pool_backward(planes, spatial, dy.data(), dx.data()));
        return std::vector<Tensor>{dx};
      },
      SavedInputs::ShapesOnly);
  return out;
}

}  // namespace minidl::ops
