#include "minidl/models/basic_block.h"

namespace minidl {

BasicBlock::BasicBlock(int in_channels, int out_channels, int stride, Generator& gen)
    : in_channels_(in_channels), out_channels_(out_channels), stride_(stride) {
  conv1_ = register_module(
      "conv1",
      std::make_shared<Conv2d>(Conv2dOptions{in_channels, out_channels, 3, stride, 1}, gen));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(out_channels));
  conv2_ = register_module(
      "conv2", std::make_shared<Conv2d>(Conv2dOptions{out_channels, out_channels, 3, 1, 1}, gen));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    shortcut_conv_ = register_module(
        "shortcut_conv",
        std::make_shared<Conv2d>(Conv2dOptions{in_channels, out_channels, 1, stride, 0}, gen));
    shortcut_bn_ = register_module("shortcut_bn", std::make_shared<BatchNorm2d>(out_channels));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  const Tensor out = bn1_->forward_relu(conv1_->forward(x));
  const Tensor shortcut = shortcut_conv_ ? shortcut_bn_->forward(shortcut_conv_->forward(x)) : x;
  return bn2_->forward_relu(conv2_->forward(out), shortcut);  // relu(bn2(conv2(out)) + shortcut)
}

std::string BasicBlock::describe() const {
  return "BasicBlock(" + std::to_string(in_channels_) + ", " + std::to_string(out_channels_) +
         ", stride=" + std::to_string(stride_) + (shortcut_conv_ ? ", projection)" : ")");
}

}  // namespace minidl
