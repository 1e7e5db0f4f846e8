// CUDA parameter updates (SGD with momentum / Nesterov, Adam / AdamW), with exactly the
// formulas of kernels/cpu/optimizer.cpp.
//
// Decomposition. Adam: one launch per parameter tensor, a 1-D grid of 256-thread blocks
// walking its n floats with a grid-stride loop (thread t of the grid updates t, t + G, ...),
// as in elementwise.cu. SGD: one launch for up to kMaxTensors tensors. Each tensor is cut into
// chunks of kChunk floats, a block per chunk; the kernel argument carries the tensors'
// pointers and, per tensor, the index of its first block, so block b finds its tensor by a
// short scan. Every parameter is independent: no communication between threads.
//
// Memory access. Consecutive threads touch consecutive floats of every array, so each warp
// access is one coalesced 128-byte transaction. The work is a handful of flops per element:
// SGD reads param, grad and the momentum buffer and writes two of them; Adam reads four arrays
// and writes three. Each value is loaded into a register once and stored once.
//
// Whatever does not depend on the element (Adam's bias corrections 1 - beta^t) is computed once
// on the host in the entry function, the same way as the CPU version, and passed in.
#include <cmath>

#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/optimizer.h"

namespace minidl::kernels::cuda {

namespace {

constexpr int kMaxTensors = 32;
constexpr int64_t kChunk = 16 * kBlockSize;  // floats per block: 16 per thread

// What one SGD launch updates (passed by value as the kernel argument: about 1.2 KB).
struct SgdBatch {
  SgdTensor tensors[kMaxTensors];
  int first_block[kMaxTensors + 1];  // tensor k owns blocks first_block[k] .. first_block[k+1)
  int count;
};

__global__ void sgd_kernel(SgdHyper h, SgdBatch batch) {
  int k = 0;
  while (int(blockIdx.x) >= batch.first_block[k + 1]) ++k;
  const SgdTensor& t = batch.tensors[k];
  const int64_t begin = int64_t(blockIdx.x - batch.first_block[k]) * kChunk;
  const int64_t end = begin + kChunk < t.n ? begin + kChunk : t.n;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) sgd_update_element(h, t, i);
}

// m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
// p -= step_size * m / (sqrt(v) / sqrt(1 - b2^t) + eps),  step_size = lr / (1 - b1^t).
// AdamW decays the parameter itself first; Adam adds the decay to the gradient.
__global__ void adam_kernel(int64_t n, AdamHyper h, AdamStep c, float* param, const float* grad,
                            float* m, float* v) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    adam_update_element(h, c, param, grad, m, v, i);
  }
}

}  // namespace

void sgd_update(const SgdHyper& h, const SgdTensor* tensors, int count) {
  for (int first = 0; first < count; first += kMaxTensors) {
    SgdBatch batch{};
    batch.count = count - first < kMaxTensors ? count - first : kMaxTensors;
    for (int k = 0; k < batch.count; ++k) {
      batch.tensors[k] = tensors[first + k];
      const int64_t chunks = (batch.tensors[k].n + kChunk - 1) / kChunk;
      batch.first_block[k + 1] = batch.first_block[k] + static_cast<int>(chunks);
    }
    const int blocks = batch.first_block[batch.count];
    if (blocks > 0) launch("sgd_update", sgd_kernel, dim3(blocks), kBlockSize, h, batch);
  }
}

void adam_update(int64_t n, const AdamHyper& h, float* param, const float* grad, float* m,
                 float* v) {
  launch("adam_update", adam_kernel, grid_for(n), kBlockSize, n, h, adam_step(h), param, grad, m,
         v);
}

}  // namespace minidl::kernels::cuda
