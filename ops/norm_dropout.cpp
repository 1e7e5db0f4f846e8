// batch_norm (alone or fused with the ReLU and residual add that follow it in a ResNet) and
// dropout: the ops whose behaviour differs between training and eval.
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/batch_norm.h"
#include "minidl/kernels/elementwise.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"
#include "minidl/ops/scratch.h"

namespace minidl::ops {

namespace {
void check_per_channel(const char* op, const char* name, const Tensor& t, const Tensor& x) {
  MINIDL_CHECK(t.defined() && t.dim() == 1 && t.size(0) == x.size(1), op, name, " ", t.shape_str(),
               " must be [", x.size(1), "] (one value per channel of input ", x.shape_str(), ")");
}

// Scratch memory for the passes' sums (CPU: per plane; CUDA: per chunk of a channel): the ops'
// scratch buffer (ops/scratch.h), so it costs no cudaMalloc and the allocator's statistics
// see it.
float* batch_norm_scratch(const kernels::BatchNormShape& s, Device device) {
  return scratch(MINIDL_DEVICE_QUERY(device, batch_norm_workspace(s)), device);
}
float* data_or_null(const Tensor& t) { return t.defined() ? t.data() : nullptr; }

// The one implementation of batch_norm, batch_norm_relu and batch_norm_add_relu:
//   relu?(batch_norm(x) + residual?)
Tensor batch_norm_fused(const char* op, const Tensor& x, const Tensor& residual, bool relu,
                        const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                        const Tensor& running_var, bool training, float momentum, float eps) {
  checks::nonempty(op, "input", x);
  MINIDL_CHECK(x.dim() == 2 || x.dim() == 4, op, "input must be [N, C] or [N, C, H, W], got shape ",
               x.shape_str());
  MINIDL_CHECK(gamma.defined() == beta.defined(), op,
               "gamma and beta must both be given or both be undefined");
  MINIDL_CHECK(eps > 0.f && momentum >= 0.f && momentum <= 1.f, op,
               "need eps > 0 and momentum in [0, 1], got eps ", eps, " momentum ", momentum);
  const int64_t channels = x.size(1);
  if (gamma.defined()) {
    check_per_channel(op, "gamma", gamma, x);
    check_per_channel(op, "beta", beta, x);
  }
  check_per_channel(op, "running_mean", running_mean, x);
  check_per_channel(op, "running_var", running_var, x);
  if (residual.defined()) {
    MINIDL_CHECK(residual.shape() == x.shape(), op, "residual ", residual.shape_str(),
                 " must have the input's shape ", x.shape_str());
  }
  checks::same_device(op, {x, residual, gamma, beta, running_mean, running_var});

  kernels::BatchNormShape s;
  s.batch = x.size(0);
  s.channels = channels;
  s.spatial = x.numel() / (s.batch * channels);
  MINIDL_CHECK(!training || s.count() > 1, op, "training needs more than one value per ",
               "channel to estimate a variance, got input ", x.shape_str());
  const bool affine = gamma.defined();
  const Device device = x.device();

  const bool fused = relu || residual.defined();
  const bool recording = grad_enabled() && (x.requires_grad() || gamma.requires_grad() ||
                                            beta.requires_grad() || residual.requires_grad());
  if (!training && fused && recording) {
    // Differentiating through eval-mode statistics is rare (fine-tuning with frozen batch
    // norm); it takes the unfused composition rather than a fourth fused kernel.
    Tensor out = batch_norm_fused(op, x, Tensor(), false, gamma, beta, running_mean, running_var,
                                  false, momentum, eps);
    if (residual.defined()) out = add(out, residual);
    return relu ? ops::relu(out) : out;
  }

  const kernels::BatchNormEpilogue epilogue{residual.defined() ? residual.data() : nullptr, relu};
  Tensor out = Tensor::empty(x.shape(), device);
  std::vector<Tensor> inputs{x};
  if (affine) inputs.insert(inputs.end(), {gamma, beta});
  if (residual.defined()) inputs.push_back(residual);
  const Tensor x_values = x.detach(), gamma_values = affine ? gamma.detach() : Tensor();

  if (!training) {
    MINIDL_DISPATCH(x, op,
                    batch_norm_forward_eval(s, x.data(), data_or_null(gamma), data_or_null(beta),
                                            epilogue, running_mean.data(), running_var.data(), eps,
                                            out.data()));
    // Here nothing is fused. The statistics are constants in eval mode; a node keeps a copy so
    // later training steps that update the running buffers do not change its gradient (no copy
    // when nothing is recorded, as in evaluation under NoGradGuard).
    const Tensor mean_values = recording ? running_mean.clone() : Tensor();
    const Tensor var_values = recording ? running_var.clone() : Tensor();
    record(op, out, std::move(inputs),
           [s, x_values, gamma_values, mean_values, var_values, eps, op](const Tensor& g) {
             Tensor dx = Tensor::empty(x_values.shape(), g.device());
             Tensor dgamma, dbeta;
             if (gamma_values.defined()) {
               dgamma = Tensor::empty({s.channels}, g.device());
               dbeta = Tensor::empty({s.channels}, g.device());
             }
             MINIDL_DISPATCH(
                 g, op,
                 batch_norm_backward_eval(s, g.data(), x_values.data(), data_or_null(gamma_values),
                                          mean_values.data(), var_values.data(), eps, dx.data(),
                                          data_or_null(dgamma), data_or_null(dbeta),
                                          batch_norm_scratch(s, g.device())));
             return gamma_values.defined() ? std::vector<Tensor>{dx, dgamma, dbeta}
                                           : std::vector<Tensor>{dx};
           });
    return out;
  }

  Tensor save_mean = Tensor::empty({channels}, device),
         save_invstd = Tensor::empty({channels}, device);
  MINIDL_DISPATCH(x, op,
                  batch_norm_forward_train(s, x.data(), data_or_null(gamma), data_or_null(beta),
                                           epilogue, eps, momentum, out.data(), save_mean.data(),
                                           save_invstd.data(), running_mean.data(),
                                           running_var.data(), batch_norm_scratch(s, device)));
  // The backward needs x and, after a ReLU, the output (to know where the ReLU passed). The
  // pre-ReLU values are never kept: that is one full-size tensor less than unfused.
  const Tensor relu_output = relu ? out.detach() : Tensor();
  const bool has_residual = residual.defined();
  record(op, out, std::move(inputs),
         [s, x_values, gamma_values, save_mean, save_invstd, relu_output, has_residual,
          op](const Tensor& g) {
           const Device dev = g.device();
           std::vector<Tensor> grads{Tensor::empty(x_values.shape(), dev)};
           Tensor dgamma, dbeta, dresidual;
           if (gamma_values.defined()) {
             dgamma = Tensor::empty({s.channels}, dev);
             dbeta = Tensor::empty({s.channels}, dev);
             grads.insert(grads.end(), {dgamma, dbeta});
           }
           if (has_residual) {
             dresidual = Tensor::empty(x_values.shape(), dev);
             grads.push_back(dresidual);
           }
           MINIDL_DISPATCH(
               g, op,
               batch_norm_backward(s, g.data(), x_values.data(), data_or_null(gamma_values),
                                   save_mean.data(), save_invstd.data(), data_or_null(relu_output),
                                   grads[0].data(), data_or_null(dresidual), data_or_null(dgamma),
                                   data_or_null(dbeta), batch_norm_scratch(s, dev)));
           return grads;
         });
  return out;
}
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  float momentum, float eps) {
  return batch_norm_fused("batch_norm", x, Tensor(), false, gamma, beta, running_mean, running_var,
                          training, momentum, eps);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& running_mean, const Tensor& running_var, bool training,
                       float momentum, float eps) {
  return batch_norm_fused("batch_norm_relu", x, Tensor(), true, gamma, beta, running_mean,
                          running_var, training, momentum, eps);
}

Tensor batch_norm_add_relu(const Tensor& x, const Tensor& residual, const Tensor& gamma,
                           const Tensor& beta, const Tensor& running_mean,
                           const Tensor& running_var, bool training, float momentum, float eps) {
  checks::nonempty("batch_norm_add_relu", "residual", residual);
  return batch_norm_fused("batch_norm_add_relu", x, residual, true, gamma, beta, running_mean,
                          running_var, training, momentum, eps);
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  checks::nonempty("dropout", "input", x);
  MINIDL_CHECK(p >= 0.f && p < 1.f, "dropout", "probability must be in [0, 1), got ", p);
  if (!training || p == 0.f) return x;
  // The mask holds 0 or 1 / (1 - p), so the forward is one multiply and the backward another.
  std::vector<float> mask_values(x.numel());
  const float keep_scale = 1.f / (1.f - p);
  for (float& m : mask_values) m = gen.uniform() < p ? 0.f : keep_scale;
  const Tensor mask = Tensor::from_vector(mask_values, x.shape(), x.device());
  return mul(x, mask);
}

}  // namespace minidl::ops
