#include "minidl/optim/scheduler.h"

#include <algorithm>
#include <cmath>

#include "minidl/core/error.h"

namespace minidl {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Cosine interpolation from `from` (progress 0) to `to` (progress 1).
double cosine_between(double from, double to, double progress) {
  return to + (from - to) * (1.0 + std::cos(kPi * progress)) / 2.0;
}

class StepSchedule : public Schedule {
 public:
  StepSchedule(int64_t size, double gamma) : size_(size), gamma_(gamma) {}
  double factor(int64_t step) const override { return std::pow(gamma_, double(step / size_)); }

 private:
  int64_t size_;
  double gamma_;
};

class MultiStepSchedule : public Schedule {
 public:
  MultiStepSchedule(std::vector<int64_t> milestones, double gamma)
      : milestones_(std::move(milestones)), gamma_(gamma) {}
  double factor(int64_t step) const override {
    const auto passed =
        std::upper_bound(milestones_.begin(), milestones_.end(), step) - milestones_.begin();
    return std::pow(gamma_, double(passed));
  }

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

class CosineSchedule : public Schedule {
 public:
  CosineSchedule(int64_t total, double min_factor) : total_(total), min_(min_factor) {}
  double factor(int64_t step) const override {
    return cosine_between(1.0, min_, std::min<double>(double(step) / total_, 1.0));
  }

 private:
  int64_t total_;
  double min_;
};

class WarmupSchedule : public Schedule {
 public:
  WarmupSchedule(int64_t steps, double start) : steps_(steps), start_(start) {}
  double factor(int64_t step) const override {
    if (step >= steps_) return 1.0;
    return start_ + (1.0 - start_) * double(step) / double(steps_);
  }

 private:
  int64_t steps_;
  double start_;
};

class LinearSchedule : public Schedule {
 public:
  LinearSchedule(int64_t steps, double start, double end)
      : steps_(steps), start_(start), end_(end) {}
  double factor(int64_t step) const override {
    if (step >= steps_) return end_;
    return start_ + (end_ - start_) * double(step) / double(steps_);
  }

 private:
  int64_t steps_;
  double start_, end_;
};

class OneCycleSchedule : public Schedule {
 public:
  OneCycleSchedule(int64_t total, double pct_start, double div, double final_div)
      : total_(total), initial_(1.0 / div), final_(1.0 / (div * final_div)) {
    // PyTorch's phase ends: the peak at pct_start * total - 1, the end at total - 1.
    // (At least one step, so that very short runs still rise and fall.)
    peak_step_ = std::max(pct_start * double(total) - 1.0, 1.0);
  }
  double factor(int64_t step) const override {
    const double s = double(std::min<int64_t>(step, total_ - 1));
    if (s <= peak_step_) return cosine_between(initial_, 1.0, s / peak_step_);
    return cosine_between(1.0, final_, (s - peak_step_) / (double(total_ - 1) - peak_step_));
  }

 private:
  int64_t total_;
  double initial_, final_, peak_step_;
};

class SequentialSchedule : public Schedule {
 public:
  SequentialSchedule(std::vector<std::shared_ptr<Schedule>> schedules,
                     std::vector<int64_t> milestones)
      : schedules_(std::move(schedules)), milestones_(std::move(milestones)) {}
  double factor(int64_t step) const override {
    size_t i = 0;
    while (i < milestones_.size() && step >= milestones_[i]) ++i;
    const int64_t start = i == 0 ? 0 : milestones_[i - 1];
    return schedules_[i]->factor(step - start);
  }

