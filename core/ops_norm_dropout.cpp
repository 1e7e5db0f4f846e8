// batch_norm and dropout: the two ops whose behaviour differs between training and eval.
#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/op_checks.h"
#include "core/ops.h"
#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"

namespace minidl::ops {

namespace {
void check_per_channel(const char* name, const Tensor& t, const Tensor& x) {
  MINIDL_CHECK(t.defined() && t.dim() == 1 && t.size(0) == x.size(1), "batch_norm", name, " ",
               t.shape_str(), " must be [", x.size(1), "] (one value per channel of input ",
               x.shape_str(), ")");
}
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  float momentum, float eps) {
  checks::nonempty("batch_norm", "input", x);
  MINIDL_CHECK(x.dim() == 2 || x.dim() == 4, "batch_norm",
               "input must be [N, C] or [N, C, H, W], got shape ", x.shape_str());
  MINIDL_CHECK(gamma.defined() == beta.defined(), "batch_norm",
               "gamma and beta must both be given or both be undefined");
  MINIDL_CHECK(eps > 0.f && momentum >= 0.f && momentum <= 1.f, "batch_norm",
               "need eps > 0 and momentum in [0, 1], got eps ", eps, " momentum ", momentum);
  const int64_t channels = x.size(1);
  if (gamma.defined()) {
    check_per_channel("gamma", gamma, x);
    check_per_channel("beta", beta, x);
  }
  check_per_channel("running_mean", running_mean, x);
  check_per_channel("running_var", running_var, x);
  checks::same_device("batch_norm", {x, gamma, beta, running_mean, running_var});

  kernels::BatchNormShape s;
  s.batch = x.size(0);
  s.channels = channels;
  s.spatial = x.numel() / (s.batch * channels);
  MINIDL_CHECK(!training || s.count() > 1, "batch_norm", "training needs more than one value per "
               "channel to estimate a variance, got input ", x.shape_str());
  const bool affine = gamma.defined();
  const float* g_ptr = affine ? gamma.data() : nullptr;
  const float* b_ptr = affine ? beta.data() : nullptr;

  Tensor out = Tensor::empty(x.shape(), x.device());
  std::vector<Tensor> inputs{x};
  if (affine) inputs.insert(inputs.end(), {gamma, beta});
  const Tensor x_values = x.detach(), gamma_values = affine ? gamma.detach() : Tensor();
  const Device device = x.device();

  // The backward closures return the gradients in the order of `inputs`: x, then gamma and
  // beta when affine.
  struct Grads {
    Tensor dx, dgamma, dbeta;
    float* dgamma_data() const { return dgamma.defined() ? dgamma.data() : nullptr; }
    float* dbeta_data() const { return dbeta.defined() ? dbeta.data() : nullptr; }
    std::vector<Tensor> list() const {
      return dgamma.defined() ? std::vector<Tensor>{dx, dgamma, dbeta} : std::vector<Tensor>{dx};
    }
  };
  auto make_grads = [x_values, channels, affine, device] {
    return Grads{Tensor::empty(x_values.shape(), device),
                 affine ? Tensor::empty({channels}, device) : Tensor(),
                 affine ? Tensor::empty({channels}, device) : Tensor()};
  };

  if (training) {
    Tensor save_mean = Tensor::empty({channels}, device), save_invstd = Tensor::empty({channels}, device);
    MINIDL_DISPATCH(x, "batch_norm",
                    batch_norm_forward_train(s, x.data(), g_ptr, b_ptr, eps, momentum, out.data(),
                                             save_mean.data(), save_invstd.data(),
                                             running_mean.data(), running_var.data()));
    record("batch_norm", out, std::move(inputs),
           [s, x_values, gamma_values, save_mean, save_invstd, make_grads](const Tensor& g) {
             const Grads grads = make_grads();
             const float* gamma_data = gamma_values.defined() ? gamma_values.data() : nullptr;
             MINIDL_DISPATCH(g, "batch_norm backward",
                             batch_norm_backward(s, g.data(), x_values.data(), gamma_data,
                                                 save_mean.data(), save_invstd.data(),
                                                 grads.dx.data(), grads.dgamma_data(),
                                                 grads.dbeta_data()));
             return grads.list();
           });
  } else {
    MINIDL_DISPATCH(x, "batch_norm (eval)",
                    batch_norm_forward_eval(s, x.data(), g_ptr, b_ptr, running_mean.data(),
                                            running_var.data(), eps, out.data()));
    // The statistics are constants in eval mode; a node keeps a copy so later training steps
    // that update the running buffers do not change its gradient (no copy when nothing is
    // recorded, as in evaluation under NoGradGuard).
    const bool recording = grad_enabled() && (x.requires_grad() || gamma.requires_grad() || beta.requires_grad());
    const Tensor mean_values = recording ? running_mean.clone() : Tensor();
    const Tensor var_values = recording ? running_var.clone() : Tensor();
    record("batch_norm", out, std::move(inputs),
           [s, x_values, gamma_values, mean_values, var_values, eps, make_grads](const Tensor& g) {
             const Grads grads = make_grads();
             const float* gamma_data = gamma_values.defined() ? gamma_values.data() : nullptr;
             MINIDL_DISPATCH(g, "batch_norm backward (eval)",
                             batch_norm_backward_eval(s, g.data(), x_values.data(), gamma_data,
                                                      mean_values.data(), var_values.data(), eps,
                                                      grads.dx.data(), grads.dgamma_data(),
                                                      grads.dbeta_data()));
             return grads.list();
           });
  }
  return out;
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
