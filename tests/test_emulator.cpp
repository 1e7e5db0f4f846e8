// The CPU emulator of the CUDA execution model itself (kernels/cuda/emulator/): per-thread
// built-ins, __syncthreads() as a real barrier, NaN-filled shared memory, bounds checks,
// shared-memory races, the three schedules, barrier divergence, warp shuffles. Only built
// into the emulated test binary.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "minidl/kernels/cuda/launch.cuh"

using minidl::kernels::cuda::launch;

namespace {

__global__ void write_coordinates(int* out) {
  const int block = blockIdx.y * gridDim.x + blockIdx.x;
  const int thread = threadIdx.y * blockDim.x + threadIdx.x;
  out[block * blockDim.x * blockDim.y + thread] = block * 1000 + thread;
}

// Each thread publishes its index, then reads its right neighbour's.
template <bool kWithBarrier>
__global__ void rotate(float* out) {
  MINIDL_SHARED(float, slots, 64);
  slots[threadIdx.x] = float(threadIdx.x);
  if (kWithBarrier) __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = slots[(threadIdx.x + 1) % blockDim.x];
}

// Only block 0 fills the array; every block reads it back.
__global__ void read_what_block_zero_wrote(float* out) {
  MINIDL_SHARED(float, slots, 32);
  if (blockIdx.x == 0) slots[threadIdx.x] = 1.f;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = slots[threadIdx.x];
}

// block_sum from kernels/cuda/reduce.cuh, simplified: a shuffle tree per warp, then every thread
// adds up the warps' totals. Without the second barrier, the next call's lane 0 overwrites a
// total that other threads may still have to read.
template <bool kSecondBarrier>
__device__ float block_total(float value) {
  MINIDL_SHARED(float, totals, 32);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  if (lane == 0) totals[warp] = value;
  __syncthreads();
  float total = 0.f;
  for (unsigned w = 0; w < blockDim.x / 32; ++w) total += totals[w];
  if (kSecondBarrier) __syncthreads();
  return total;
}

// Each block's sum and sum of squares of its slice of `in`.
template <bool kSecondBarrier>
__global__ void sum_and_squares(const float* in, float* out) {
  const float x = in[blockIdx.x * blockDim.x + threadIdx.x];
  const float sum = block_total<kSecondBarrier>(x);
  const float squares = block_total<kSecondBarrier>(x * x);
  if (threadIdx.x == 0) {
    out[2 * blockIdx.x] = sum;
    out[2 * blockIdx.x + 1] = squares;
  }
}

// Every thread stores its index in the same element: which one survives depends on the order.
__global__ void last_writer_wins(int* out) {
  MINIDL_SHARED(int, winner, 1);
  winner[0] = int(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = winner[0];
}

// Warp-synchronous code: lane 0 publishes a value and the other lanes read it after a shuffle,
// with no barrier. Correct only if a warp's lanes ran in lock step, which Volta and later no
// longer promise.
__global__ void publish_across_a_shuffle(float* out) {
  MINIDL_SHARED(float, slot, 1);
  if (threadIdx.x == 0) slot[0] = 42.f;
  const float neighbour = __shfl_xor_sync(0xffffffffu, 1.f, 1);
  out[threadIdx.x] = slot[0] + neighbour;
}

// What the race check allows: a thread reading back what it wrote, updating its own element in
// place, and many threads reading an element nobody writes in that barrier interval. Also
// exercises every operator the shared-memory element offers, on float and int arrays.
__global__ void allowed_sharing(float* floats, int* ints) {
  MINIDL_SHARED(float, f, 32);
  MINIDL_SHARED(float, g, 32);
  MINIDL_SHARED(int, n, 32);
  const int t = threadIdx.x;
  f[t] = float(t);
  f[t] += 2.f;  // t + 2
  f[t] *= 3;    // 3t + 6
  f[t] -= 1.5;  // 3t + 4.5
  f[t] /= 2.f;  // 1.5t + 2.25
  n[t] = t;
  n[t] += 1.5f;  // int += float truncates, as on an int&: t + 1
  ++n[t];
  n[t]++;  // t + 3
  n[t] -= 1;
  --n[t];
  const int before = n[t]--;  // t + 1 before, t after
  n[t] *= before;             // t * (t + 1)
  __syncthreads();
  // Every thread reads element 0 and its neighbour's: nobody writes in this interval.
  const float neighbour = f[(t + 1) % 32];
  floats[t] = std::fmax(f[0], neighbour) + f[t] * 2.f - f[0];
  ints[t] = n[t] + n[0];
  const float left = f[(t + 31) % 32];
  __syncthreads();
  f[t] = left;  // read by its right neighbour before the barrier, overwritten after it
  g[t] = f[t];
  floats[32 + t] = g[t];
}

// Appends the thread's index to its block's log before and after a shuffle, so the log shows
// the order the schedule ran the threads in. (A plain increment is atomic here, as fibers only
// switch at barriers and shuffles; on a GPU this would need atomicAdd.)
__global__ void log_order(int* logs, int* lengths) {
  int* log = logs + blockIdx.x * 2 * blockDim.x;
  int& length = lengths[blockIdx.x];
  log[length++] = int(threadIdx.x);
  __shfl_xor_sync(0xffffffffu, 0.f, 1);
  log[length++] = int(threadIdx.x);
}

__global__ void read_past_the_end(float* out) {
  MINIDL_SHARED(float, slots, 32);
  slots[threadIdx.x] = 1.f;  // launched with 33 threads
  out[0] = 0.f;
}

__global__ void divergent_barrier(float* out) {
  if (threadIdx.x < 16) __syncthreads();  // half the block never arrives
  out[threadIdx.x] = 1.f;
}

__global__ void warp_sum(const float* in, float* out) {
  float v = in[blockIdx.x * blockDim.x + threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (threadIdx.x % 32 == 0) out[blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32] = v;
}

__global__ void butterfly_max(const float* in, float* out) {
  float v = in[threadIdx.x];
  for (int mask = 16; mask > 0; mask /= 2) v = std::fmax(v, __shfl_xor_sync(0xffffffffu, v, mask));
  out[threadIdx.x] = v;  // every lane ends with the warp's maximum
}

}  // namespace

TEST_CASE("emulator: every thread sees its own threadIdx and blockIdx", "[emulated][emulator]") {
  std::vector<int> out(3 * 2 * 4 * 5, -1);
  launch("write_coordinates", write_coordinates, dim3(3, 2), dim3(4, 5), out.data());
  for (int block = 0; block < 6; ++block) {
    for (int thread = 0; thread < 20; ++thread)
      REQUIRE(out[block * 20 + thread] == block * 1000 + thread);
  }
}

TEST_CASE("emulator: __syncthreads is a real barrier", "[emulated][emulator]") {
  std::vector<float> out(3 * 64, -1.f);
  launch("rotate", rotate<true>, dim3(3), dim3(64), out.data());  // 3 blocks: every schedule
  for (int i = 0; i < 3 * 64; ++i) REQUIRE(out[i] == float((i % 64 + 1) % 64));
}

TEST_CASE("emulator: every block's shared memory starts as NaN", "[emulated][emulator]") {
  // Block 1 reads elements only block 0 wrote: the refill makes the bug visible instead of
  // handing block 1 a stale, plausible value.
  std::vector<float> out(2 * 32, -1.f);
  launch("read_what_block_zero_wrote", read_what_block_zero_wrote, dim3(2), dim3(32), out.data());
  for (int t = 0; t < 32; ++t) {
    CHECK(out[t] == 1.f);
    CHECK(std::isnan(out[32 + t]));
  }
}

TEST_CASE("emulator: a missing barrier is a shared-memory race naming both threads",
          "[emulated][emulator]") {
  std::vector<float> out(64);
  // Thread 0 reads its neighbour's slot, then thread 1 writes it, in one barrier interval.
  REQUIRE_THROWS_WITH(
      launch("rotate_without_barrier", rotate<false>, dim3(1), dim3(64), out.data()),
      Catch::Contains("emulated kernel rotate_without_barrier: block (0,0,0), thread (1,0,0)") &&
          Catch::Contains("shared-memory race (read/write) on 'slots'[1]: read by thread (0,0,0), "
                          "then written by thread (1,0,0) with no __syncthreads() between"));

  // The mutant of block_sum: the second call's lane 0 writes a total the first call's readers
  // have read in the same interval.
  std::vector<float> in(4 * 64, 1.f), sums(8);
  REQUIRE_THROWS_WITH(
      launch("sum_and_squares_without_second_barrier", sum_and_squares<false>, dim3(4), dim3(64),
             in.data(), sums.data()),
      Catch::Contains("emulated kernel sum_and_squares_without_second_barrier: block (0,0,0)") &&
          Catch::Contains("shared-memory race (read/write) on 'totals'[0]: read by thread "
                          "(63,0,0), then written by thread (0,0,0)"));
}

TEST_CASE("emulator: two threads writing one element is a write/write race",
          "[emulated][emulator]") {
  std::vector<int> out(32);
  REQUIRE_THROWS_WITH(
      launch("last_writer_wins", last_writer_wins, dim3(1), dim3(32), out.data()),
      Catch::Contains("emulated kernel last_writer_wins: block (0,0,0), thread (1,0,0)") &&
          Catch::Contains("shared-memory race (write/write) on 'winner'[0]: written "
                          "by thread (0,0,0), then written by thread (1,0,0)"));
}

TEST_CASE("emulator: a warp shuffle is no barrier for shared memory", "[emulated][emulator]") {
  std::vector<float> out(32);
  REQUIRE_THROWS_WITH(
      launch("publish_across_a_shuffle", publish_across_a_shuffle, dim3(1), dim3(32), out.data()),
      Catch::Contains("shared-memory race (write/read) on 'slot'[0]: written by thread (0,0,0), "
                      "then read by thread (1,0,0)"));
}

TEST_CASE("emulator: own read-after-write and shared reads are no race", "[emulated][emulator]") {
  std::vector<float> floats(64);
  std::vector<int> ints(32);
  launch("allowed_sharing", allowed_sharing, dim3(1), dim3(32), floats.data(), ints.data());
  const auto f = [](int t) { return 1.5f * float(t) + 2.25f; };
  for (int t = 0; t < 32; ++t) {
    CHECK(floats[t] == std::fmax(f(0), f((t + 1) % 32)) + f(t) * 2.f - f(0));
    CHECK(ints[t] == t * (t + 1));
    CHECK(floats[32 + t] == f((t + 31) % 32));
  }
}

TEST_CASE("emulator: blocks take the three schedules in turn", "[emulated][emulator]") {
  std::vector<int> logs(3 * 128, -1), lengths(3, 0);
  launch("log_order", log_order, dim3(3), dim3(64), logs.data(), lengths.data());
  std::vector<int> thread_order, warps_forward, warps_backward;
  for (int pass = 0; pass < 2; ++pass) {
    for (int t = 0; t < 64; ++t) thread_order.push_back(t);
  }
  for (int warp : {0, 1}) {
    for (int pass = 0; pass < 2; ++pass) {
      for (int l = 0; l < 32; ++l) warps_forward.push_back(warp * 32 + l);
    }
  }
  warps_backward.assign(warps_forward.begin() + 64, warps_forward.end());
  warps_backward.insert(warps_backward.end(), warps_forward.begin(), warps_forward.begin() + 64);
  CHECK(std::vector<int>(logs.begin(), logs.begin() + 128) == thread_order);
  CHECK(std::vector<int>(logs.begin() + 128, logs.begin() + 256) == warps_forward);
  CHECK(std::vector<int>(logs.begin() + 256, logs.end()) == warps_backward);
}

TEST_CASE("emulator: a correct reduction gives the same bits under every schedule",
          "[emulated][emulator]") {
  // Every block gets the same 64 values, so blocks 0, 1 and 2 (thread order, warps forward,
  // warps backward) must agree bitwise, and the CPU computes the same fixed-order sums.
  std::vector<float> in(3 * 64), sums(6);
  for (int i = 0; i < 3 * 64; ++i) in[i] = std::sin(float(i % 64)) / 3.f;
  launch("sum_and_squares", sum_and_squares<true>, dim3(3), dim3(64), in.data(), sums.data());
  for (int b = 1; b < 3; ++b) {
    CHECK(std::memcmp(&sums[2 * b], &sums[0], 2 * sizeof(float)) == 0);
  }
  float sum = 0.f;
  for (int i = 0; i < 64; ++i) sum += in[i];
  CHECK(sums[0] == Approx(sum).margin(1e-6));
}

TEST_CASE("emulator: MINIDL_EMULATOR_SCHEDULE forces one schedule on every block",
          "[emulated][emulator]") {
  std::vector<int> logs(3 * 128, -1), lengths(3, 0);
  setenv("MINIDL_EMULATOR_SCHEDULE", "warps-backward", 1);
  launch("log_order", log_order, dim3(3), dim3(64), logs.data(), lengths.data());
  setenv("MINIDL_EMULATOR_SCHEDULE", "sideways", 1);
  const auto unknown = [&] {
    launch("log_order", log_order, dim3(1), dim3(64), logs.data(), lengths.data());
  };
  CHECK_THROWS_WITH(unknown(), Catch::Contains("MINIDL_EMULATOR_SCHEDULE=sideways"));
  unsetenv("MINIDL_EMULATOR_SCHEDULE");
  for (int b = 0; b < 3; ++b) {
    CHECK(logs[b * 128] == 32);  // the last warp ran first
    CHECK(logs[b * 128 + 64] == 0);
  }
}

TEST_CASE("emulator: out-of-bounds shared memory is an error naming kernel and thread",
          "[emulated][emulator]") {
  std::vector<float> out(1);
  REQUIRE_THROWS_WITH(launch("read_past_the_end", read_past_the_end, dim3(1), dim3(33), out.data()),
                      Catch::Contains("emulated kernel read_past_the_end") &&
                          Catch::Contains("thread (32,0,0)") &&
                          Catch::Contains("shared array 'slots' indexed at 32, outside [0, 32)"));
}

TEST_CASE("emulator: a barrier not reached by every thread is an error", "[emulated][emulator]") {
  std::vector<float> out(32);
  REQUIRE_THROWS_WITH(launch("divergent_barrier", divergent_barrier, dim3(1), dim3(32), out.data()),
                      Catch::Contains("barrier divergence") && Catch::Contains("block (0,0,0)"));
}

TEST_CASE("emulator: warp shuffles reduce across lanes", "[emulated][emulator]") {
  std::vector<float> in(2 * 64), sums(4, 0.f), maxima(32);
  for (size_t i = 0; i < in.size(); ++i) in[i] = float(i % 37);
  launch("warp_sum", warp_sum, dim3(2), dim3(64), in.data(), sums.data());
  for (int w = 0; w < 4; ++w) {
    float expected = 0.f;
    for (int l = 0; l < 32; ++l) expected += in[w * 32 + l];
    CHECK(sums[w] == expected);
  }
  launch("butterfly_max", butterfly_max, dim3(1), dim3(32), in.data() + 5, maxima.data());
  for (float v : maxima) CHECK(v == 36.f);
}