 private:
  std::vector<std::shared_ptr<Schedule>> schedules_;
  std::vector<int64_t> milestones_;
};

}  // namespace

std::shared_ptr<Schedule> step_schedule(int64_t step_size, double gamma) {
  MINIDL_CHECK(step_size > 0, "step_schedule", "step_size must be positive, got ", step_size);
  return std::make_shared<StepSchedule>(step_size, gamma);
}

std::shared_ptr<Schedule> multistep_schedule(std::vector<int64_t> milestones, double gamma) {
  MINIDL_CHECK(std::is_sorted(milestones.begin(), milestones.end()), "multistep_schedule",
               "milestones must be increasing");
  return std::make_shared<MultiStepSchedule>(std::move(milestones), gamma);
}

std::shared_ptr<Schedule> cosine_schedule(int64_t total, double min_factor) {
  MINIDL_CHECK(total > 0, "cosine_schedule", "total must be positive, got ", total);
  return std::make_shared<CosineSchedule>(total, min_factor);
}

std::shared_ptr<Schedule> linear_warmup(int64_t steps, double start_factor) {
  MINIDL_CHECK(steps > 0 && start_factor > 0.0 && start_factor <= 1.0, "linear_warmup",
               "need steps > 0 and start_factor in (0, 1], got ", steps, " and ", start_factor);
  return std::make_shared<WarmupSchedule>(steps, start_factor);
}

std::shared_ptr<Schedule> linear_schedule(int64_t steps, double start_factor, double end_factor) {
  MINIDL_CHECK(steps > 0 && start_factor >= 0.0 && end_factor >= 0.0, "linear_schedule",
               "need steps > 0 and factors >= 0, got ", steps, ", ", start_factor, " and ",
               end_factor);
  return std::make_shared<LinearSchedule>(steps, start_factor, end_factor);
}

std::shared_ptr<Schedule> one_cycle(int64_t total, double pct_start, double div_factor,
                                    double final_div_factor) {
  MINIDL_CHECK(total > 2 && pct_start > 0.0 && pct_start < 1.0, "one_cycle",
               "need total > 2 and pct_start in (0, 1), got total ", total, " pct_start ",
               pct_start);
  return std::make_shared<OneCycleSchedule>(total, pct_start, div_factor, final_div_factor);
}

std::shared_ptr<Schedule> sequential(std::vector<std::shared_ptr<Schedule>> schedules,
                                     std::vector<int64_t> milestones) {
  MINIDL_CHECK(!schedules.empty() && milestones.size() + 1 == schedules.size(), "sequential",
               "need one milestone fewer than schedules, got ", schedules.size(), " schedules and ",
               milestones.size(), " milestones");
  for (size_t i = 0; i < schedules.size(); ++i) {
    MINIDL_CHECK(schedules[i] != nullptr, "sequential", "schedule ", i, " is null");
  }
  return std::make_shared<SequentialSchedule>(std::move(schedules), std::move(milestones));
}

LRScheduler::LRScheduler(Optimizer& optimizer, std::shared_ptr<Schedule> schedule)
    : optimizer_(optimizer), schedule_(std::move(schedule)) {
  MINIDL_CHECK(schedule_ != nullptr, "LRScheduler", "the schedule is null");
  for (const ParamGroup& group : optimizer_.groups()) base_lrs_.push_back(*group.lr);
  apply();
}

void LRScheduler::step() {
  ++step_;
  apply();
}

void LRScheduler::set_steps_taken(int64_t step) {
  MINIDL_CHECK(step >= 0, "LRScheduler::set_steps_taken", "steps must be >= 0, got ", step);
  step_ = step;
  apply();
}

float LRScheduler::lr(size_t group) const {
  MINIDL_CHECK(group < optimizer_.groups().size(), "LRScheduler::lr", "group ", group,
               " out of range (", optimizer_.groups().size(), " groups)");
  return *optimizer_.groups()[group].lr;
}

float LRScheduler::base_lr(size_t group) const {
  MINIDL_CHECK(group < base_lrs_.size(), "LRScheduler::base_lr", "group ", group, " out of range (",
               base_lrs_.size(), " groups)");
  return base_lrs_[group];
}

void LRScheduler::apply() {
  const double f = schedule_->factor(step_);
  // A schedule of the user's own may return anything: a NaN, infinite or negative factor
  // would set every rate to it.
  MINIDL_CHECK(f >= 0.0 && std::isfinite(f), "LRScheduler", "the schedule's factor at step ", step_,
               " is ", f, ": it must be finite and >= 0");
  for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.groups()[g].lr = float(base_lrs_[g] * f);
}

}  // namespace minidl
