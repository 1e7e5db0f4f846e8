#include "minidl/optim/optimizer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/core/error.h"
#include "minidl/core/float_text.h"
#include "minidl/core/profiler.h"
#include "minidl/kernels/optimizer.h"

namespace minidl {

namespace {
// State is allocated with the optimizer, on each parameter's device at that time.
void check_state_device(const char* op, const Tensor& state, const Tensor& param) {
  MINIDL_CHECK(state.device() == param.device(), op, "optimizer state is on ",
               device_name(state.device()), " but parameter ", param.shape_str(), " is on ",
               device_name(param.device()), "; create the optimizer after model.to(device)");
}

std::vector<ParamGroup> one_group(std::vector<Tensor> params) {
  return {ParamGroup{std::move(params), std::nullopt, std::nullopt}};
}
}  // namespace

std::vector<ParamGroup> decay_groups(const std::vector<Tensor>& params, float rank1_lr_scale) {
  ParamGroup decayed, not_decayed;  // the first takes the optimizer's weight decay
  not_decayed.weight_decay = 0.f;
  not_decayed.lr_scale = rank1_lr_scale;
  for (const Tensor& p : params) {
    if (!p.requires_grad()) continue;  // frozen (a whitening stem, say): nothing to optimize
    (p.dim() >= 2 ? decayed : not_decayed).params.push_back(p);
  }
  return {decayed, not_decayed};
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, float lr, float weight_decay)
    : groups_(std::move(groups)) {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const float scale = groups_[g].lr_scale;
    MINIDL_CHECK(scale > 0.f && std::isfinite(scale), "Optimizer", "group ", g,
                 ": lr_scale must be positive and finite, got ", scale);
    groups_[g].lr = groups_[g].lr.value_or(lr) * scale;
    if (!groups_[g].weight_decay) groups_[g].weight_decay = weight_decay;
    // A NaN, infinite or negative rate or decay would not fail: it would quietly ruin every
    // parameter at the first step.
    MINIDL_CHECK(*groups_[g].lr >= 0.f && std::isfinite(*groups_[g].lr), "Optimizer", "group ", g,
                 ": the learning rate must be finite and >= 0, got ", *groups_[g].lr);
    MINIDL_CHECK(*groups_[g].weight_decay >= 0.f && std::isfinite(*groups_[g].weight_decay),
                 "Optimizer", "group ", g, ": weight_decay must be finite and >= 0, got ",
                 *groups_[g].weight_decay);
    for (const Tensor& p : groups_[g].params) {
      MINIDL_CHECK(p.defined() && p.requires_grad(), "Optimizer", "parameter of shape ",
                   p.shape_str(), " in group ", g, " does not require grad");
    }
  }
}

void Optimizer::zero_grad() {
  for (ParamGroup& group : groups_) {
    for (Tensor& p : group.params) p.zero_grad();
  }
}

std::vector<Tensor>& Optimizer::add_state(const std::string& kind) {
  std::vector<Tensor> tensors;
  for (const ParamGroup& group : groups_) {
    for (const Tensor& p : group.params) tensors.push_back(Tensor::zeros(p.shape(), p.device()));
  }
  state_.emplace_back(kind, std::move(tensors));
  return state_.back().second;
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state() const {
  std::vector<std::pair<std::string, Tensor>> named;
  for (const auto& [kind, tensors] : state_) {
    size_t flat = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
      for (size_t i = 0; i < groups_[g].params.size(); ++i, ++flat) {
        named.emplace_back(std::to_string(g) + "." + std::to_string(i) + "." + kind, tensors[flat]);
      }
    }
  }
  return named;
}

// ---- SGD ---------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, const SgdOptions& options)
    : Optimizer(std::move(groups), options.lr(), options.weight_decay()), options_(options) {
  MINIDL_CHECK(options.momentum() >= 0.f && std::isfinite(options.momentum()) &&
                   (!options.nesterov() || options.momentum() > 0.f),
               "SGD", "need momentum >= 0, and momentum > 0 for Nesterov; got momentum ",
               options.momentum());
  if (options.momentum() > 0.f) momentum_ = &add_state("momentum_buffer");
}

