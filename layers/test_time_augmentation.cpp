#include "minidl/layers/test_time_augmentation.h"

#include <cstdlib>
#include <vector>

#include "minidl/core/autograd.h"
#include "minidl/core/error.h"
#include "minidl/ops/ops.h"

namespace minidl {

namespace {

// x shifted by `shift` along `dim` (size n), reflected at the border: pad |shift| reflected
// indices on the side the content moves away from, then keep n of them. With n = 5 and
// shift 2: in 0 1 2 3 4 -> padded 2 1 0 1 2 3 4 -> out 2 1 0 1 2.
Tensor shift_reflect(const Tensor& x, int64_t dim, int shift) {
  if (shift == 0) return x;
  const int64_t n = x.size(dim), s = std::abs(shift);
  if (shift > 0) {  // content moves toward higher indices: reflect the low edge (indices 1..s)
    const Tensor pad = ops::flip(ops::narrow(x, dim, 1, s), dim);
    return ops::cat({pad, ops::narrow(x, dim, 0, n - s)}, dim);
  }
  // content moves toward lower indices: reflect the high edge (indices n-1-s .. n-2)
  const Tensor pad = ops::flip(ops::narrow(x, dim, n - 1 - s, s), dim);
  return ops::cat({ops::narrow(x, dim, s, n - s), pad}, dim);
}

// The mean of the model's logits over `views`, each also mirrored when `flip`.
Tensor mean_logits(Module& model, const std::vector<Tensor>& views, bool flip) {
  Tensor sum;
  int count = 0;
  for (const Tensor& view : views) {
    for (int mirrored = 0; mirrored <= int(flip); ++mirrored) {
      const Tensor logits = model(mirrored ? ops::flip(view, 3) : view);
      sum = sum.defined() ? ops::add(sum, logits) : logits;
      ++count;
    }
  }
  return ops::scale(sum, 1.f / float(count));
}

}  // namespace

Tensor translate_reflect(const Tensor& images, int dy, int dx) {
  MINIDL_CHECK(images.dim() == 4, "translate_reflect", "expects images [N, C, H, W], got ",
               images.shape_str());
  MINIDL_CHECK(std::abs(dy) < images.size(2) && std::abs(dx) < images.size(3), "translate_reflect",
               "shift (", dy, ", ", dx, ") must be smaller than the images' ", images.size(2), "x",
               images.size(3), " in each direction");
  return shift_reflect(shift_reflect(images, 2, dy), 3, dx);
}

Tensor tta_logits(Module& model, const Tensor& images, const TtaOptions& options) {
  MINIDL_CHECK(images.dim() == 4, "tta_logits", "expects images [N, C, H, W], got ",
               images.shape_str());
  const int t = options.translate;
  MINIDL_CHECK(t >= 0 && t < images.size(2) && t < images.size(3), "tta_logits", "translate ", t,
               " must be >= 0 and smaller than the images' ", images.size(2), "x", images.size(3));
  NoGradGuard no_grad;
  const Tensor plain = mean_logits(model, {images}, options.flip);
  if (t == 0) return plain;
  const Tensor shifted = mean_logits(
      model, {translate_reflect(images, t, t), translate_reflect(images, -t, -t)}, options.flip);
  return ops::add(ops::scale(plain, 0.5f), ops::scale(shifted, 0.5f));
}

}  // namespace minidl
