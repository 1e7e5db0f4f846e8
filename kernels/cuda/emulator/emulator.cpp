// The fiber scheduler behind emulator.h. One block at a time: every thread of the block is a
// ucontext fiber with its own stack; the scheduler resumes runnable fibers in thread order,
// and after each pass opens the block barrier or a warp's shuffle point once every
// participant has arrived.
#include "kernels/cuda/emulator/emulator.h"

#include <ucontext.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

namespace minidl::emu {

namespace {

constexpr int kWarpSize = 32;
constexpr size_t kStackBytes = 64 * 1024;

enum class State { Runnable, AtBarrier, AtShuffle, Done };

struct Fiber {
  ucontext_t context;
  ThreadContext builtins;
  State state = State::Runnable;
};

struct BlockRun {
  const char* kernel = "";
  const std::function<void()>* body = nullptr;
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  int running = -1;
  std::string error;               // the first failure; stops the launch
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
  Fiber& self = run.fibers[run.running];
  try {
    (*run.body)();
  } catch (const std::exception& e) {
    if (run.error.empty()) run.error = coordinates(self.builtins) + ": " + e.what();
  }
  self.state = State::Done;
  // Returning resumes uc_link, the scheduler.
}

// Yields to the scheduler with the given state; returns when the scheduler resumes us. After
// an error the scheduler abandons the block and never resumes its fibers (their stacks are
// reused by the next launch; destructors of their locals do not run).
void wait_as(State state) {
  BlockRun& run = *g_block;
  Fiber& self = run.fibers[run.running];
  self.state = state;
  swapcontext(&self.context, &run.scheduler);
}

int lane_count(const BlockRun& run, int warp) {
  return std::min<int>(kWarpSize, int(run.fibers.size()) - warp * kWarpSize);
}

// After a pass over the fibers: opens warp shuffle points and the block barrier whose
// participants have all arrived, and turns the stuck cases into errors. Returns whether any
// fiber became runnable.
bool release_waiters(BlockRun& run) {
  const int n = int(run.fibers.size());
  int done = 0, at_barrier = 0;
  for (const Fiber& f : run.fibers) {
    done += f.state == State::Done;
    at_barrier += f.state == State::AtBarrier;
  }
  bool released = false;
  for (int warp = 0; warp * kWarpSize < n; ++warp) {
    int waiting = 0, exited = 0;
    const int lanes = lane_count(run, warp);
    for (int l = 0; l < lanes; ++l) {
      waiting += run.fibers[warp * kWarpSize + l].state == State::AtShuffle;
      exited += run.fibers[warp * kWarpSize + l].state == State::Done;
    }
    if (waiting > 0 && waiting + exited == lanes && exited > 0) {
      run.error = "warp " + std::to_string(warp) + ": " + std::to_string(waiting) +
                  " lanes wait at a shuffle that " + std::to_string(exited) +
                  " exited lanes never reach";
      return false;
    }
    if (waiting == lanes) {
      for (int l = 0; l < lanes; ++l) run.fibers[warp * kWarpSize + l].state = State::Runnable;
      released = true;
    }
  }
  if (at_barrier > 0 && at_barrier + done == n && done > 0) {
    run.error = std::to_string(at_barrier) + " threads wait at __syncthreads() that " +
                std::to_string(done) + " exited threads never reach (barrier divergence)";
    return false;
  }
  if (at_barrier == n) {
    for (Fiber& f : run.fibers) f.state = State::Runnable;
    released = true;
  }
  return released;
}

// Runs fiber t until it yields or finishes. Kept out of line: code around a context switch
// must not keep locals in registers across it (GCC's -Wclobbered).
[[gnu::noinline]] void resume(BlockRun& run, int t) {
  run.running = t;
  swapcontext(&run.scheduler, &run.fibers[t].context);
}

// Points fiber t at the start of the kernel, on its own stack.
[[gnu::noinline]] void prepare(BlockRun& run, int t) {
  Fiber& f = run.fibers[t];
  f.state = State::Runnable;
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = g_stacks[t].get();
  f.context.uc_stack.ss_size = kStackBytes;
  f.context.uc_link = &run.scheduler;
  makecontext(&f.context, fiber_main, 0);
}

void run_block(BlockRun& run) {
  for (size_t t = 0; t < run.fibers.size(); ++t) prepare(run, int(t));
  while (true) {
    bool ran = false, all_done = true;
    for (size_t t = 0; t < run.fibers.size() && run.error.empty(); ++t) {
      if (run.fibers[t].state != State::Runnable) {
        all_done &= run.fibers[t].state == State::Done;
        continue;
      }
      resume(run, int(t));
      ran = true;
      all_done &= run.fibers[t].state == State::Done;
    }
    if (!run.error.empty() || all_done) return;
    if (!release_waiters(run) && !ran && run.error.empty()) {
      run.error = "deadlock: threads wait at a mix of barriers and shuffles";
    }
    if (!run.error.empty()) {  // found by the scheduler: name the block
      run.error = "block " + triple(run.fibers[0].builtins.block_idx) + ": " + run.error;
      return;
    }
  }
}

}  // namespace

const ThreadContext& current() { return g_block->fibers[g_block->running].builtins; }

uint64_t block_generation() { return g_generation; }

void fail(const std::string& message) { throw std::runtime_error(message); }

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
  BlockRun run;
  run.kernel = kernel;
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
        run_block(run);
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
