// CUDA batches of augmented images: one thread per output element in a grid-stride loop, so a
// warp writes 32 consecutive floats of one image row. Each thread recomputes its image's
// choices (augment_draw: three 64-bit hashes, a few dozen integer instructions) rather than
// reading them from a table that another kernel would have to write first. The formulas are
// the CPU kernel's (kernels/augment.h), so both give the same bits.
#include "minidl/kernels/augment.h"
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"

namespace minidl::kernels::cuda {

namespace {

__global__ void augment_batch_kernel(AugmentParams p, const uint8_t* images, const int32_t* labels,
                                     const int64_t* indices, float* out, int32_t* out_labels) {
  const int64_t plane = int64_t(p.height) * p.width, image_size = p.channels * plane;
  const int64_t n = p.count * image_size;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t b = i / image_size, within = i - b * image_size;
    const int c = int(within / plane);
    const int y = int((within - c * plane) / p.width), x = int(within % p.width);
    const int64_t image = indices[b];
    const AugmentDraw d = augment_draw(p, image);
    out[i] = augment_value(p, images + image * image_size, d, c, y, x);
    if (within == 0) out_labels[b] = labels[image];
  }
}

}  // namespace

void augment_batch(const AugmentParams& p, const uint8_t* images, const int32_t* labels,
                   const int64_t* indices, float* out, int32_t* out_labels) {
  const int64_t n = p.count * p.channels * int64_t(p.height) * p.width;
  if (n == 0) return;
  launch("augment_batch", augment_batch_kernel, grid_for(n), kBlockSize, p, images, labels, indices,
         out, out_labels);
}

}  // namespace minidl::kernels::cuda
