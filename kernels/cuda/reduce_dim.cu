// CUDA sum along one dimension, viewed as [outer, size, inner], and its broadcast back.
//
// sum_dim: one block of 256 threads per output, as channel_sum in elementwise.cu (blocks stride
// over the outputs when there are more than the grid holds): thread t adds elements t, t + 256,
// ... of its output's `size`, then block_sum (reduce.cuh) combines the partial sums in a fixed
// order. No atomics: bitwise the same from run to run. Along the last dimension a warp reads
// consecutive floats; along another they are `inner` apart. A block per output wastes threads
// when `size` is small (a sum over 10 classes keeps 10 of 256 busy); a thread per output would
// suit that case and starve the other (one long row, one thread). One kernel is kept.
//
// broadcast_dim: elementwise, a grid-stride loop over the gradient's elements.
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/reduce_dim.h"

namespace minidl::kernels::cuda {

namespace {

// `r` is the same for every thread of the block, so all of them reach block_sum's barriers.
__global__ void sum_dim_kernel(int64_t outer, int64_t size, int64_t inner, const float* x,
                               float* out) {
  for (int64_t r = blockIdx.x; r < outer * inner; r += gridDim.x) {
    const float* row = x + (r / inner) * size * inner + r % inner;
    float partial = 0.f;
    for (int64_t k = threadIdx.x; k < size; k += blockDim.x) partial += row[k * inner];
    const float total = block_sum(partial);
    if (threadIdx.x == 0) out[r] = total;
  }
}

__global__ void broadcast_dim_kernel(int64_t n, int64_t size, int64_t inner, const float* g,
                                     float* dx) {
  for (int64_t e = first_index(); e < n; e += grid_stride()) {
    dx[e] = g[(e / (size * inner)) * inner + e % inner];
  }
}

}  // namespace

void sum_dim(int64_t outer, int64_t size, int64_t inner, const float* x, float* out) {
  launch("sum_dim", sum_dim_kernel, grid_for(outer * inner, 1), kBlockSize, outer, size, inner, x,
         out);
}

void broadcast_dim(int64_t outer, int64_t size, int64_t inner, const float* g, float* dx) {
  const int64_t n = outer * size * inner;
  launch("broadcast_dim", broadcast_dim_kernel, grid_for(n), kBlockSize, n, size, inner, g, dx);
}

}  // namespace minidl::kernels::cuda
