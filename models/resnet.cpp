#include "minidl/models/resnet.h"

#include "minidl/core/error.h"

namespace minidl {

ResNet::ResNet(const ResNetConfig& config, Generator& gen) : config_(config) {
  MINIDL_CHECK(config.stem == "7x7" || config.stem == "3x3", "ResNet", "unknown stem '",
               config.stem, "' (expected 7x7 or 3x3)");
  MINIDL_CHECK(!config.widths.empty() && config.widths.size() == config.blocks.size(), "ResNet",
               "need one width per stage and one block count per stage, got ", config.widths.size(),
               " widths and ", config.blocks.size(), " block counts");

  const bool big_stem = config.stem == "7x7";
  const int stem_width = config.widths[0];
  stem_ = register_module("stem", std::make_shared<Sequential>());
  stem_->add(
      std::make_shared<Conv2d>(Conv2dOptions{config.in_channels, stem_width, big_stem ? 7 : 3,
                                             big_stem ? 2 : 1, big_stem ? 3 : 1},
                               gen));
  stem_->add(std::make_shared<BatchNorm2d>(stem_width));
  stem_->add(std::make_shared<ReLU>());

  // Stage s halves the resolution (except the first) and widens to widths[s].
  stages_ = register_module("stages", std::make_shared<Sequential>());
  int channels = stem_width;
  for (size_t s = 0; s < config.widths.size(); ++s) {
    MINIDL_CHECK(config.blocks[s] >= 1, "ResNet", "stage ", s, " needs at least one block");
    for (int b = 0; b < config.blocks[s]; ++b) {
      const int stride = (s > 0 && b == 0) ? 2 : 1;
      stages_->add(std::make_shared<BasicBlock>(channels, config.widths[s], stride, gen));
      channels = config.widths[s];
    }
  }

  head_ = register_module("head", std::make_shared<Sequential>());
  head_->add(std::make_shared<GlobalAvgPool>());
  if (config.dropout > 0.f) head_->add(std::make_shared<Dropout>(config.dropout));
  head_->add(std::make_shared<Linear>(channels, config.num_classes, true, gen));
}

Tensor ResNet::forward(const Tensor& x) {
  return head_->forward(stages_->forward(stem_->forward(x)));
}

}  // namespace minidl
