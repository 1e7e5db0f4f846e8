// CUDA batch normalization over x viewed as [batch, channels, spatial].
//
// Decomposition. The training forward and both backward passes need per-channel sums over the
// channel's M = batch * spatial values, so they use one 256-thread block per channel (blocks
// walk the channels with a stride of gridDim.x when there are more than 65535). Inside a
// block, value j of the channel (j in [0, M)) lives at
//   x[((j / spatial) * channels + c) * spatial + j % spatial]
// and thread t visits j = t, t + 256, t + 512, ..., adding into a float register; the block
// then combines its 256 partial sums with a fixed-order tree (block_sum: a shuffle tree in each
// warp, then one more across the warps). There are no atomics, so every sum, and therefore
// every output, is bitwise the same from run to run.
//
// Memory access. Consecutive threads take consecutive j, which are consecutive addresses
// inside one spatial plane: coalesced for conv feature maps (spatial = H*W). For [N, C] input
// (spatial = 1) consecutive j are `channels` floats apart, so those loads are strided; that
// case is small (the classifier head), and the layout is the caller's.
// The forward pass reads x three times (mean, squared deviations, normalize) and writes y
// once; the two-pass variance is the numerically stable one (E[x^2] - E[x]^2 cancels when the
// mean is large compared to the spread). A channel's values are only touched by its own block,
// so y may alias x and dx may alias dy.
//
// The eval forward is elementwise (grid-stride over all N*C*spatial values, like
// elementwise.cu): with running statistics there is nothing to reduce.
#include "kernels/batch_norm.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"

namespace minidl::kernels::cuda {

namespace {

// Flat index of the j-th value of channel c.
__device__ int64_t channel_value(int64_t j, int64_t c, int64_t channels, int64_t spatial) {
  return ((j / spatial) * channels + c) * spatial + j % spatial;
}

__global__ void forward_train_kernel(BatchNormShape s, const float* x, const float* gamma,
                                     const float* beta, float eps, float momentum, float* y,
                                     float* save_mean, float* save_invstd, float* running_mean,
                                     float* running_var) {
  const int64_t count = s.batch * s.spatial;
  for (int64_t c = blockIdx.x; c < s.channels; c += gridDim.x) {
    float partial = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      partial += x[channel_value(j, c, s.channels, s.spatial)];
    }
    const float mean = block_sum(partial) / float(count);

    partial = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const float d = x[channel_value(j, c, s.channels, s.spatial)] - mean;
      partial += d * d;
    }
    const float squares = block_sum(partial);
    const float var = squares / float(count);  // biased: what normalization uses
    const float invstd = 1.f / sqrtf(var + eps);

    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t i = channel_value(j, c, s.channels, s.spatial);
      y[i] = (x[i] - mean) * invstd * g + b;
    }
    if (threadIdx.x == 0) {
      save_mean[c] = mean;
      save_invstd[c] = invstd;
      if (running_mean && running_var) {
        const float unbiased = count > 1 ? squares / float(count - 1) : var;
        running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * mean;
        running_var[c] = (1.f - momentum) * running_var[c] + momentum * unbiased;
      }
    }
  }
}

__global__ void forward_eval_kernel(BatchNormShape s, const float* x, const float* gamma,
                                    const float* beta, const float* running_mean,
                                    const float* running_var, float eps, float* y) {
  const int64_t n = s.batch * s.channels * s.spatial;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / s.spatial) % s.channels;
    const float invstd = 1.f / sqrtf(running_var[c] + eps);
    const float g = gamma ? gamma[c] : 1.f, b = beta ? beta[c] : 0.f;
    y[i] = (x[i] - running_mean[c]) * invstd * g + b;
  }
}

// With xhat = (x - mean) * invstd, per channel over its M values:
//   dbeta = sum(dy),  dgamma = sum(dy * xhat),
//   dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma).
__global__ void backward_kernel(BatchNormShape s, const float* dy, const float* x,
                                const float* gamma, const float* save_mean,
                                const float* save_invstd, float* dx, float* dgamma,
                                float* dbeta) {
  const int64_t count = s.batch * s.spatial;
  for (int64_t c = blockIdx.x; c < s.channels; c += gridDim.x) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    float partial_dy = 0.f, partial_dy_xhat = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t i = channel_value(j, c, s.channels, s.spatial);
      partial_dy += dy[i];
      partial_dy_xhat += dy[i] * (x[i] - mean) * invstd;
    }
    const float sum_dy = block_sum(partial_dy);
    const float sum_dy_xhat = block_sum(partial_dy_xhat);

    const float g = gamma ? gamma[c] : 1.f;
    const float k = g * invstd / float(count);
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t i = channel_value(j, c, s.channels, s.spatial);
      const float xhat = (x[i] - mean) * invstd;
      dx[i] = k * (float(count) * dy[i] - sum_dy - xhat * sum_dy_xhat);
    }
    if (threadIdx.x == 0) {
      if (dgamma) dgamma[c] = sum_dy_xhat;
      if (dbeta) dbeta[c] = sum_dy;
    }
  }
}

// Backward of the eval forward: the statistics are constants, so dx = dy * gamma * invstd is
// elementwise; the block per channel is only there for the dgamma and dbeta sums.
__global__ void backward_eval_kernel(BatchNormShape s, const float* dy, const float* x,
                                     const float* gamma, const float* running_mean,
                                     const float* running_var, float eps, float* dx,
                                     float* dgamma, float* dbeta) {
  const int64_t count = s.batch * s.spatial;
  for (int64_t c = blockIdx.x; c < s.channels; c += gridDim.x) {
    const float invstd = 1.f / sqrtf(running_var[c] + eps);
    const float mean = running_mean[c];
    const float g = gamma ? gamma[c] : 1.f;
    float partial_dy = 0.f, partial_dy_xhat = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
      const int64_t i = channel_value(j, c, s.channels, s.spatial);
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

// One block per channel, at most 65535 blocks (the kernels stride over the rest).
dim3 grid_per_channel(const BatchNormShape& s) { return grid_for(s.channels, 1); }

}  // namespace

void batch_norm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                              const float* beta, float eps, float momentum, float* y,
                              float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var) {
  launch("batch_norm_forward_train", forward_train_kernel, grid_per_channel(s), kBlockSize, s,
         x, gamma, beta, eps, momentum, y, save_mean, save_invstd, running_mean, running_var);
}

void batch_norm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, const float* running_mean,
                             const float* running_var, float eps, float* y) {
  launch("batch_norm_forward_eval", forward_eval_kernel,
         grid_for(s.batch * s.channels * s.spatial), kBlockSize, s, x, gamma, beta,
         running_mean, running_var, eps, y);
}

void batch_norm_backward(const BatchNormShape& s, const float* dy, const float* x,
                         const float* gamma, const float* save_mean, const float* save_invstd,
                         float* dx, float* dgamma, float* dbeta) {
  launch("batch_norm_backward", backward_kernel, grid_per_channel(s), kBlockSize, s, dy, x,
         gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

void batch_norm_backward_eval(const BatchNormShape& s, const float* dy, const float* x,
                              const float* gamma, const float* running_mean,
                              const float* running_var, float eps, float* dx, float* dgamma,
                              float* dbeta) {
  launch("batch_norm_backward_eval", backward_eval_kernel, grid_per_channel(s), kBlockSize, s,
         dy, x, gamma, running_mean, running_var, eps, dx, dgamma, dbeta);
}

}  // namespace minidl::kernels::cuda
