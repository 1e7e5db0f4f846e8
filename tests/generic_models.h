// Two small models on data that is not CIFAR-10, trained end to end through the generic
// DataLoader (issue #19): a regression MLP on synthetic points (TensorDataset with targets,
// ops::mse_loss), a CNN on generated 1-channel 28x28 images of four kinds of stroke
// (TensorDataset with labels), and a denoiser of those images whose last step takes two inputs
// (SkipMerge: a module with a forward of its own signature). The CPU suite trains them to a bar
// (tests/test_generic_training.cpp); the CUDA suites run a few steps on the device, under the
// emulator in every `make test` (tests/test_cuda_generic_training.cpp).
#pragma once

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "minidl/core/minidl.h"
#include "minidl/data/batch_upload.h"
#include "minidl/data/dataset.h"
#include "minidl/data/loader.h"
#include "minidl/layers/layers.h"
#include "minidl/optim/optimizer.h"

namespace generic {

using namespace minidl;

struct Losses {
  double first_epoch = 0, last_epoch = 0;  // mean training loss of the first and last epoch
  double accuracy = -1;                    // on held-out data, for the classifier
};

// y = 0.5 sin(pi x0) + x1^2 for x in [-1, 1]^2: nonlinear, so the hidden layers must work.
inline TensorDataset make_points(int count, uint64_t seed) {
  Generator gen(seed);
  const Tensor x = Tensor::uniform({count, 2}, -1.f, 1.f, gen);
  Tensor y = Tensor::empty({count, 1});
  for (int i = 0; i < count; ++i) {
    const float a = x.at({i, 0}), b = x.at({i, 1});
    y.set({i, 0}, 0.5f * std::sin(3.14159265f * a) + b * b);
  }
  return TensorDataset(x, y);
}

// SGD with momentum on `net` for `epochs` of `loader`, each batch uploaded; `loss_of` gives a
// batch's loss. Returns the mean loss of the first and of the last epoch.
template <class Net, class LossOf>
Losses train(Net& net, DataLoader& loader, BatchUploader& uploader, int epochs, LossOf loss_of) {
  SGD sgd(net.parameters(), SgdOptions(0.05f).momentum(0.9f));
  Losses losses;
  Batch batch;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double sum = 0;
    for (loader.start_epoch(epoch); loader.next(batch);) {
      const Tensor loss = loss_of(uploader.upload(batch));
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      sum += loss.item();
    }
    (epoch == 0 ? losses.first_epoch : losses.last_epoch) = sum / loader.batches_per_epoch();
  }
  return losses;
}

inline Losses train_regression(Device device, int points, int epochs) {
  const TensorDataset data = make_points(points, 11);
  DataLoader loader(data, LoaderOptions().batch_size(32).seed(1));
  Generator init(3);
  Sequential net(std::make_shared<Linear>(2, 32, true, init), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(32, 32, true, init), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(32, 1, true, init));
  net.to(device);
  BatchUploader uploader(device, 1);
  Losses losses = train(net, loader, uploader, epochs, [&](const DeviceBatch& b) {
    return ops::mse_loss(net(b.inputs), b.targets);
  });
  return losses;
}

// Image i: kind i % 4 (a horizontal line, a vertical line, a filled square, a diagonal) at a
// random place, bright on a dark background with noise of sd `noise_sd` (none when 0).
struct Strokes {
  Tensor images;  // [count, 1, 28, 28]
  std::vector<int> labels;
};
inline Strokes draw_strokes(int count, uint64_t seed, float noise_sd) {
  Generator gen(seed);
  Strokes out{noise_sd > 0 ? Tensor::normal({count, 1, 28, 28}, 0.f, noise_sd, gen)
                           : Tensor::zeros({count, 1, 28, 28}),
              std::vector<int>(static_cast<size_t>(count))};
  Tensor& images = out.images;
  for (int i = 0; i < count; ++i) {
    const int kind = i % 4;
    out.labels[size_t(i)] = kind;
    const int at = std::uniform_int_distribution<int>(4, 23)(gen.engine());
    for (int t = 2; t < 26; ++t) {
      if (kind == 0) images.set({i, 0, at, t}, 1.5f);
      if (kind == 1) images.set({i, 0, t, at}, 1.5f);
      if (kind == 3) images.set({i, 0, t, t}, 1.5f);
    }
    if (kind == 2) {
      for (int r = at - 4; r < at + 4; ++r)
        for (int c = at - 4; c < at + 4; ++c) images.set({i, 0, r, c}, 1.5f);
    }
  }
  return out;
}
inline TensorDataset make_strokes(int count, uint64_t seed) {
  Strokes strokes = draw_strokes(count, seed, 0.2f);
  return TensorDataset(strokes.images, strokes.labels);
}

