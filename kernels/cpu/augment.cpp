// CPU batches of augmented images: a loop over the batch's images, each one's choices drawn
// once (augment_draw), then every output element from the shared formula (augment_value in
// kernels/augment.h, which the CUDA kernel uses too).
#include "minidl/kernels/augment.h"

namespace minidl::kernels::cpu {

void augment_batch(const AugmentParams& p, const uint8_t* images, const int32_t* labels,
                   const int64_t* indices, float* out, int32_t* out_labels) {
  const int64_t image_size = int64_t(p.channels) * p.height * p.width;
#pragma omp parallel for schedule(static) if (p.count * image_size >= (1 << 16))
  for (int64_t b = 0; b < p.count; ++b) {
    const int64_t image = indices[b];
    const AugmentDraw d = augment_draw(p, image);
    const uint8_t* in = images + image * image_size;
    float* o = out + b * image_size;
    for (int c = 0; c < p.channels; ++c)
      for (int y = 0; y < p.height; ++y)
        for (int x = 0; x < p.width; ++x) *o++ = augment_value(p, in, d, c, y, x);
    out_labels[b] = labels[image];
  }
}

}  // namespace minidl::kernels::cpu
