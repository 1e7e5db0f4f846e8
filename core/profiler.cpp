#include "minidl/core/profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/cuda/runtime.h"
#include "minidl/core/error.h"

namespace minidl::profiler {

namespace {

using Clock = std::chrono::steady_clock;
using Key = std::pair<std::string, Phase>;  // op name, phase
constexpr size_t kPendingLimit = 16384;     // CUDA timings read back in batches of this many

struct Totals {
  int64_t calls = 0;
  double ms = 0;
};

// A CUDA region whose two events have been recorded but not yet read.
struct PendingTiming {
  Key key;
  bool is_step;
  cuda_runtime::Event start, end;
};

struct State {
  bool configured = false;
  int requested_steps = 0;  // 0: off
  int steps_seen = 0;       // begin_step calls so far
  int steps_profiled = 0;
  bool printed = false;
  bool in_step = false;  // active(): a profiled step is running
  Device step_device = Device::CPU;

  // The open scope (at most one: nested ones are ignored) and the open step.
  int depth = 0;
  Key open_key;
  Device open_device = Device::CPU;
  Clock::time_point open_host, step_host;
  cuda_runtime::Event open_start = nullptr, step_start = nullptr;

  std::map<Key, Totals> ops;
  double step_ms = 0;
  std::vector<PendingTiming> pending;
  std::vector<cuda_runtime::Event> free_events;
};

State& state() {
  static State s;
  return s;
}

thread_local Phase t_phase = Phase::Forward;

cuda_runtime::Event take_event() {
  State& s = state();
  if (s.free_events.empty()) return cuda_runtime::create_timing_event();
  const cuda_runtime::Event e = s.free_events.back();
  s.free_events.pop_back();
  return e;
}

double elapsed_host_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

// Reads every pending CUDA timing: one wait for the GPU, at the last event.
void resolve_pending() {
  State& s = state();
  if (s.pending.empty()) return;
  cuda_runtime::wait_for_event(s.pending.back().end);
  for (const PendingTiming& p : s.pending) {
    const double ms = cuda_runtime::elapsed_ms(p.start, p.end);
    if (p.is_step) {
      s.step_ms += ms;
    } else {
      s.ops[p.key].ms += ms;
    }
    s.free_events.push_back(p.start);
    s.free_events.push_back(p.end);
  }
  s.pending.clear();
}

void add_pending(Key key, bool is_step, cuda_runtime::Event start) {
  State& s = state();
  const cuda_runtime::Event end = take_event();
  cuda_runtime::record_event(end);
  s.pending.push_back({std::move(key), is_step, start, end});
  if (s.pending.size() >= kPendingLimit) resolve_pending();
}

int parse_count(const char* variable, int fallback) {
  const char* text = std::getenv(variable);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  MINIDL_CHECK(*end == '\0' && value >= 0 && value <= 1000000, "profiler", variable,
               " must be an integer from 0 to 1000000, got '", text, "'");
  return static_cast<int>(value);
}

}  // namespace

void configure_from_environment() {
  State& s = state();
  if (s.configured) return;
  s.configured = true;
  if (parse_count("MINIDL_PROFILE", 0) > 0)
    s.requested_steps = parse_count("MINIDL_PROFILE_STEPS", 50);
}

void request(int steps) {
  MINIDL_CHECK(steps >= 0, "profiler", "the number of steps to profile must be >= 0, got ", steps);
  MINIDL_CHECK(!state().in_step, "profiler", "request() inside a step");
  resolve_pending();
  State& s = state();
  const std::vector<cuda_runtime::Event> events = std::move(s.free_events);
  s = State();  // a fresh start: counts, totals and the warm-up
  s.free_events = events;
  s.configured = true;
  s.requested_steps = steps;
}

bool active() { return state().in_step; }

void begin_step(Device device) {
  configure_from_environment();
  State& s = state();
  ++s.steps_seen;
  if (s.requested_steps == 0 || s.steps_seen <= kWarmupSteps ||
      s.steps_profiled >= s.requested_steps) {
    return;
  }
  s.in_step = true;
  s.step_device = device;
  if (device == Device::CPU) {
    s.step_host = Clock::now();
  } else {
    s.step_start = take_event();
    cuda_runtime::record_event(s.step_start);
  }
}

void end_step(Device device) {
  State& s = state();
  if (!s.in_step) return;
  MINIDL_CHECK(device == s.step_device, "profiler", "a step begun on ", device_name(s.step_device),
               " ended on ", device_name(device));
  s.in_step = false;
  if (device == Device::CPU) {
    s.step_ms += elapsed_host_ms(s.step_host);
  } else {
    add_pending({"", Phase::Forward}, true, s.step_start);
  }
  if (++s.steps_profiled == s.requested_steps) print_if_pending();
}

void Scope::open(const char* name, Device device) {
  State& s = state();
  if (s.depth++ > 0) return;  // inside another scope: that one counts the time
  open_ = true;
  s.open_key = {name, t_phase};
  s.open_device = device;
  if (device == Device::CPU) {
    s.open_host = Clock::now();
  } else {
    s.open_start = take_event();
    cuda_runtime::record_event(s.open_start);
  }
}

void Scope::close() {
  State& s = state();
  --s.depth;
  ++s.ops[s.open_key].calls;
  if (s.open_device == Device::CPU) {
    s.ops[s.open_key].ms += elapsed_host_ms(s.open_host);
  } else {
    add_pending(s.open_key, false, s.open_start);
  }
}

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::Forward: return "forward";
    case Phase::Backward: return "backward";
    case Phase::Optimizer: return "optimizer";
    case Phase::Metrics: return "metrics";
  }
  return "?";
}