inline Losses train_strokes(Device device, int images, int epochs, int test_images) {
  const TensorDataset train_data = make_strokes(images, 21),
                      test_data = make_strokes(test_images, 22);
  DataLoader loader(train_data, LoaderOptions().batch_size(32).seed(2));
  Generator init(5);
  Sequential net(std::make_shared<Conv2d>(Conv2dOptions{1, 8, 3, 1, 1}, init),
                 std::make_shared<BatchNorm2d>(8), std::make_shared<ReLU>(),
                 std::make_shared<MaxPool2d>(2, 2),
                 std::make_shared<Conv2d>(Conv2dOptions{8, 16, 3, 1, 1}, init),
                 std::make_shared<BatchNorm2d>(16), std::make_shared<ReLU>(),
                 std::make_shared<MaxPool2d>(2, 2), std::make_shared<GlobalAvgPool>(),
                 std::make_shared<Linear>(16, 4, true, init));
  net.to(device);
  BatchUploader uploader(device, 4);
  Losses losses = train(net, loader, uploader, epochs, [&](const DeviceBatch& b) {
    return ops::softmax_cross_entropy(net(b.inputs), b.labels);
  });
  if (test_images > 0) {
    net.eval();
    NoGradGuard no_grad;
    Batch batch;
    DataLoader held_out(test_data, LoaderOptions().batch_size(64).shuffle(false));
    double correct = 0;
    for (held_out.start_epoch(0); held_out.next(batch);) {
      const DeviceBatch b = uploader.upload(batch);
      correct += ops::count_correct(net(b.inputs), b.labels).item();
    }
    losses.accuracy = correct / test_images;
  }
  return losses;
}

// A step with two inputs, as a U-Net's decoder has: its own features and the encoder's skip at
// the same resolution, joined along the channels (ops::cat) and mixed by a 3x3 convolution.
// It defines forward(x, skip). `using Module::forward` keeps the one-input form in view (it is
// Module's Error), so that compilers do not warn that the new forward hides it.
class SkipMerge : public Module {
 public:
  SkipMerge(int x_channels, int skip_channels, int out_channels, Generator& init)
      : conv_(register_module(
            "conv",
            std::make_shared<Conv2d>(
                Conv2dOptions{x_channels + skip_channels, out_channels, 3, 1, 1, true}, init))) {}
  using Module::forward;
  Tensor forward(const Tensor& x, const Tensor& skip) {
    return conv_->forward(ops::cat({x, skip}, 1));
  }
  std::string describe() const override { return "SkipMerge"; }

 private:
  std::shared_ptr<Conv2d> conv_;
};

// Noisy stroke image -> clean image: an encoder, a middle, and a SkipMerge of the middle's
// output with the encoder's.
class SkipDenoiser : public Module {
 public:
  explicit SkipDenoiser(Generator& init)
      : encoder_(register_module("encoder", conv_relu(1, 8, init))),
        middle_(register_module("middle", conv_relu(8, 8, init))),
        merge_(register_module("merge", std::make_shared<SkipMerge>(8, 8, 1, init))) {}
  Tensor forward(const Tensor& x) override {
    const Tensor skip = encoder_->forward(x);
    return merge_->forward(middle_->forward(skip), skip);
  }
  std::string describe() const override { return "SkipDenoiser"; }

 private:
  static std::shared_ptr<Sequential> conv_relu(int in, int out, Generator& init) {
    return std::make_shared<Sequential>(
        std::make_shared<Conv2d>(Conv2dOptions{in, out, 3, 1, 1, true}, init),
        std::make_shared<ReLU>());
  }
  std::shared_ptr<Sequential> encoder_, middle_;
  std::shared_ptr<SkipMerge> merge_;
};

// The denoiser on `images` clean strokes under noise of sd 0.5. Losses::accuracy holds the MSE
// of answering all zeros (the clean images' mean square): the bar to beat.
inline Losses train_denoiser(Device device, int images, int epochs) {
  const Tensor clean = draw_strokes(images, 31, 0.f).images;
  Generator noise(32);
  const Tensor noisy = ops::add(clean, Tensor::normal(clean.shape(), 0.f, 0.5f, noise));
  const TensorDataset data(noisy, clean);
  DataLoader loader(data, LoaderOptions().batch_size(16).seed(3));
  Generator init(7);
  SkipDenoiser net(init);
  net.to(device);
  BatchUploader uploader(device, 1);
  Losses losses = train(net, loader, uploader, epochs, [&](const DeviceBatch& b) {
    return ops::mse_loss(net(b.inputs), b.targets);
  });
  losses.accuracy = ops::mean(ops::mul(clean, clean)).item();
  return losses;
}

}  // namespace generic
