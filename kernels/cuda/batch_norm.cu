// CUDA batch normalization over x viewed as [batch, channels, spatial], with the optional
// epilogue (residual add, ReLU) of kernels/batch_norm.h fused into the pass that writes y.
//
// Decomposition: chunks. A channel's M = batch * spatial values are numbered j = 0 .. M-1
// (value j lives at x[((j / spatial) * channels + c) * spatial + j % spatial], so consecutive
// j are consecutive addresses inside one plane: coalesced). Each channel is cut into chunks of
// kChunk = 256 threads x 8 values, and a launch has one block per (chunk, channel): grid
// (chunks, channels). One block per channel, the first design, gave only 64 blocks to a
// 132-SM GPU for the 64-channel layers (whose channels hold the most values) and left most
// of the memory bandwidth idle.
//
// Training forward, two launches:
//   1. statistics: a block loads its chunk into registers (8 values per thread), sums it
//      (block_sum) to get the chunk's mean, then sums squared deviations from that mean out
//      of the same registers: the chunk's (mean, M2) from one read of x, and the two-pass
//      formula inside the chunk keeps it stable.
//   2. apply: every block of channel c first merges the channel's chunk moments (Chan et al.'s
//      pairwise update, in a fixed order by warp 0), so all of them compute bitwise the same
//      mean and invstd with no third launch; block 0 of the channel saves them and updates the
//      running statistics; then each block writes y for its chunk with the epilogue.
// Backward, two launches of the same shape: per-chunk sums of dz and dz * xhat (dz: dy masked
// by the ReLU), then every block merges them (fixed order) and writes dx and the residual's
// gradient for its chunk; block 0 of the channel writes dgamma and dbeta.
// No atomics anywhere, so results are bitwise reproducible. A value is read and written by one
// thread only, so y may alias x and dx may alias dy.
//
// The eval forward is elementwise (running statistics, nothing to reduce); its backward keeps
// one block per channel for the dgamma/dbeta sums (it is rarely used: fine-tuning with frozen
// statistics).
#include <stdexcept>
#include <string>

#include "minidl/kernels/batch_norm.h"
#include "minidl/kernels/cuda/fast_divmod.cuh"
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"