PhaseScope::PhaseScope(Phase phase) : previous_(t_phase) { t_phase = phase; }
PhaseScope::~PhaseScope() { t_phase = previous_; }

std::string report() {
  resolve_pending();
  const State& s = state();
  if (s.requested_steps == 0) return "";
  if (s.steps_profiled == 0) {
    return "minidl profile: no step profiled: the run has marked " + std::to_string(s.steps_seen) +
           " step(s), and profiling starts after " + std::to_string(kWarmupSteps) +
           " warm-up steps; run at least " + std::to_string(kWarmupSteps + 1) + " steps\n";
  }
  std::vector<std::pair<Key, Totals>> rows(s.ops.begin(), s.ops.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  const double steps = s.steps_profiled;
  const double per_step = s.step_ms / steps;
  double in_ops = 0;
  for (const auto& row : rows) in_ops += row.second.ms;

  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line,
                "minidl profile: %d steps on %s after %d warm-up steps, %.3f ms per step (%s)\n",
                s.steps_profiled, device_name(s.step_device), kWarmupSteps, per_step,
                s.step_device == Device::CPU ? "host clock" : "GPU time between step marks");
  out << line;
  int width = 42;  // the op column: as wide as the longest name (convolutions name their shape)
  for (const auto& row : rows) width = std::max(width, int(row.first.first.size()));
  std::snprintf(line, sizeof line, "%-*s %-9s %10s %10s %8s\n", width, "op", "phase", "calls/step",
                "ms/step", "share");
  out << line;
  auto print_row = [&](const std::string& name, const char* phase, double calls, double ms) {
    std::snprintf(line, sizeof line, "%-*s %-9s %10.1f %10.3f %7.1f%%\n", width, name.c_str(),
                  phase, calls, ms / steps, per_step > 0 ? 100.0 * ms / s.step_ms : 0.0);
    out << line;
  };
  for (const auto& [key, totals] : rows) {
    print_row(key.first, phase_name(key.second), totals.calls / steps, totals.ms);
  }
  // Positive when the device idled between ops or the host did work outside them.
  print_row("(outside ops: launch gaps, host work)", "", 0, std::max(0.0, s.step_ms - in_ops));
  return out.str();
}

void print_if_pending() {
  State& s = state();
  if (s.printed || s.requested_steps == 0) return;
  s.printed = true;
  std::fputs(report().c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace minidl::profiler
