// Optimizers over parameter groups, in the shape of torch.optim. Each group may set its own
// learning rate and weight decay, so BatchNorm parameters and biases can skip decay
// (decay_groups() builds that split); what a group leaves unset it takes from the optimizer's
// options. Per-parameter state (momentum, Adam moments) is kept as tensors on the parameter's
// device and exposed by name for checkpoints.
//
// Options read like LibTorch's: SGD sgd(model.parameters(),
//   SgdOptions(0.05f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));
// each setter returns the options, and the same name without an argument reads the value.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/tensor.h"

namespace minidl {

// Parameters that share a learning rate and weight decay. Unset, each is the optimizer's
// (its options'); the optimizer fills them in when it is made, so afterwards every group of
// optimizer.groups() has both (an LR scheduler changes group.lr from there).
// A group's learning rate is lr_scale times its lr (its own, else the optimizer's): a
// multiplier that follows the optimizer's rate, such as the 64x rate of BatchNorm biases in the
// fast CIFAR-10 recipes. The optimizer applies it once, when it is made: from then on
// groups()[g].lr is the group's rate, and a schedule scales that.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<float> lr;
  std::optional<float> weight_decay;
  float lr_scale = 1.f;
};

// Two groups: weights of rank >= 2 (conv and linear) with the optimizer's weight decay, and
// rank-1 parameters (BatchNorm gamma/beta, biases) with none, at rank1_lr_scale times the
// optimizer's rate. Parameters that do not require grad (frozen ones) are left out. For a model:
// SGD sgd(decay_groups(model.parameters()), SgdOptions(0.05f).weight_decay(5e-4f)).
// Optimizers see tensors, never Modules, so optim/ does not depend on layers/.
std::vector<ParamGroup> decay_groups(const std::vector<Tensor>& params, float rank1_lr_scale = 1.f);

// One option of an options class: a setter that returns the options, so that calls chain,
// and a getter of the same name (LibTorch's TORCH_ARG, written out).
#define MINIDL_OPTION(Options, type, name) \
 public:                                   \
  Options& name(type value) {              \
    name##_ = value;                       \
    return *this;                          \
  }                                        \
  type name() const { return name##_; }    \
                                           \
 private:                                  \
  type name##_

// The base of every optimizer. Parameters keep their devices: state tensors live next to
// them, and a state tensor found on another device (a model moved after the optimizer was
// made) is an Error naming the optimizer.
class Optimizer {
 public:
  // Every parameter must be defined and require grad, and every lr_scale positive and finite
  // (else an Error naming the group). A group's unset lr and weight_decay become `lr` and
  // `weight_decay`, the optimizer's; its lr is then multiplied by its lr_scale.
  Optimizer(std::vector<ParamGroup> groups, float lr, float weight_decay);
  virtual ~Optimizer() = default;

  // Updates every parameter that has a gradient. Runs without recording a graph.
  virtual void step() = 0;
  void zero_grad();  // drops the gradients of every parameter

  std::vector<ParamGroup>& groups() { return groups_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  int64_t steps_taken() const { return steps_; }

  // Named state for checkpoints: "<group>.<index>.<kind>" -> tensor, plus the step count.
  std::vector<std::pair<std::string, Tensor>> state() const;
  void set_steps_taken(int64_t steps) { steps_ = steps; }

  // The optimizer's own settings as (name, text) pairs, "type" first (e.g. "SGD"), then
  // those that change what its state means (SGD: momentum, nesterov; Adam: beta1, beta2, eps).
  // Checkpoints record them, so that a resume with other settings is refused by name. Numbers
  // are written in the shortest text that reads back as the same float. None by default.
  virtual std::vector<std::pair<std::string, std::string>> settings() const { return {}; }

 protected:
  // Adds one zero tensor per parameter, named `kind`, and returns them in parameter order.
  std::vector<Tensor>& add_state(const std::string& kind);
  std::vector<ParamGroup> groups_;
  int64_t steps_ = 0;

 private:
  // A deque: add_state() hands out references that later add_state() calls must not move.
  std::deque<std::pair<std::string, std::vector<Tensor>>> state_;
};

// SGD as torch.optim.SGD, per group: d = grad + weight_decay * p; with momentum,
// buf = momentum * buf + d and the step is buf (Nesterov: d + momentum * buf), else d;
// p -= lr * step. Errors: momentum < 0; nesterov with momentum 0.
class SgdOptions {
 public:
  explicit SgdOptions(float lr) : lr_(lr) {}  // no default: every run chooses its rate
  MINIDL_OPTION(SgdOptions, float, lr);
  MINIDL_OPTION(SgdOptions, float, momentum) = 0.f;
  MINIDL_OPTION(SgdOptions, float, weight_decay) = 0.f;
  MINIDL_OPTION(SgdOptions, bool, nesterov) = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SgdOptions& options);  // unset group fields: options'
  SGD(std::vector<Tensor> params, const SgdOptions& options);      // one group
  void step() override;
  std::vector<std::pair<std::string, std::string>> settings() const override;

 private:
  SgdOptions options_;
  std::vector<Tensor>* momentum_ = nullptr;
};

class AdamOptions {
 public:
  explicit AdamOptions(float lr = 1e-3f) : lr_(lr) {}  // PyTorch's default rate
  MINIDL_OPTION(AdamOptions, float, lr);
  MINIDL_OPTION(AdamOptions, float, beta1) = 0.9f;
  MINIDL_OPTION(AdamOptions, float, beta2) = 0.999f;
  MINIDL_OPTION(AdamOptions, float, eps) = 1e-8f;
  MINIDL_OPTION(AdamOptions, float, weight_decay) = 0.f;
};

// Adam (L2 decay added to the gradient) or, with decoupled = true, AdamW. Errors: beta1 or
// beta2 outside [0, 1); eps <= 0. One step count for
// the optimizer (PyTorch keeps one per parameter; they differ only for parameters that
// sometimes get no gradient). AdamOptions' weight_decay defaults to 0 for both (PyTorch's
// AdamW defaults to 0.01).
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled = false);
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled = false);
  void step() override;
  std::vector<std::pair<std::string, std::string>> settings() const override;

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<Tensor>* m_ = nullptr;
  std::vector<Tensor>* v_ = nullptr;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& options)
      : Adam(std::move(groups), options, true) {}
  AdamW(std::vector<Tensor> params, const AdamOptions& options)
      : Adam(std::move(params), options, true) {}
};

}  // namespace minidl
