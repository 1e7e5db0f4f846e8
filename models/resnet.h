// The CIFAR-10 ResNet of docs/design.md, section 2 (the reference model), and the config that
// builds its variants.
//
// Reference (ResNetConfig{} as is), for 3x32x32 inputs, 4,910,922 parameters:
//   stem    conv 7x7/2, 64, padding 3 -> BN -> ReLU                     64 x 16 x 16
//   stage1  BasicBlock 64 -> 64                                         64 x 16 x 16
//   stage2  BasicBlock 64 -> 128, stride 2, 1x1 projection + BN       128 x  8 x  8
//   stage3  BasicBlock 128 -> 256, stride 2, projection               256 x  4 x  4
//   stage4  BasicBlock 256 -> 512, stride 2, projection               512 x  2 x  2
//   head    global average pool -> (dropout) -> linear 512 -> 10 (logits; the loss applies
//           softmax cross-entropy)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "minidl/layers/layers.h"
#include "minidl/models/basic_block.h"

namespace minidl {

struct ResNetConfig {
  // "7x7": conv 7x7 stride 2 padding 3 (the reference). "3x3": conv 3x3 stride 1 padding 1,
  // which keeps 32x32 in stage 1 (4x the compute, usually more accurate).
  std::string stem = "7x7";
  std::vector<int> widths = {64, 128, 256, 512};  // channels of each stage
  std::vector<int> blocks = {1, 1, 1, 1};         // BasicBlocks per stage
  float dropout = 0.f;                            // before the classifier; 0 = none
  int in_channels = 3;
  int num_classes = 10;
};

class ResNet : public Module {
 public:
  // Errors: a stem other than "7x7" or "3x3"; widths empty or of another length than blocks;
  // a stage with no block.
  explicit ResNet(const ResNetConfig& config = {}, Generator& gen = default_generator());
  // x [N, in_channels, H, W] -> logits [N, num_classes] (H, W: 32 for CIFAR-10; any size
  // that survives the strides works, since the head pools globally).
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ResNet"; }
  const ResNetConfig& config() const { return config_; }

 private:
  ResNetConfig config_;
  std::shared_ptr<Sequential> stem_, stages_, head_;
};

}  // namespace minidl
