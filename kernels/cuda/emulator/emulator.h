// A CPU emulation of the CUDA execution model, to run the library's CUDA kernels where there
// is no GPU (CI, laptops) and to catch the bugs a GPU would hide or make intermittent.
//
// Model: the blocks of a grid run one after another. The threads of a block run as
// cooperative fibers (ucontext) on one OS thread: a fiber runs until it reaches
// __syncthreads() or a warp shuffle, then yields; a barrier opens when every thread of the
// block has reached it. Shared memory (MINIDL_SHARED) is one array per declaration, filled
// with NaN at the start of each block so reading an unwritten element poisons the result.
// Reported as errors (a std::runtime_error naming kernel, block and thread):
//   - shared-memory indexing out of bounds;
//   - a barrier that not every thread of the block reaches (some exit while others wait);
//   - a warp shuffle that not every lane of the warp reaches;
//   - any exception thrown by kernel code.
// Not modeled: concurrency between blocks, memory ordering, the timing of a real GPU.
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

// Aborts the running thread of the kernel with `message` (reported with its coordinates).
[[noreturn]] void fail(const std::string& message);

// Runs `thread_body` for every thread of every block; throws std::runtime_error on any error.
void run_grid(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& thread_body);

template <typename T, int64_t N>
class SharedArray {
 public:
  SharedArray& for_current_block(const char* name) {
    if (generation_ != block_generation()) {
      std::memset(static_cast<void*>(data_), 0xFF, sizeof data_);  // NaN for floats, -1 for ints
      generation_ = block_generation();
      name_ = name;
    }
    return *this;
  }
  T& operator[](int64_t i) {
    if (i < 0 || i >= N) {
      fail("shared array '" + std::string(name_) + "' indexed at " + std::to_string(i) +
           ", outside [0, " + std::to_string(N) + ")");
    }
    return data_[i];
  }

 private:
  T data_[N];
  uint64_t generation_ = 0;
  const char* name_ = "";
};

}  // namespace minidl::emu
