// CUDA softmax and log-softmax along one dimension, viewed as [outer, size, inner].
//
// Decomposition: one warp per row, as the fused softmax cross-entropy (softmax_cross_entropy.cu):
// a 256-thread block holds 8 warps, so 8 rows, and the warps of the grid stride over the rows
// when there are more. Lane l handles elements l, l + 32, l + 64, ... of its row, so any size
// works. The forward pass reads the row three times: the lanes' maxima, combined across the warp
// with a __shfl_xor_sync tree (warp_max); their sums of exp(x - max), combined the same way
// (warp_sum); then the outputs. The backward pass reads it twice: the row's sum (of dy * y, or
// of dy for log-softmax), then the gradients. No shared memory, no atomics: bitwise the same
// from run to run.
//
// Memory access: along the last dimension (inner = 1) a warp reads 32 consecutive floats, one
// coalesced 128-byte line per step. Along another dimension its lanes read floats `inner` apart,
// a line per lane; a thread per row would coalesce there instead (neighbouring rows are
// neighbouring floats). One kernel is kept for both: softmax is mostly taken over the last
// dimension (classes), and the strided case is still right, only slower.
#include <cmath>

#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/softmax.h"

namespace minidl::kernels::cuda {

namespace {

constexpr int kRowsPerBlock = kBlockSize / kWarpSize;

__device__ inline int64_t row_start(int64_t row, int64_t size, int64_t inner) {
  return (row / inner) * size * inner + row % inner;
}

// `row` is the same for the 32 lanes of a warp, so every lane reaches every shuffle.
__global__ void softmax_forward_kernel(int64_t rows, int64_t size, int64_t inner, bool log,
                                       const float* x, float* y) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t warps = grid_stride() / kWarpSize;
  for (int64_t row = first_index() / kWarpSize; row < rows; row += warps) {
    const float* in = x + row_start(row, size, inner);
    float* out = y + row_start(row, size, inner);

    float lane_max = -INFINITY;
    for (int64_t k = lane; k < size; k += kWarpSize) lane_max = fmaxf(lane_max, in[k * inner]);
    const float max_x = warp_max(lane_max);

    float lane_sum = 0.f;
    for (int64_t k = lane; k < size; k += kWarpSize) lane_sum += expf(in[k * inner] - max_x);
    const float exp_sum = warp_sum(lane_sum);

    const float log_sum = logf(exp_sum), inverse = 1.f / exp_sum;
    for (int64_t k = lane; k < size; k += kWarpSize) {
      const float shifted = in[k * inner] - max_x;
      out[k * inner] = log ? shifted - log_sum : expf(shifted) * inverse;
    }
  }
}

__global__ void softmax_backward_kernel(int64_t rows, int64_t size, int64_t inner, bool log,
                                        const float* y, const float* dy, float* dx) {
  const int lane = threadIdx.x % kWarpSize;
  const int64_t warps = grid_stride() / kWarpSize;
  for (int64_t row = first_index() / kWarpSize; row < rows; row += warps) {
    const int64_t start = row_start(row, size, inner);
    const float *out = y + start, *grad_out = dy + start;
    float* grad_in = dx + start;

    float lane_dot = 0.f;
    for (int64_t k = lane; k < size; k += kWarpSize) {
      lane_dot += grad_out[k * inner] * (log ? 1.f : out[k * inner]);
    }
    const float total = warp_sum(lane_dot);

    for (int64_t k = lane; k < size; k += kWarpSize) {
      const int64_t e = k * inner;
      grad_in[e] = log ? grad_out[e] - expf(out[e]) * total : out[e] * (grad_out[e] - total);
    }
  }
}

}  // namespace

void softmax_forward(int64_t outer, int64_t size, int64_t inner, bool log, const float* x,
                     float* y) {
  const int64_t rows = outer * inner;
  launch("softmax_forward", softmax_forward_kernel, grid_for(rows, kRowsPerBlock), kBlockSize, rows,
         size, inner, log, x, y);
}

void softmax_backward(int64_t outer, int64_t size, int64_t inner, bool log, const float* y,
                      const float* dy, float* dx) {
  const int64_t rows = outer * inner;
  launch("softmax_backward", softmax_backward_kernel, grid_for(rows, kRowsPerBlock), kBlockSize,
         rows, size, inner, log, y, dy, dx);
}

}  // namespace minidl::kernels::cuda
