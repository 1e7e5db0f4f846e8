// Test-time augmentation: a classifier's logits averaged over several views of each image, the
// largest single gain in the fast CIFAR-10 recipes (David Page measured about +0.5% for the
// mirror alone; airbench adds two translated views). Any model that maps [N, C, H, W] to
// logits works.
#pragma once

#include "minidl/core/tensor.h"
#include "minidl/layers/module.h"

namespace minidl {

struct TtaOptions {
  bool flip = true;   // each view also seen mirrored left to right (ops::flip along width)
  int translate = 0;  // > 0: two more views, shifted by (+t, +t) and (-t, -t) pixels
};

// The views of images [N, C, H, W] are the images and, with translate = t, the images shifted
// by t pixels down-right and up-left, their uncovered edge filled by reflection (so nothing
// black enters, as PyTorch's 'reflect' padding followed by a crop); with flip, each view's
// mirror too. The result is the mean of the untranslated views' logits, or, with translate,
// half that plus half the mean over the translated views (airbench's weighting).
// The model is called as it is: put it in eval mode first. No graph is recorded.
// Errors: images not of rank 4, translate < 0 or not smaller than the height and width.
Tensor tta_logits(Module& model, const Tensor& images, const TtaOptions& options = {});

// images shifted by (dy, dx) pixels (positive: down and right), the uncovered rows and
// columns filled with the reflection of the image's edge: out(y, x) = in(y - dy, x - dx),
// reflected back inside at the border. |dy| < H and |dx| < W (else an Error). Recorded for
// autograd, on any device: it is made of ops::narrow, ops::flip and ops::cat.
Tensor translate_reflect(const Tensor& images, int dy, int dx);

}  // namespace minidl
