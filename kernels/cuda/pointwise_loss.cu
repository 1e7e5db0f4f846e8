// CUDA pointwise losses (MSE, L1, BCE with logits), mean reduction.
//
// Forward: one block of 256 threads, as the sum kernel of elementwise.cu: thread t adds the
// losses of elements t, t + 256, ..., computed on the fly (no buffer of n losses), then
// block_sum (reduce.cuh) combines the 256 partial sums in a fixed order and thread 0 writes the
// mean. No atomics, so the loss is bitwise the same from run to run. One block uses one SM: a
// loss reads each element once, and the tensors it sees are small next to a convolution's.
//
// Backward: elementwise, a grid-stride loop over the n elements writing both gradients;
// grad_loss[0] is read by every thread from device memory, so the host never waits.
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/pointwise_loss.h"

namespace minidl::kernels::cuda {

namespace {

__global__ void pointwise_loss_mean_kernel(PointwiseLoss loss, int64_t n, const float* input,
                                           const float* target, float* mean_loss) {
  float partial = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    partial += pointwise_loss_value(loss, input[i], target[i]);
  }
  const float total = block_sum(partial);
  if (threadIdx.x == 0) mean_loss[0] = total / float(n);
}

__global__ void pointwise_loss_backward_kernel(PointwiseLoss loss, int64_t n, const float* input,
                                               const float* target, const float* grad_loss,
                                               float* grad_input, float* grad_target) {
  const float per_element = grad_loss[0] / float(n);
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    grad_input[i] = per_element * pointwise_loss_grad_input(loss, input[i], target[i]);
    grad_target[i] = per_element * pointwise_loss_grad_target(loss, input[i], target[i]);
  }
}

}  // namespace

void pointwise_loss_forward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                            float* mean_loss) {
  launch("pointwise_loss_forward", pointwise_loss_mean_kernel, dim3(1), kBlockSize, loss, n, input,
         target, mean_loss);
}

void pointwise_loss_backward(PointwiseLoss loss, int64_t n, const float* input, const float* target,
                             const float* grad_loss, float* grad_input, float* grad_target) {
  launch("pointwise_loss_backward", pointwise_loss_backward_kernel, grid_for(n), kBlockSize, loss,
         n, input, target, grad_loss, grad_input, grad_target);
}

}  // namespace minidl::kernels::cuda
