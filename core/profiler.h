// Where a training step's time goes, op by op: the numbers a student reads to see what a
// framework spends its time on, and the ones to read before deciding what to fuse.
//
//   MINIDL_PROFILE=1 build/train_cifar10 ...        (or train_cifar10 --profile 50)
//
// With MINIDL_PROFILE=1 in the environment, a program that marks its training steps
// (begin_step / end_step: train_cifar10 and bench_train_step do) lets kWarmupSteps steps pass
// (allocator and cuBLAS warm-up), then times every op of the next MINIDL_PROFILE_STEPS steps
// (default 50), prints the table to stderr and stops profiling. Rows are (op, phase): the
// phase is "backward" for the kernels that autograd's backward pass launches, "optimizer"
// for an optimizer's step, "metrics" for what a program measures beside training (accuracy
// counts) and "forward" otherwise. A convolution's row names its shape and plan, so each
// distinct layer gets its own. A run that ends before any step was profiled (fewer steps than
// the warm-up) says so instead of printing nothing.
//
// How it measures. Every kernel call goes through MINIDL_DISPATCH (core/dispatch.h), which
// opens a Scope; the few ops that call their kernels directly open one themselves. On the CPU
// a Scope reads the host clock before and after. On CUDA the kernels run asynchronously, so a
// Scope records a timing event into the stream before and after its launches instead, and the
// pairs are read back in batches of 16384 (one wait for the GPU per batch), never
// once per op: profiling does not add the host synchronisations it is meant to find. A step
// is timed the same way, from begin_step to end_step; what no op accounts for (the GPU idle
// between launches, host work) is its own row.
//
// Profiling costs little while off: a Scope checks one flag. Like the rest of the library, it
// expects ops to be called from one thread.
#pragma once

#include <string>

#include "minidl/core/device.h"

namespace minidl::profiler {

constexpr int kWarmupSteps = 5;

// Reads MINIDL_PROFILE and MINIDL_PROFILE_STEPS (once; later calls do nothing). begin_step
// calls it, so programs need not.
void configure_from_environment();
// Starts over: profiles `steps` steps after kWarmupSteps more, as MINIDL_PROFILE=1
// MINIDL_PROFILE_STEPS=steps would (0 turns profiling off).
void request(int steps);

// True while ops are being timed: inside a step, after the warm-up, before the last step.
bool active();

// Marks one training step on `device`. end_step prints the table after the last profiled
// step.
void begin_step(Device device);
void end_step(Device device);

// Times what runs while it lives, under `name` (copied when profiling is on: a name built at
// run time, such as "conv2d[winograd F4x4]" with the convolution's plan, is fine). Nested
// scopes add nothing: the outermost one counts.
class Scope {
 public:
  Scope(const char* name, Device device) {
    if (active()) open(name, device);
  }
  ~Scope() {
    if (open_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  void open(const char* name, Device device);
  void close();
  bool open_ = false;
};

// The phase a scope's time counts under. Set for a stretch of code by PhaseScope: autograd's
// backward pass sets Backward, the optimizers' step() Optimizer, ops::count_correct Metrics.
enum class Phase { Forward, Backward, Optimizer, Metrics };
const char* phase_name(Phase phase);  // "forward", "backward", "optimizer", "metrics"

class PhaseScope {
 public:
  explicit PhaseScope(Phase phase);
  ~PhaseScope();
  PhaseScope(const PhaseScope&) = delete;
  PhaseScope& operator=(const PhaseScope&) = delete;

 private:
  Phase previous_;
};

// The table of what has been profiled so far (waits for pending CUDA timings); empty when
// profiling is off, and one line saying why when it is on but no step was profiled yet.
// end_step prints it by itself; a program that may stop before the last profiled step calls
// print_if_pending() at the end, which prints the table, or that line when the run was too
// short to profile anything.
std::string report();
void print_if_pending();

}  // namespace minidl::profiler
