// Learning-rate schedules. A Schedule is a pure function from a step count to a factor; an
// LRScheduler applies it to an optimizer: lr of group g = base_lr[g] * factor(step), where
// base_lr is each group's lr when the scheduler was made. Call LRScheduler::step() once per
// iteration or once per epoch: the schedule's lengths are in whichever unit you step in.
// The formulas are PyTorch's (torch.optim.lr_scheduler), so values can be checked against it.
#pragma once

#include <memory>
#include <vector>

#include "minidl/optim/optimizer.h"

namespace minidl {

// Each factory below checks its arguments (an Error naming it: step_size, total or steps not
// positive, milestones not sorted, pct_start outside (0, 1), ...).
class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double factor(int64_t step) const = 0;
};

// gamma ^ floor(step / step_size)
std::shared_ptr<Schedule> step_schedule(int64_t step_size, double gamma = 0.1);
// gamma ^ (number of milestones <= step)
std::shared_ptr<Schedule> multistep_schedule(std::vector<int64_t> milestones, double gamma = 0.1);
// min_factor + (1 - min_factor) * (1 + cos(pi * step / total)) / 2, then min_factor after total
std::shared_ptr<Schedule> cosine_schedule(int64_t total, double min_factor = 0.0);
// start_factor rising linearly to 1 over `steps`, then 1
std::shared_ptr<Schedule> linear_warmup(int64_t steps, double start_factor = 0.1);
// start_factor moving linearly to end_factor over `steps`, then end_factor (PyTorch's
// LinearLR). The fast CIFAR-10 recipes' triangle: a warmup from 0.2, then down to 0.07:
//   sequential({linear_schedule(w, 0.2, 1), linear_schedule(total - w, 1, 0.07)}, {w})
std::shared_ptr<Schedule> linear_schedule(int64_t steps, double start_factor, double end_factor);
// One-cycle (Smith & Topor, 2017): the learning-rate curve of PyTorch's OneCycleLR with
// cosine annealing, relative to the peak lr: from 1/div_factor up to 1 over pct_start * total
// steps, then down to 1/(div_factor * final_div_factor) at total - 1 (held there after).
// Unlike OneCycleLR's default, momentum is not cycled: it stays at the optimizer's value.
// One more difference, chosen: when pct_start * total < 2, OneCycleLR puts its peak at step
// pct_start * total - 1 (step 0 or before when pct_start * total <= 1), while here the
// peak is at step 1 at the earliest, so that a very short run still rises before it falls. For
// pct_start * total >= 2 the two curves are the same.
std::shared_ptr<Schedule> one_cycle(int64_t total, double pct_start = 0.3, double div_factor = 25.0,
                                    double final_div_factor = 1e4);
// Runs schedules one after another, as PyTorch's SequentialLR: schedules[i + 1] starts at
// milestones[i], counting its own steps from 0. Warmup then cosine:
//   sequential({linear_warmup(w), cosine_schedule(total - w)}, {w})
std::shared_ptr<Schedule> sequential(std::vector<std::shared_ptr<Schedule>> schedules,
                                     std::vector<int64_t> milestones);

class LRScheduler {
 public:
  // Sets the optimizer's lrs to factor(0) right away.
  LRScheduler(Optimizer& optimizer, std::shared_ptr<Schedule> schedule);
  void step();  // advance one step and update the lrs
  int64_t steps_taken() const { return step_; }
  void set_steps_taken(int64_t step);  // for resuming from a checkpoint
  double factor() const { return schedule_->factor(step_); }
  // A group index beyond the optimizer's groups is an Error.
  float lr(size_t group = 0) const;       // current lr of a group
  float base_lr(size_t group = 0) const;  // the group's lr when the scheduler was made

 private:
  void apply();
  Optimizer& optimizer_;
  std::shared_ptr<Schedule> schedule_;
  std::vector<float> base_lrs_;
  int64_t step_ = 0;
};

}  // namespace minidl
