// CUDA fused softmax + cross-entropy (with label smoothing) over logits [batch, classes].
//
// Decomposition. The forward pass gives one warp per row (a 256-thread block holds 8 warps,
// so 8 rows; the warps of the grid stride over the rows when there are more). Lane l of the
// warp handles classes l, l + 32, l + 64, ..., so any number of classes works, 10 or 1000.
// The row is read three times:
//   1. each lane's maximum, combined across the warp with a __shfl_xor_sync tree;
//   2. each lane's sum of exp(z - max) and of (z - max), combined the same way;
//   3. probs = exp(z - max) / sum, written back.
// Lane 0 then writes the row's loss. The loss is computed from the shifted logits,
//   loss = log(sum_k exp(z_k - max)) - sum_k target_k (z_k - max),
// which equals logsumexp(z) - target . z because the targets sum to 1, but never adds the
// (possibly large) max to a term only to subtract it again.
// A second kernel, a single block, sums row_loss: thread t adds rows t, t + 256, ... in order,
// then the block combines the 256 partial sums with a fixed tree and writes the mean. Nothing
// uses atomics, so the loss is bitwise the same from run to run (an atomicAdd of the row
// losses would not be: float addition is not associative and the order would vary).
//
// Memory access. A warp's 32 lanes read 32 consecutive logits of its row: one coalesced
// 128-byte line per step (rows of 10 classes use 10 lanes and leave the rest idle, which is
// fine for a kernel that moves 10 floats per image). Passes 2 and 3 hit L1/L2.
//
// The backward pass is elementwise (grid-stride over batch * classes, as elementwise.cu):
// dlogits = grad_loss / batch * (probs - target), with grad_loss read from device memory by
// every thread, so the host never waits for the forward's result.
#include <cmath>

#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/softmax_cross_entropy.h"

namespace minidl::kernels::cuda {

namespace {

constexpr int kRowsPerBlock = kBlockSize / kWarpSize;

// `row` is the same for all 32 lanes of a warp, so every lane reaches every shuffle.
__global__ void forward_rows_kernel(int batch, int classes, const float* logits,
                                    const int32_t* labels, float smoothing, float* probs,
                                    float* row_loss) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t warps = grid_stride() / kWarpSize;
  for (int64_t row = first_index() / kWarpSize; row < batch; row += warps) {
    const float* z = logits + row * classes;
    float* p = probs + row * classes;

    float lane_max = -INFINITY;
    for (int k = lane; k < classes; k += kWarpSize) lane_max = fmaxf(lane_max, z[k]);
    const float max_z = warp_max(lane_max);

    float lane_exp = 0.f, lane_shifted = 0.f;
    for (int k = lane; k < classes; k += kWarpSize) {
      lane_exp += expf(z[k] - max_z);
      lane_shifted += z[k] - max_z;
    }
    const float exp_sum = warp_sum(lane_exp), shifted_sum = warp_sum(lane_shifted);

    for (int k = lane; k < classes; k += kWarpSize) p[k] = expf(z[k] - max_z) / exp_sum;
    if (lane == 0) {
      const float target_dot_shifted =
          (1.f - smoothing) * (z[labels[row]] - max_z) + smoothing * shifted_sum / classes;
      row_loss[row] = logf(exp_sum) - target_dot_shifted;
    }
  }
}

// Launched with one block: a fixed summation order, independent of the grid.
__global__ void mean_loss_kernel(int batch, const float* row_loss, float* loss) {
  float partial = 0.f;
  for (int n = threadIdx.x; n < batch; n += blockDim.x) partial += row_loss[n];
  const float total = block_sum(partial);
  if (threadIdx.x == 0) loss[0] = total / float(batch);
}

__global__ void backward_kernel(int batch, int classes, const float* probs, const int32_t* labels,
                                float smoothing, const float* grad_loss, float* dlogits) {
  const float per_row = grad_loss[0] / batch;
  const float off_target = smoothing / classes;
  const int64_t n = int64_t(batch) * classes;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t row = i / classes;
    const int k = int(i % classes);
    const float target = off_target + (k == labels[row] ? 1.f - smoothing : 0.f);
    dlogits[i] = per_row * (probs[i] - target);
  }
}

}  // namespace

void softmax_cross_entropy_forward(int batch, int classes, const float* logits,
                                   const int32_t* labels, float smoothing, float* probs,
                                   float* row_loss, float* loss) {
  launch("softmax_cross_entropy_forward", forward_rows_kernel, grid_for(batch, kRowsPerBlock),
         kBlockSize, batch, classes, logits, labels, smoothing, probs, row_loss);
  launch("softmax_cross_entropy_mean", mean_loss_kernel, dim3(1), kBlockSize, batch, row_loss,
         loss);
}

void softmax_cross_entropy_backward(int batch, int classes, const float* probs,
                                    const int32_t* labels, float smoothing, const float* grad_loss,
                                    float* dlogits) {
  launch("softmax_cross_entropy_backward", backward_kernel, grid_for(int64_t(batch) * classes),
         kBlockSize, batch, classes, probs, labels, smoothing, grad_loss, dlogits);
}

// One block: thread t judges rows t, t + 256, ... (first maximum, as the CPU does), then the
// block adds the 256 counts with the fixed tree of block_sum. The count stays on the device,
// so a training loop can total its accuracy without waiting for the GPU every step.
__global__ void count_correct_kernel(int batch, int classes, const float* logits,
                                     const int32_t* labels, float* correct) {
  float count = 0.f;
  for (int n = threadIdx.x; n < batch; n += blockDim.x) {
    const float* row = logits + int64_t(n) * classes;
    int best = 0;
    for (int k = 1; k < classes; ++k) best = row[k] > row[best] ? k : best;
    count += best == labels[n] ? 1.f : 0.f;
  }
  const float total = block_sum(count);
  if (threadIdx.x == 0) correct[0] = total;
}

void count_correct(int batch, int classes, const float* logits, const int32_t* labels,
                   float* correct) {
  launch("count_correct", count_correct_kernel, dim3(1), kBlockSize, batch, classes, logits, labels,
         correct);
}

}  // namespace minidl::kernels::cuda
