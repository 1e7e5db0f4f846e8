// The fiber scheduler behind emulator.h. One block at a time: every thread of the block is a
// ucontext fiber with its own stack. The scheduler resumes runnable fibers in the block's
// schedule, opens a warp's shuffle point once all its lanes have arrived, and opens the block
// barrier (starting a new barrier interval for the race check) once every thread has.
#include "minidl/kernels/cuda/emulator/emulator.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

// AddressSanitizer (make sanitize) tracks one stack per thread; fibers need telling it about
// every switch (start_switch before swapcontext names the stack we go to, finish_switch after
// it), and a fiber stack must be unpoisoned before reuse: a fiber abandoned after an error
// leaves its frames' redzones in ASan's shadow memory. Without ASan all of this is nothing.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define MINIDL_UNPOISON_STACK(begin, bytes) ASAN_UNPOISON_MEMORY_REGION(begin, bytes)
#define MINIDL_START_SWITCH(fake_stack, bottom, bytes) \
  __sanitizer_start_switch_fiber(fake_stack, bottom, bytes)
#define MINIDL_FINISH_SWITCH(fake_stack, old_bottom, old_bytes) \
  __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_bytes)
#else
#define MINIDL_UNPOISON_STACK(begin, bytes) ((void)0)
#define MINIDL_START_SWITCH(fake_stack, bottom, bytes) ((void)0)
#define MINIDL_FINISH_SWITCH(fake_stack, old_bottom, old_bytes) ((void)0)
#endif

