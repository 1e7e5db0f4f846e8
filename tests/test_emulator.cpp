// The CPU emulator of the CUDA execution model itself (kernels/cuda/emulator/): per-thread
// built-ins, __syncthreads() as a real barrier, NaN-filled shared memory, bounds checks,
// barrier divergence, warp shuffles. Only built into the emulated test binary.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/cuda/launch.cuh"

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
  out[threadIdx.x] = slots[(threadIdx.x + 1) % blockDim.x];
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
    for (int thread = 0; thread < 20; ++thread) REQUIRE(out[block * 20 + thread] == block * 1000 + thread);
  }
}

TEST_CASE("emulator: __syncthreads is a real barrier and shared memory starts as NaN", "[emulated][emulator]") {
  std::vector<float> out(64, -1.f);
  launch("rotate", rotate<true>, dim3(2), dim3(64), out.data());
  for (int t = 0; t < 64; ++t) REQUIRE(out[t] == float((t + 1) % 64));
  // Without the barrier, a thread reads its neighbour's slot before the neighbour wrote it:
  // the NaN fill makes the bug visible instead of reading a stale, plausible value.
  launch("rotate_without_barrier", rotate<false>, dim3(2), dim3(64), out.data());
  int nans = 0;
  for (float v : out) nans += std::isnan(v);
  CHECK(nans > 0);
}

TEST_CASE("emulator: out-of-bounds shared memory is an error naming kernel and thread", "[emulated][emulator]") {
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
