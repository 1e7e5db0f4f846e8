// A CPU emulation of the CUDA execution model, to run the library's CUDA kernels where there
// is no GPU (CI, laptops) and to catch the bugs a GPU would hide or make intermittent.
//
// Model: the blocks of a grid run one after another. The threads of a block run as
// cooperative fibers (ucontext) on one OS thread: a fiber runs until it reaches
// __syncthreads() or a warp shuffle, then yields; a barrier opens when every thread of the
// block has reached it. In which order the fibers run is the block's schedule, one of three,
// picked by the block's linear index modulo 3 (so a launch of 3 or more blocks sees all):
// thread order (round robin), warp by warp from the first warp, warp by warp from the last.
// MINIDL_EMULATOR_SCHEDULE=thread-order|warps-forward|warps-backward forces one for all blocks.
// Shared memory (MINIDL_SHARED) is one array per declaration, filled with NaN at the start of
// each block so reading an unwritten element poisons the result, and race-checked: every
// element remembers who wrote and who read it since the block's last barrier.
// Reported as errors (a std::runtime_error naming kernel, block and thread):
//   - a shared-memory race: two threads access one element between the same two barriers
//     (the block start counts as one), at least one of them writing; warp shuffles are no
//     barrier (Volta and later schedule a warp's threads independently);
//   - shared-memory indexing out of bounds;
//   - a barrier that not every thread of the block reaches (some exit while others wait);
//   - a warp shuffle that not every lane of the warp reaches;
//   - any exception thrown by kernel code.
// Not modeled: concurrency between blocks, races in global memory, memory ordering, the
// timing of a real GPU.
// Launch from one OS thread at a time: shared arrays are process-wide statics.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

// The CUDA vector types, as the CUDA headers declare them.
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

namespace minidl::emu {

struct ThreadContext {
  uint3 thread_idx{0, 0, 0}, block_idx{0, 0, 0};
  dim3 block_dim, grid_dim;
};

// The built-in variables of the fiber that is running.
const ThreadContext& current();

void sync_block();  // __syncthreads()

enum class ShuffleKind { Down, Xor };
float shuffle(unsigned mask, float value, ShuffleKind kind, int argument, int width);

// Counts blocks run by this OS thread; shared arrays use it to notice a new block.
uint64_t block_generation();

// Where the running block stands, as the race check needs it. `interval` counts barrier
// intervals: the scheduler advances it at every block start and every opened barrier, so two
// accesses stamped with the same value have no barrier between them. It is process-wide, like
// the shared arrays that keep its stamps, and an inline variable so that the check on every
// shared-memory access costs a few loads rather than a call into emulator.cpp.
struct Position {
  uint64_t interval = 0;
  int thread = 0;  // the running thread's linear index in its block
};
inline Position g_position;

// Aborts the running thread of the kernel with `message` (reported with its coordinates).
[[noreturn]] void fail(const std::string& message);

enum class Access { Read, Write };

// Aborts the running thread, whose access `second` to element `index` of shared array `array`
// follows the access `first` by thread `other` (a linear index) in the same barrier interval.
[[noreturn]] void report_race(const char* array, int64_t index, int other, Access first,
                              Access second);

// Runs `thread_body` for every thread of every block; throws std::runtime_error on any error.
void run_grid(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& thread_body);

template <typename T, int64_t N>
class SharedArray {
 public:
  // What a[i] returns: it reads through the conversion to T and writes through assignment, so
  // the race check can tell reads from writes (a plain T& could not).
  class Element {
   public:
    Element(SharedArray& array, int64_t i) : array_(array), i_(i) {}
    Element(const Element&) = default;
    operator T() const { return array_.load(i_); }
    Element& operator=(T value) {
      array_.store(i_, value);
      return *this;
    }
    Element& operator=(const Element& other) { return *this = T(other); }  // a[i] = b[j]
    // Compound assignments compute in the types of both operands, as they would on a T&.
    template <typename U>
    Element& operator+=(const U& value) {
      return *this = T(T(*this) + value);
    }
    template <typename U>
    Element& operator-=(const U& value) {
      return *this = T(T(*this) - value);
    }
    template <typename U>
    Element& operator*=(const U& value) {
      return *this = T(T(*this) * value);
    }
    template <typename U>
    Element& operator/=(const U& value) {
      return *this = T(T(*this) / value);
    }
    Element& operator++() { return *this += T(1); }
    Element& operator--() { return *this -= T(1); }
    T operator++(int) {
      const T old = *this;
      *this += T(1);
      return old;
    }
    T operator--(int) {
      const T old = *this;
      *this -= T(1);
      return old;
    }

   private:
    SharedArray& array_;
    int64_t i_;
  };

  SharedArray& for_current_block(const char* name) {
    if (generation_ != block_generation()) {
      std::memset(static_cast<void*>(data_), 0xFF, sizeof data_);  // NaN for floats, -1 for ints
      generation_ = block_generation();
      name_ = name;
    }
    return *this;
  }
  Element operator[](int64_t i) {
    if (i < 0 || i >= N) {
      fail("shared array '" + std::string(name_) + "' indexed at " + std::to_string(i) +
           ", outside [0, " + std::to_string(N) + ")");
    }
    return Element(*this, i);
  }

 private:
  // Who accessed one element in the barrier interval of its stamps; an older stamp means
  // nobody did. Two readers are kept, the first and the latest other one (-1: none), which is
  // enough to name a reader other than whichever thread writes next. Constant size, so the
  // check costs the same however many threads read.
  struct Accesses {
    uint64_t write_interval = 0, read_interval = 0;
    int16_t writer = 0, reader = 0, second_reader = -1;
  };

  T load(int64_t i) {
    Accesses& a = accesses_[i];
    const Position now = g_position;
    if (a.write_interval == now.interval && a.writer != now.thread) {
      report_race(name_, i, a.writer, Access::Write, Access::Read);
    }
    if (a.read_interval != now.interval) {
      a.read_interval = now.interval;
      a.reader = int16_t(now.thread);
      a.second_reader = -1;
    } else if (a.reader != now.thread) {
      a.second_reader = int16_t(now.thread);
    }
    return data_[i];
  }

  void store(int64_t i, T value) {
    Accesses& a = accesses_[i];
    const Position now = g_position;
    if (a.write_interval == now.interval && a.writer != now.thread) {
      report_race(name_, i, a.writer, Access::Write, Access::Write);
    }
    if (a.read_interval == now.interval) {
      const int other = a.reader != now.thread ? a.reader : a.second_reader;
      if (other >= 0) report_race(name_, i, other, Access::Read, Access::Write);
    }
    a.write_interval = now.interval;
    a.writer = int16_t(now.thread);
    data_[i] = value;
  }

  T data_[N];
  Accesses accesses_[N];
  uint64_t generation_ = 0;
  const char* name_ = "";
};

}  // namespace minidl::emu
