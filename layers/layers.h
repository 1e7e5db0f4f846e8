// The layers: thin Modules over the functional ops of ops/ops.h. Each holds its parameters
// and options; forward() calls one op (two for BatchNorm's buffers). Constructors refuse
// sizes that are not positive (an Error naming the layer); forward() has the shapes and the
// errors of the op it calls (ops/ops.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "minidl/core/random.h"
#include "minidl/layers/module.h"

namespace minidl {

struct Conv2dOptions {
  int in_channels, out_channels, kernel;
  int stride = 1, padding = 0;
  bool bias = false;  // convolutions followed by BatchNorm need none
};

// ops::conv2d: [N, in_channels, H, W] -> [N, out_channels, (H + 2 padding - kernel) / stride
// + 1, ...]; weight [out_channels, in_channels, kernel, kernel].
class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias;  // bias undefined unless options.bias

 private:
  Conv2dOptions options_;
};

// ops::linear: [N, in_features] -> [N, out_features]; weight [out_features, in_features].
class Linear : public Module {
 public:
  Linear(int in_features, int out_features, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Tensor weight, bias;

 private:
  int in_features_, out_features_;
};

// What BatchNorm2d does with its affine transform gamma * x_hat + beta:
//   Learned  gamma and beta are parameters (the default, PyTorch's affine=True);
//   Frozen   gamma stays 1, a buffer (saved, never trained or decayed); beta is learned, as in
//            the fast CIFAR-10 networks (airbench), which gain nothing from a trained scale;
//   None     neither: the normalized x_hat itself (PyTorch's affine=False).
enum class BatchNormAffine { Learned, Frozen, None };

// An aggregate: BatchNorm2dOptions{64} or, in C++20, {.channels = 64, .momentum = 0.4f}.
struct BatchNorm2dOptions {
  int channels;
  float momentum = 0.1f;  // running = (1 - momentum) running + momentum batch
  float eps = 1e-5f;
  BatchNormAffine affine = BatchNormAffine::Learned;
};

// ops::batch_norm over [N, channels, H, W] (or [N, channels]): batch statistics in training
// mode (updating running_mean and running_var), the running ones in eval mode. Errors:
// channels <= 0, momentum outside [0, 1], eps <= 0 (or not finite), naming the layer.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(const BatchNorm2dOptions& options);
  explicit BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f)
      : BatchNorm2d(BatchNorm2dOptions{channels, momentum, eps}) {}
  Tensor forward(const Tensor& x) override;
  // relu(forward(x) + residual) (no residual when undefined) in one fused op.
  Tensor forward_relu(const Tensor& x, const Tensor& residual = Tensor());
  std::string describe() const override;
  // weight = gamma, bias = beta: both undefined with BatchNormAffine::None.
  Tensor weight, bias, running_mean, running_var;

 private:
  BatchNorm2dOptions options_;
};

class ReLU : public Module {  // any shape
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU"; }
};

class GELU : public Module {  // any shape; ops::gelu, the exact (erf) form
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "GELU"; }
};

// ops::max_pool2d and ops::avg_pool2d: [N, C, H, W] -> [N, C, (H + 2 padding - kernel) /
// stride + 1, ...].
class MaxPool2d : public Module {
 public:
  MaxPool2d(int kernel, int stride, int padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int kernel_, stride_, padding_;
};

class AvgPool2d : public Module {
 public:
  AvgPool2d(int kernel, int stride, int padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  int kernel_, stride_, padding_;
};

class GlobalAvgPool : public Module {  // [N, C, H, W] -> [N, C]
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "GlobalAvgPool"; }
};

class Flatten : public Module {  // [N, ...] -> [N, prod(...)]
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Flatten"; }
};

// ops::dropout with probability p in [0, 1) (else an Error) in training mode; the identity in
// eval mode. Masks are drawn from `gen`, which must outlive the layer.
class Dropout : public Module {
 public:
  explicit Dropout(float p, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  float p_;
  Generator* gen_;
};

// Applies its children in order. Children are named "0", "1", ... as in PyTorch. A BatchNorm2d
// directly followed by a ReLU runs as one fused op (BatchNorm2d::forward_relu): same result,
// one pass over memory fewer.
class Sequential : public Module {
 public:
  Sequential() = default;
  // Sequential net(std::make_shared<Linear>(2, 16), std::make_shared<ReLU>(), ...): the
  // modules in order, as add() one by one would.
  template <class First, class... Rest>
  explicit Sequential(std::shared_ptr<First> first, std::shared_ptr<Rest>... rest) {
    add(std::move(first));
    (add(std::move(rest)), ...);
  }
  Sequential& add(std::shared_ptr<Module> module);  // returns *this, so adds chain
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sequential"; }
  size_t size() const { return children().size(); }
};

}  // namespace minidl
