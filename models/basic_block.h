// The ResNet's building block (models/resnet.h stacks them): a model-level composition of
// layers, so it lives with the models, not among the layers.
#pragma once

#include <memory>
#include <string>

#include "minidl/core/random.h"
#include "minidl/layers/layers.h"

namespace minidl {

// The residual block of ResNet-18/34:
//   out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
// shortcut(x) = x when the shape is kept; a 1x1 convolution with the block's stride followed
// by BatchNorm (a "projection") when the stride or the channel count changes.
class BasicBlock : public Module {
 public:
  BasicBlock(int in_channels, int out_channels, int stride, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int in_channels_, out_channels_, stride_;
  std::shared_ptr<Conv2d> conv1_, conv2_, shortcut_conv_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_, shortcut_bn_;
};

}  // namespace minidl
