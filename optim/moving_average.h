// Averages of a model's weights over training, the two forms the fast CIFAR-10 recipes use:
//
//   ExponentialMovingAverage  average = decay * average + (1 - decay) * weight after a step;
//                             evaluate the average (swap it in, evaluate, swap back), while
//                             training goes on with the weights (Polyak averaging).
//   Lookahead                 every k optimizer steps, the same update of a slow copy, which
//                             is then written back into the weights (Zhang et al., 2019,
//                             "Lookahead Optimizer: k steps forward, 1 step back"; hlb-cifar10
//                             and airbench pull back every 5 steps).
//
// Both take tensors, never Modules (optim/ does not depend on layers/): pass a model's
// parameters and buffers (model_tensors(model) in io/checkpoint.h, or parameters() plus
// named_buffers()), so that BatchNorm's running statistics are averaged with the weights that
// produced them. Tensors stay on their devices; the averages live beside them. Updates run
// without recording a graph. For a bit-exact resume, save averages() with the checkpoint
// (as model tensors named, say, "ema.<name>") and load them back.
#pragma once

#include <vector>

#include "minidl/core/tensor.h"

namespace minidl {

class ExponentialMovingAverage {
 public:
  // The averages start as copies of `tensors`. Errors: an undefined tensor (by index).
  explicit ExponentialMovingAverage(std::vector<Tensor> tensors);

  // average = decay * average + (1 - decay) * tensor, for each tensor. decay in [0, 1] (else
  // an Error): 0 copies the tensors, 1 keeps the averages. A tensor moved to another device
  // since construction is an Error naming its index.
  void update(float decay);
  // tensor = average, for each (Lookahead's step back; or keep the average for good).
  void copy_to_tensors();
  // Exchanges the values of the tensors and the averages: call it, evaluate, call it again.
  void swap();

  const std::vector<Tensor>& averages() const { return averages_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  void check_devices(const char* op) const;
  std::vector<Tensor> tensors_, averages_;
};

// Call step() after every optimizer step: each k-th call moves the slow weights toward the
// fast ones by alpha (slow = slow + alpha (fast - slow)) and sets the fast weights to them.
// alpha can follow a schedule (set_alpha). Errors: k < 1, alpha outside [0, 1].
class Lookahead {
 public:
  Lookahead(std::vector<Tensor> tensors, int k = 5, float alpha = 0.5f);
  void step();
  // fast = slow now, whatever the step (the end of a run: the slow weights are the result).
  void restore_slow_weights() { slow_.copy_to_tensors(); }
  void set_alpha(float alpha);
  float alpha() const { return alpha_; }
  int64_t steps_taken() const { return steps_; }  // for checkpoints, as Optimizer's
  void set_steps_taken(int64_t steps) { steps_ = steps; }
  const std::vector<Tensor>& slow_weights() const { return slow_.averages(); }

 private:
  ExponentialMovingAverage slow_;
  int k_;
  float alpha_;
  int64_t steps_ = 0;
};

}  // namespace minidl