namespace minidl::kernels::cuda {

namespace {

constexpr int kValuesPerThread = 8;
constexpr int kChunk = kBlockSize * kValuesPerThread;

int chunks_per_channel(const BatchNormShape& s) {
  return static_cast<int>((s.count() + kChunk - 1) / kChunk);
}

// Value j of channel c -> its flat index, with the division by `spatial` done by multiply.
struct ChannelIndex {
  FastDivmod spatial;
  int64_t channels;
  __device__ int64_t operator()(int j, int64_t c) const {
    int image, position;
    spatial.divmod(j, image, position);
    return (image * channels + c) * spatial.divisor() + position;
  }
};

// How many of a channel's `count` values chunk k holds (the last one may be partial).
__device__ int values_in_chunk(int k, int count) {
  const int left = count - k * kChunk;
  return left < kChunk ? left : kChunk;
}

// The j of the k-th value this thread handles in its block's chunk.
__device__ int chunk_value(int k) { return blockIdx.x * kChunk + k * kBlockSize + threadIdx.x; }

// Count, mean and sum of squared deviations (M2) of a set of values.
struct Moments {
  float count = 0.f, mean = 0.f, m2 = 0.f;
};

// The moments of the union of two disjoint sets (Chan, Golub and LeVeque, 1979).
__device__ Moments merge(const Moments& a, const Moments& b) {
  const float total = a.count + b.count;
  if (b.count == 0.f) return a;
  const float delta = b.mean - a.mean, b_share = b.count / total;
  return {total, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * a.count * b_share};
}

__global__ void statistics_kernel(BatchNormShape s, ChannelIndex index, const float* x,
                                  float* partials) {
  const int count = static_cast<int>(s.count());
  for (int64_t c = blockIdx.y; c < s.channels; c += gridDim.y) {
    float values[kValuesPerThread];
    float partial = 0.f;
    MINIDL_UNROLL
    for (int k = 0; k < kValuesPerThread; ++k) {
      const int j = chunk_value(k);
      values[k] = j < count ? x[index(j, c)] : 0.f;
      partial += values[k];
    }
    const int in_chunk = values_in_chunk(blockIdx.x, count);
    const float mean = block_sum(partial) / float(in_chunk);
    partial = 0.f;
    MINIDL_UNROLL
    for (int k = 0; k < kValuesPerThread; ++k) {
      const float d = values[k] - mean;
      if (chunk_value(k) < count) partial += d * d;
    }
    const float m2 = block_sum(partial);
    if (threadIdx.x == 0) {
      float* out = partials + (c * gridDim.x + blockIdx.x) * 2;
      out[0] = mean;
      out[1] = m2;
    }
  }
}

// Warp 0 only: the moments of channel c merged from its chunks in a fixed order (lane l takes
// chunks l, l + 32, ...; then a shuffle tree towards lane 0). Valid in lane 0.
__device__ Moments channel_moments(const float* partials, int64_t c, int count) {
  const int chunks = gridDim.x;
  Moments m;
  for (int k = threadIdx.x; k < chunks; k += kWarpSize) {
    const float* p = partials + (c * chunks + k) * 2;
    m = merge(m, Moments{float(values_in_chunk(k, count)), p[0], p[1]});
  }
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const Moments other{__shfl_down_sync(kFullWarp, m.count, offset),
                        __shfl_down_sync(kFullWarp, m.mean, offset),
                        __shfl_down_sync(kFullWarp, m.m2, offset)};
    if (int(threadIdx.x) + offset < kWarpSize) m = merge(m, other);
  }
  return m;
}

__global__ void forward_apply_kernel(BatchNormShape s, ChannelIndex index, const float* x,
                                     const float* gamma, const float* beta,
                                     BatchNormEpilogue epilogue, float eps, float momentum,
                                     const float* partials, float* y, float* save_mean,
                                     float* save_invstd, float* running_mean, float* running_var) {
  MINIDL_SHARED(float, mean_and_scale, 2);
  const int count = static_cast<int>(s.count());
  for (int64_t c = blockIdx.y; c < s.channels; c += gridDim.y) {
    if (threadIdx.x < kWarpSize) {
      const Moments m = channel_moments(partials, c, count);
      if (threadIdx.x == 0) {
        const float var = m.m2 / float(count);  // biased: what normalization uses
        const float invstd = 1.f / sqrtf(var + eps);
        mean_and_scale[0] = m.mean;
        mean_and_scale[1] = (gamma ? gamma[c] : 1.f) * invstd;
        if (blockIdx.x == 0) {
          save_mean[c] = m.mean;
          save_invstd[c] = invstd;
          if (running_mean && running_var) {
            const float unbiased = m.m2 / float(count - 1);
            running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * m.mean;
            running_var[c] = (1.f - momentum) * running_var[c] + momentum * unbiased;
          }
        }
      }
    }
    __syncthreads();
    const float mean = mean_and_scale[0], scale = mean_and_scale[1];
    const float b = beta ? beta[c] : 0.f;
    MINIDL_UNROLL
    for (int k = 0; k < kValuesPerThread; ++k) {
      const int j = chunk_value(k);
      if (j < count) {
        const int64_t i = index(j, c);
        const float residual = epilogue.residual ? epilogue.residual[i] : 0.f;
        y[i] = batch_norm_output(x[i], mean, scale, b, residual, epilogue.relu);
      }
    }
    __syncthreads();  // everyone has read mean_and_scale before the next channel's overwrite
  }
}

__global__ void forward_eval_kernel(BatchNormShape s, const float* x, const float* gamma,
                                    const float* beta, BatchNormEpilogue epilogue,
                                    const float* running_mean, const float* running_var, float eps,
                                    float* y) {
  const int64_t n = s.batch * s.channels * s.spatial;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t c = (i / s.spatial) % s.channels;
    const float scale = (gamma ? gamma[c] : 1.f) / sqrtf(running_var[c] + eps);
    const float residual = epilogue.residual ? epilogue.residual[i] : 0.f;
    y[i] = batch_norm_output(x[i], running_mean[c], scale, beta ? beta[c] : 0.f, residual,
                             epilogue.relu);
  }
}

