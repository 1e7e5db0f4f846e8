// FastNet: the network of the time-to-accuracy presets (issue #20), an airbench-class VGG for
// 3x32x32 images at full resolution from a whitened stem. With FastNetConfig{} (fast94),
// 1,971,640 parameters, 288 of them the frozen whitening filters:
//   whiten   conv 2x2, 3 -> 24, bias, no padding; GELU                     24 x 31 x 31
//   group1   conv 3x3 24 -> 64, max pool 2, BN, GELU, conv 3x3, BN, GELU  64 x 15 x 15
//   group2   the same, 64 -> 256                                          256 x  7 x  7
//   group3   the same, 256 -> 256                                         256 x  3 x  3
//   head     max pool 3, linear 256 -> 10 without bias, times 1/9 (logits)
// The 3x3 convolutions start from PyTorch's default init (uniform, fan in) and have no bias;
// batch norms have a frozen scale of 1 and a learned bias (BatchNormAffine::Frozen), momentum
// 0.4 in PyTorch's convention (airbench's 0.6 in its own) and eps 1e-12. Pooling before the
// batch norm makes each group's BN, GELU and second convolution run on a quarter of the pixels.
// Before training, as the recipes do: init_whitening(images) from a few thousand training
// images (the stem is then frozen but for its bias) and init_dirac() (every 3x3 convolution
// starts as an identity where its channels allow).
#pragma once

#include <memory>
#include <vector>

#include "minidl/layers/layers.h"

namespace minidl {

struct FastNetConfig {
  int whiten_kernel = 2;                     // the stem's patch size
  std::vector<int> widths = {64, 256, 256};  // channels of each conv group
  float batch_norm_momentum = 0.4f;
  float batch_norm_eps = 1e-12f;
  float output_scale = 1.f / 9.f;  // multiplies the logits: a cooler softmax at the start
  int in_channels = 3;
  int num_classes = 10;
};

class FastNet : public Module {
 public:
  // Errors: an empty widths, a non-positive width or whiten_kernel.
  explicit FastNet(const FastNetConfig& config = {}, Generator& gen = default_generator());
  // x [N, in_channels, 32, 32] -> logits [N, num_classes]. Other sizes work when the last
  // group's output is 3x3 or larger (its final pool takes a 3x3 window).
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "FastNet"; }
  const FastNetConfig& config() const { return config_; }

  // The stem's weight from init::patch_whitening(images, whiten_kernel, eps), then frozen
  // (requires_grad off: decay_groups leaves it out); its bias stays trainable. `images` are
  // normalized CPU images [N, C, H, W]; the model may be on any device.
  void init_whitening(const Tensor& images, float eps = 5e-4f);
  // init::dirac_ on every 3x3 convolution (CPU weights: call before moving the model).
  void init_dirac();
  // The stem convolution, for a recipe that freezes its bias later.
  Conv2d& whiten() { return *whiten_; }

 private:
  FastNetConfig config_;
  std::shared_ptr<Conv2d> whiten_;
  std::shared_ptr<Sequential> body_;
  std::shared_ptr<Linear> classifier_;
  std::vector<std::shared_ptr<Conv2d>> convs_;  // the 3x3 ones, in order
};

}  // namespace minidl