SGD::SGD(std::vector<Tensor> params, const SgdOptions& options)
    : SGD(one_group(std::move(params)), options) {}

void SGD::step() {
  NoGradGuard no_grad;
  const profiler::PhaseScope phase(profiler::Phase::Optimizer);
  size_t flat = 0;
  for (ParamGroup& group : groups_) {
    const kernels::SgdHyper hyper{*group.lr, options_.momentum(), *group.weight_decay,
                                  options_.nesterov()};
    // The group's tensors with a gradient, per device (one of them in `sample`), each list
    // updated in one call.
    struct DeviceList {
      Tensor sample;
      std::vector<kernels::SgdTensor> tensors;
    } on_cpu, on_cuda;
    for (Tensor& p : group.params) {
      const Tensor grad = p.grad();
      const Tensor* buf_tensor = momentum_ ? &(*momentum_)[flat] : nullptr;
      ++flat;
      if (!grad.defined()) continue;
      if (buf_tensor) check_state_device("SGD::step", *buf_tensor, p);
      const kernels::SgdTensor t{p.numel(), p.data(), grad.data(),
                                 buf_tensor ? buf_tensor->data() : nullptr};
      DeviceList& list = p.device() == Device::CPU ? on_cpu : on_cuda;
      list.sample = p;
      list.tensors.push_back(t);
      // Written in place below: a graph that saved p (a forward pass whose backward has not
      // run yet) must refuse to use it (core/autograd.h).
      p.bump_version();
      if (buf_tensor) buf_tensor->bump_version();
    }
    for (const DeviceList* list : {&on_cpu, &on_cuda}) {
      if (list->tensors.empty()) continue;
      const int count = static_cast<int>(list->tensors.size());
      MINIDL_DISPATCH(list->sample, "SGD::step", sgd_update(hyper, list->tensors.data(), count));
    }
  }
  ++steps_;
}

std::vector<std::pair<std::string, std::string>> SGD::settings() const {
  return {{"type", "SGD"},
          {"momentum", float_text(options_.momentum())},
          {"nesterov", options_.nesterov() ? "1" : "0"}};
}

// ---- Adam / AdamW ------------------------------------------------------------------------------

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled)
    : Optimizer(std::move(groups), options.lr(), options.weight_decay()),
      options_(options),
      decoupled_(decoupled) {
  MINIDL_CHECK(options.beta1() >= 0.f && options.beta1() < 1.f && options.beta2() >= 0.f &&
                   options.beta2() < 1.f && options.eps() > 0.f && std::isfinite(options.eps()),
               decoupled ? "AdamW" : "Adam", "need betas in [0, 1) and eps > 0, got beta1 ",
               options.beta1(), " beta2 ", options.beta2(), " eps ", options.eps());
  m_ = &add_state("exp_avg");
  v_ = &add_state("exp_avg_sq");
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled)
    : Adam(one_group(std::move(params)), options, decoupled) {}

std::vector<std::pair<std::string, std::string>> Adam::settings() const {
  return {{"type", decoupled_ ? "AdamW" : "Adam"},
          {"beta1", float_text(options_.beta1())},
          {"beta2", float_text(options_.beta2())},
          {"eps", float_text(options_.eps())}};
}

void Adam::step() {
  NoGradGuard no_grad;
  const profiler::PhaseScope phase(profiler::Phase::Optimizer);
  ++steps_;
  size_t flat = 0;
  for (ParamGroup& group : groups_) {
    const kernels::AdamHyper hyper{*group.lr,      options_.beta1(),    options_.beta2(),
                                   options_.eps(), *group.weight_decay, decoupled_,
                                   steps_};
    for (Tensor& p : group.params) {
      const Tensor grad = p.grad();
      const size_t i = flat++;
      if (!grad.defined()) continue;
      check_state_device("Adam::step", (*m_)[i], p);
      MINIDL_DISPATCH(
          p, "Adam::step",
          adam_update(p.numel(), hyper, p.data(), grad.data(), (*m_)[i].data(), (*v_)[i].data()));
      p.bump_version();  // written in place (see SGD::step)
      (*m_)[i].bump_version();
      (*v_)[i].bump_version();
    }
  }
}

}  // namespace minidl