// Per chunk: sum(dz) and sum(dz * xhat), dz being dy masked by the ReLU.
__global__ void backward_sums_kernel(BatchNormShape s, ChannelIndex index, const float* dy,
                                     const float* x, const float* save_mean,
                                     const float* save_invstd, const float* relu_output,
                                     float* partials) {
  const int count = static_cast<int>(s.count());
  for (int64_t c = blockIdx.y; c < s.channels; c += gridDim.y) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    float partial_dz = 0.f, partial_dz_xhat = 0.f;
    MINIDL_UNROLL
    for (int k = 0; k < kValuesPerThread; ++k) {
      const int j = chunk_value(k);
      if (j < count) {
        const int64_t i = index(j, c);
        const float dz = batch_norm_masked_grad(dy[i], relu_output, i);
        partial_dz += dz;
        partial_dz_xhat += dz * (x[i] - mean) * invstd;
      }
    }
    const float sum_dz = block_sum(partial_dz);
    const float sum_dz_xhat = block_sum(partial_dz_xhat);
    if (threadIdx.x == 0) {
      float* out = partials + (c * gridDim.x + blockIdx.x) * 2;
      out[0] = sum_dz;
      out[1] = sum_dz_xhat;
    }
  }
}

// With xhat = (x - mean) * invstd, per channel over its M values:
//   dbeta = sum(dz),  dgamma = sum(dz * xhat),  dresidual = dz,
//   dx = gamma * invstd / M * (M * dz - dbeta - xhat * dgamma).
__global__ void backward_apply_kernel(BatchNormShape s, ChannelIndex index, const float* dy,
                                      const float* x, const float* gamma, const float* save_mean,
                                      const float* save_invstd, const float* relu_output,
                                      const float* partials, float* dx, float* residual_grad,
                                      float* dgamma, float* dbeta) {
  MINIDL_SHARED(float, totals, 2);
  const int count = static_cast<int>(s.count());
  const int chunks = gridDim.x;
  for (int64_t c = blockIdx.y; c < s.channels; c += gridDim.y) {
    if (threadIdx.x < kWarpSize) {
      float sum_dz = 0.f, sum_dz_xhat = 0.f;
      for (int k = threadIdx.x; k < chunks; k += kWarpSize) {
        sum_dz += partials[(c * chunks + k) * 2];
        sum_dz_xhat += partials[(c * chunks + k) * 2 + 1];
      }
      sum_dz = warp_sum(sum_dz);
      sum_dz_xhat = warp_sum(sum_dz_xhat);
      if (threadIdx.x == 0) {
        totals[0] = sum_dz;
        totals[1] = sum_dz_xhat;
        if (blockIdx.x == 0 && dgamma) dgamma[c] = sum_dz_xhat;
        if (blockIdx.x == 0 && dbeta) dbeta[c] = sum_dz;
      }
    }
    __syncthreads();
    const float sum_dz = totals[0], sum_dz_xhat = totals[1];
    const float mean = save_mean[c], invstd = save_invstd[c];
    const float k_scale = (gamma ? gamma[c] : 1.f) * invstd / float(count);
    MINIDL_UNROLL
    for (int k = 0; k < kValuesPerThread; ++k) {
      const int j = chunk_value(k);
      if (j < count) {
        const int64_t i = index(j, c);
        const float dz = batch_norm_masked_grad(dy[i], relu_output, i);
        const float xhat = (x[i] - mean) * invstd;
        dx[i] = k_scale * (float(count) * dz - sum_dz - xhat * sum_dz_xhat);
        if (residual_grad) residual_grad[i] = dz;
      }
    }
    __syncthreads();  // everyone has read totals before the next channel's overwrite
  }
}

