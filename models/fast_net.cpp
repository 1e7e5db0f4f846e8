#include "minidl/models/fast_net.h"

#include "minidl/core/error.h"
#include "minidl/layers/init.h"
#include "minidl/ops/ops.h"

namespace minidl {

FastNet::FastNet(const FastNetConfig& config, Generator& gen) : config_(config) {
  MINIDL_CHECK(!config.widths.empty(), "FastNet", "widths must name at least one conv group");
  MINIDL_CHECK(config.whiten_kernel >= 1, "FastNet", "whiten_kernel must be positive, got ",
               config.whiten_kernel);
  const int k = config.whiten_kernel;
  const int stem_width = 2 * config.in_channels * k * k;  // the filters and their negatives
  whiten_ = register_module(
      "whiten",
      std::make_shared<Conv2d>(Conv2dOptions{config.in_channels, stem_width, k, 1, 0, true}, gen));

  const BatchNorm2dOptions norm{0, config.batch_norm_momentum, config.batch_norm_eps,
                                BatchNormAffine::Frozen};
  body_ = register_module("body", std::make_shared<Sequential>());
  body_->add(std::make_shared<GELU>());
  int channels = stem_width;
  for (int width : config.widths) {
    MINIDL_CHECK(width > 0, "FastNet", "every width must be positive, got ", width);
    BatchNorm2dOptions group_norm = norm;
    group_norm.channels = width;
    auto first = std::make_shared<Conv2d>(Conv2dOptions{channels, width, 3, 1, 1}, gen);
    auto second = std::make_shared<Conv2d>(Conv2dOptions{width, width, 3, 1, 1}, gen);
    // PyTorch's default convolution init, uniform(+-1/sqrt(fan_in)), as airbench trains from,
    // in place of Conv2d's He-normal (fan_out): that one is 1.5-2.5x larger here, and with
    // batch-normed (scale-invariant) weights under weight decay the size of the weights sets
    // the effective step size of the first epochs, for which the recipe's lr was tuned.
    for (Conv2d* conv : {first.get(), second.get()}) {
      conv->weight.copy_(
          init::uniform_fan_in(conv->weight.shape(), int64_t(conv->weight.size(1)) * 9, gen));
    }
    body_->add(first)
        .add(std::make_shared<MaxPool2d>(2, 2))
        .add(std::make_shared<BatchNorm2d>(group_norm))
        .add(std::make_shared<GELU>())
        .add(second)
        .add(std::make_shared<BatchNorm2d>(group_norm))
        .add(std::make_shared<GELU>());
    convs_.push_back(first);
    convs_.push_back(second);
    channels = width;
  }
  body_->add(std::make_shared<MaxPool2d>(3, 3)).add(std::make_shared<Flatten>());
  classifier_ = register_module("classifier",
                                std::make_shared<Linear>(channels, config.num_classes, false, gen));
}

Tensor FastNet::forward(const Tensor& x) {
  const Tensor logits = classifier_->forward(body_->forward(whiten_->forward(x)));
  return ops::scale(logits, config_.output_scale);
}

void FastNet::init_whitening(const Tensor& images, float eps) {
  const Tensor weight = init::patch_whitening(images, config_.whiten_kernel, eps);
  whiten_->weight.copy_(weight);
  whiten_->weight.set_requires_grad(false);
}

void FastNet::init_dirac() {
  for (auto& conv : convs_) init::dirac_(conv->weight);
}

}  // namespace minidl