namespace minidl::emu {

namespace {

constexpr int kWarpSize = 32;
constexpr size_t kStackBytes = 64 * 1024;

enum class State { Runnable, AtBarrier, AtShuffle, Done };

// The order in which a block's fibers run between barriers. A correct kernel computes the
// same bits under every one; a kernel that leans on one order (say, lanes of a warp running in
// step) shows a different result or a race under another.
enum class Schedule {
  ThreadOrder,    // one step of every thread in turn, round robin
  WarpsForward,   // each warp runs as far as it can before the next one starts
  WarpsBackward,  // the same, from the last warp to the first
};

struct Fiber {
  ucontext_t context;
  ThreadContext builtins;
  State state = State::Runnable;
};

struct BlockRun {
  const std::function<void()>* body = nullptr;
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  int running = -1;
  std::string error;                      // the first failure; stops the launch
  const void* scheduler_stack = nullptr;  // for AddressSanitizer's fiber switches
  size_t scheduler_stack_bytes = 0;
  float shuffle_slots[1024] = {};  // each lane's value at a shuffle point
};

thread_local BlockRun* g_block = nullptr;
thread_local uint64_t g_generation = 0;
thread_local std::vector<std::unique_ptr<char[]>> g_stacks;  // reused across launches

std::string triple(const uint3& v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

std::string coordinates(const ThreadContext& t) {
  return "block " + triple(t.block_idx) + ", thread " + triple(t.thread_idx);
}

void fiber_main() {
  BlockRun& run = *g_block;
  MINIDL_FINISH_SWITCH(nullptr, &run.scheduler_stack, &run.scheduler_stack_bytes);
  Fiber& self = run.fibers[run.running];
  try {
    (*run.body)();
  } catch (const std::exception& e) {
    if (run.error.empty()) run.error = coordinates(self.builtins) + ": " + e.what();
  }
  self.state = State::Done;
  // Returning resumes uc_link, the scheduler (this fiber's stack is done: no fake stack kept).
  MINIDL_START_SWITCH(nullptr, run.scheduler_stack, run.scheduler_stack_bytes);
}

// Yields to the scheduler with the given state; returns when the scheduler resumes us. After
// an error the scheduler abandons the block and never resumes its fibers (their stacks are
// reused by the next launch; destructors of their locals do not run).
void wait_as(State state) {
  BlockRun& run = *g_block;
  Fiber& self = run.fibers[run.running];
  self.state = state;
  [[maybe_unused]] void* fake_stack = nullptr;
  MINIDL_START_SWITCH(&fake_stack, run.scheduler_stack, run.scheduler_stack_bytes);
  swapcontext(&self.context, &run.scheduler);
  MINIDL_FINISH_SWITCH(fake_stack, nullptr, nullptr);
}

// Records an error the scheduler found (not a thread): it names the block.
void block_error(BlockRun& run, const std::string& message) {
  run.error = "block " + triple(run.fibers[0].builtins.block_idx) + ": " + message;
}

int lane_count(const BlockRun& run, int warp) {
  return std::min<int>(kWarpSize, int(run.fibers.size()) - warp * kWarpSize);
}

int warp_count(const BlockRun& run) { return (int(run.fibers.size()) + kWarpSize - 1) / kWarpSize; }

// Opens the warp's shuffle point if all its lanes wait there; a shuffle that some lanes exited
// without reaching is an error. Returns whether lanes became runnable.
bool open_shuffle(BlockRun& run, int warp) {
  int waiting = 0, exited = 0;
  const int lanes = lane_count(run, warp);
  for (int l = 0; l < lanes; ++l) {
    waiting += run.fibers[warp * kWarpSize + l].state == State::AtShuffle;
    exited += run.fibers[warp * kWarpSize + l].state == State::Done;
  }
  if (waiting > 0 && waiting + exited == lanes && exited > 0) {
    block_error(run, "warp " + std::to_string(warp) + ": " + std::to_string(waiting) +
                         " lanes wait at a shuffle that " + std::to_string(exited) +
                         " exited lanes never reach");
    return false;
  }
  if (waiting < lanes) return false;
  for (int l = 0; l < lanes; ++l) run.fibers[warp * kWarpSize + l].state = State::Runnable;
  return true;
}

// Opens the block barrier if every thread waits there, which starts a new barrier interval; a
// barrier that some threads exited without reaching is an error. Returns whether threads
// became runnable.
bool open_barrier(BlockRun& run) {
  const int n = int(run.fibers.size());
  int done = 0, at_barrier = 0;
  for (const Fiber& f : run.fibers) {
    done += f.state == State::Done;
    at_barrier += f.state == State::AtBarrier;
  }
  if (at_barrier > 0 && at_barrier + done == n && done > 0) {
    block_error(run, std::to_string(at_barrier) + " threads wait at __syncthreads() that " +
                         std::to_string(done) + " exited threads never reach (barrier divergence)");
    return false;
  }
  if (at_barrier < n) return false;
  for (Fiber& f : run.fibers) f.state = State::Runnable;
  ++g_position.interval;
  return true;
}

// Runs fiber t until it yields or finishes. Kept out of line: code around a context switch
// must not keep locals in registers across it (GCC's -Wclobbered).
[[gnu::noinline]] void resume(BlockRun& run, int t) {
  run.running = t;
  g_position.thread = t;
  [[maybe_unused]] void* fake_stack = nullptr;
  MINIDL_START_SWITCH(&fake_stack, g_stacks[t].get(), kStackBytes);
  swapcontext(&run.scheduler, &run.fibers[t].context);
  MINIDL_FINISH_SWITCH(fake_stack, nullptr, nullptr);
}

// Resumes each runnable lane of the warp once, in lane order. Returns whether any ran.
bool step_warp(BlockRun& run, int warp) {
  bool ran = false;
  const int first = warp * kWarpSize, end = first + lane_count(run, warp);
  for (int t = first; t < end; ++t) {
    if (run.fibers[t].state != State::Runnable) continue;
    resume(run, t);
    ran = true;
    if (!run.error.empty()) break;
  }
  return ran;
}

// Runs the warp until all its lanes wait at the block barrier or have finished.
bool run_warp(BlockRun& run, int warp) {
  bool progress = false;
  while (run.error.empty() && (step_warp(run, warp) || open_shuffle(run, warp))) progress = true;
  return progress;
}

// Runs the block's fibers up to the next point where only the block barrier can let them go
// on (or an error). Returns whether any fiber ran or was released.
bool run_until_barrier(BlockRun& run, Schedule schedule) {
  const int warps = warp_count(run);
  bool progress = false;
  if (schedule == Schedule::ThreadOrder) {
    bool moved = true;
    while (moved && run.error.empty()) {
      moved = false;
      for (int w = 0; w < warps && run.error.empty(); ++w) moved |= step_warp(run, w);
      for (int w = 0; w < warps && run.error.empty(); ++w) moved |= open_shuffle(run, w);
      progress |= moved;
    }
    return progress;
  }
  for (int i = 0; i < warps && run.error.empty(); ++i) {
    progress |= run_warp(run, schedule == Schedule::WarpsForward ? i : warps - 1 - i);
  }
  return progress;
}

// Points fiber t at the start of the kernel, on its own stack.
[[gnu::noinline]] void prepare(BlockRun& run, int t) {
  Fiber& f = run.fibers[t];
  f.state = State::Runnable;
  getcontext(&f.context);
  MINIDL_UNPOISON_STACK(g_stacks[t].get(), kStackBytes);
  f.context.uc_stack.ss_sp = g_stacks[t].get();
  f.context.uc_stack.ss_size = kStackBytes;
  f.context.uc_link = &run.scheduler;
  makecontext(&f.context, fiber_main, 0);
}

bool all_done(const BlockRun& run) {
  return std::all_of(run.fibers.begin(), run.fibers.end(),
                     [](const Fiber& f) { return f.state == State::Done; });
}

void run_block(BlockRun& run, Schedule schedule) {
  for (size_t t = 0; t < run.fibers.size(); ++t) prepare(run, int(t));
  ++g_position.interval;  // the block start is a barrier
  while (true) {
    const bool progress = run_until_barrier(run, schedule);
    if (!run.error.empty() || all_done(run)) return;
    const bool opened = open_barrier(run);
    if (!run.error.empty()) return;  // barrier divergence
    if (!opened && !progress) {
      block_error(run, "deadlock: threads wait at a mix of barriers and shuffles");
      return;
    }
  }
}

// The schedule MINIDL_EMULATOR_SCHEDULE names for every block, if it is set.
std::optional<Schedule> forced_schedule() {
  const char* name = std::getenv("MINIDL_EMULATOR_SCHEDULE");
  if (name == nullptr || *name == '\0') return std::nullopt;
  const std::string s = name;
  if (s == "thread-order") return Schedule::ThreadOrder;
  if (s == "warps-forward") return Schedule::WarpsForward;
  if (s == "warps-backward") return Schedule::WarpsBackward;
  throw std::runtime_error("MINIDL_EMULATOR_SCHEDULE=" + s +
                           ": expected thread-order, warps-forward or warps-backward");
}

}  // namespace

const ThreadContext& current() { return g_block->fibers[g_block->running].builtins; }

uint64_t block_generation() { return g_generation; }

void fail(const std::string& message) { throw std::runtime_error(message); }

void report_race(const char* array, int64_t index, int other, Access first, Access second) {
  const auto kind = [](Access a) { return a == Access::Write ? "write" : "read"; };
  const auto done = [](Access a) { return a == Access::Write ? "written" : "read"; };
  fail("shared-memory race (" + std::string(kind(first)) + "/" + kind(second) + ") on '" + array +
       "'[" + std::to_string(index) + "]: " + done(first) + " by thread " +
       triple(g_block->fibers[other].builtins.thread_idx) + ", then " + done(second) +
       " by thread " + triple(current().thread_idx) + " with no __syncthreads() between");
}

void sync_block() { wait_as(State::AtBarrier); }

float shuffle(unsigned mask, float value, ShuffleKind kind, int argument, int width) {
  BlockRun& run = *g_block;
  const int thread = run.running, warp = thread / kWarpSize, lane = thread % kWarpSize;
  const int lanes = lane_count(run, warp);
  const unsigned full = lanes == kWarpSize ? 0xffffffffu : (1u << lanes) - 1;
  if (mask != full || width <= 0 || width > kWarpSize || kWarpSize % width != 0) {
    fail("shuffle with mask " + std::to_string(mask) + " and width " + std::to_string(width) +
         ": only full warps and widths dividing 32 are emulated");
  }
  run.shuffle_slots[thread] = value;
  wait_as(State::AtShuffle);  // every lane has written its value
  int source = lane;
  if (kind == ShuffleKind::Down) {
    if (lane % width + argument < width) source = lane + argument;
  } else {
    source = lane ^ argument;
    if (source / width != lane / width) source = lane;  // stays inside its width segment
  }
  const float result = source < lanes ? run.shuffle_slots[warp * kWarpSize + source] : value;
  wait_as(State::AtShuffle);  // every lane has read before anyone writes again
  return result;
}

void run_grid(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& thread_body) {
  const size_t threads = size_t(block.x) * block.y * block.z;
  if (threads == 0 || threads > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0) {
    throw std::runtime_error(std::string("emulated kernel ") + kernel + ": invalid launch (" +
                             std::to_string(threads) + " threads per block)");
  }
  if (g_block != nullptr) {
    throw std::runtime_error(std::string("emulated kernel ") + kernel +
                             ": launched from inside another kernel (not emulated)");
  }
  while (g_stacks.size() < threads) g_stacks.emplace_back(new char[kStackBytes]);
  const std::optional<Schedule> forced = forced_schedule();
  BlockRun run;
  run.body = &thread_body;
  run.fibers.resize(threads);
  g_block = &run;
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        ++g_generation;
        size_t t = 0;
        for (unsigned z = 0; z < block.z; ++z) {
          for (unsigned y = 0; y < block.y; ++y) {
            for (unsigned x = 0; x < block.x; ++x, ++t) {
              run.fibers[t].builtins = ThreadContext{{x, y, z}, {bx, by, bz}, block, grid};
            }
          }
        }
        // Blocks take the schedules in turn, so any launch of 3 or more blocks runs all three.
        const unsigned linear = (bz * grid.y + by) * grid.x + bx;
        constexpr Schedule kInTurn[] = {Schedule::ThreadOrder, Schedule::WarpsForward,
                                        Schedule::WarpsBackward};
        run_block(run, forced.value_or(kInTurn[linear % 3]));
        if (!run.error.empty()) {
          g_block = nullptr;
          throw std::runtime_error(std::string("emulated kernel ") + kernel + ": " + run.error);
        }
      }
    }
  }
  g_block = nullptr;
}

}  // namespace minidl::emu