// Backward of the eval forward: the statistics are constants, so dx = dy * gamma * invstd is
// elementwise; the block per channel is only there for the dgamma and dbeta sums.
__global__ void backward_eval_kernel(BatchNormShape s, const float* dy, const float* x,
                                     const float* gamma, const float* running_mean,
                                     const float* running_var, float eps, float* dx, float* dgamma,
                                     float* dbeta) {
  const int64_t count = s.batch * s.spatial;
  for (int64_t c = blockIdx.x; c < s.channels; c += gridDim.x) {
    const float invstd = 1.f / sqrtf(running_var[c] + eps);
    const float mean = running_mean[c];
    const float g = gamma ? gamma[c] : 1.f;
    float partial_dy = 0.f, partial_dy_xhat = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t i = ((j / s.spatial) * s.channels + c) * s.spatial + j % s.spatial;
      const float d = dy[i];  // read before the write: dx may alias dy
      partial_dy += d;
      partial_dy_xhat += d * (x[i] - mean) * invstd;
      dx[i] = d * g * invstd;
    }
    const float sum_dy = block_sum(partial_dy);
    const float sum_dy_xhat = block_sum(partial_dy_xhat);
    if (threadIdx.x == 0) {
      if (dgamma) dgamma[c] = sum_dy_xhat;
      if (dbeta) dbeta[c] = sum_dy;
    }
  }
}

// The (chunks, channels) grid of the training passes, after checking what they rely on.
dim3 chunk_grid(const char* name, const BatchNormShape& s, const float* workspace) {
  if (s.count() >= (int64_t(1) << 31)) {
    throw std::invalid_argument(std::string(name) + ": a channel holds " +
                                std::to_string(s.count()) + " values; at most 2^31 - 1 supported");
  }
  if (workspace == nullptr) {
    throw std::invalid_argument(std::string(name) + ": needs a workspace of " +
                                std::to_string(batch_norm_workspace(s)) + " floats, got none");
  }
  return dim3(unsigned(chunks_per_channel(s)), unsigned(std::min<int64_t>(s.channels, 65535)));
}

ChannelIndex channel_index(const BatchNormShape& s) {
  return ChannelIndex{FastDivmod(static_cast<int>(s.spatial)), s.channels};
}

}  // namespace

int64_t batch_norm_workspace(const BatchNormShape& s) {
  return s.channels * chunks_per_channel(s) * 2;
}

void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, const BatchNormEpilogue& epilogue, float eps,
                              float momentum, float* y, float* save_mean, float* save_invstd,
                              float* running_mean, float* running_var, float* workspace) {
  const dim3 grid = chunk_grid("batch_norm_forward_train", s, workspace);
  const ChannelIndex index = channel_index(s);
  launch("batch_norm_statistics", statistics_kernel, grid, kBlockSize, s, index, x, workspace);
  launch("batch_norm_forward_apply", forward_apply_kernel, grid, kBlockSize, s, index, x, gamma,
         beta, epilogue, eps, momentum, static_cast<const float*>(workspace), y, save_mean,
         save_invstd, running_mean, running_var);
}

void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const BatchNormEpilogue& epilogue,
                             const float* running_mean, const float* running_var, float eps,
                             float* y) {
  launch("batch_norm_forward_eval", forward_eval_kernel, grid_for(s.batch * s.channels * s.spatial),
         kBlockSize, s, x, gamma, beta, epilogue, running_mean, running_var, eps, y);
}

void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         const float* relu_output, float* dx, float* residual_grad, float* dgamma,
                         float* dbeta, float* workspace) {
  const dim3 grid = chunk_grid("batch_norm_backward", s, workspace);
  const ChannelIndex index = channel_index(s);
  launch("batch_norm_backward_sums", backward_sums_kernel, grid, kBlockSize, s, index, dy, x,
         save_mean, save_invstd, relu_output, workspace);
  launch("batch_norm_backward_apply", backward_apply_kernel, grid, kBlockSize, s, index, dy, x,
         gamma, save_mean, save_invstd, relu_output, static_cast<const float*>(workspace), dx,
         residual_grad, dgamma, dbeta);
}

void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta, float*) {
  launch("batch_norm_backward_eval", backward_eval_kernel, grid_for(s.channels, 1), kBlockSize, s,
         dy, x, gamma, running_mean, running_var, eps, dx, dgamma, dbeta);
}

}  // namespace minidl::kernels::cuda
