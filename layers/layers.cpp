#include "minidl/layers/layers.h"

#include <cmath>
#include <sstream>

#include "minidl/core/error.h"
#include "minidl/layers/init.h"
#include "minidl/ops/ops.h"

namespace minidl {

// ---- Conv2d ----------------------------------------------------------------------------------
Conv2d::Conv2d(const Conv2dOptions& options, Generator& gen) : options_(options) {
  MINIDL_CHECK(options.in_channels > 0 && options.out_channels > 0 && options.kernel > 0, "Conv2d",
               "channels and kernel must be positive, got in ", options.in_channels, " out ",
               options.out_channels, " kernel ", options.kernel);
  weight = register_parameter(
      "weight",
      init::kaiming_normal_fan_out(
          {options.out_channels, options.in_channels, options.kernel, options.kernel}, gen));
  if (options.bias) bias = register_parameter("bias", Tensor::zeros({options.out_channels}));
}

Tensor Conv2d::forward(const Tensor& x) {
  return ops::conv2d(x, weight, bias, options_.stride, options_.padding);
}

std::string Conv2d::describe() const {
  std::ostringstream s;
  s << "Conv2d(" << options_.in_channels << ", " << options_.out_channels
    << ", kernel=" << options_.kernel << ", stride=" << options_.stride
    << ", padding=" << options_.padding << (options_.bias ? "" : ", bias=false") << ")";
  return s.str();
}

// ---- Linear ----------------------------------------------------------------------------------
Linear::Linear(int in_features, int out_features, bool has_bias, Generator& gen)
    : in_features_(in_features), out_features_(out_features) {
  MINIDL_CHECK(in_features > 0 && out_features > 0, "Linear", "features must be positive, got in ",
               in_features, " out ", out_features);
  weight = register_parameter("weight",
                              init::uniform_fan_in({out_features, in_features}, in_features, gen));
  if (has_bias) {
    bias = register_parameter("bias", init::uniform_fan_in({out_features}, in_features, gen));
  }
}

Tensor Linear::forward(const Tensor& x) { return ops::linear(x, weight, bias); }

std::string Linear::describe() const {
  return "Linear(" + std::to_string(in_features_) + ", " + std::to_string(out_features_) + ")";
}

// ---- BatchNorm2d -----------------------------------------------------------------------------
BatchNorm2d::BatchNorm2d(const BatchNorm2dOptions& options) : options_(options) {
  const int channels = options.channels;
  MINIDL_CHECK(channels > 0, "BatchNorm2d", "channels must be positive, got ", channels);
  MINIDL_CHECK(options.momentum >= 0.f && options.momentum <= 1.f, "BatchNorm2d",
               "momentum must be in [0, 1], got ", options.momentum);
  MINIDL_CHECK(options.eps > 0.f && std::isfinite(options.eps), "BatchNorm2d",
               "eps must be positive and finite, got ", options.eps);
  if (options.affine == BatchNormAffine::Learned) {
    weight = register_parameter("weight", Tensor::ones({channels}));
  } else if (options.affine == BatchNormAffine::Frozen) {
    weight = register_buffer("weight", Tensor::ones({channels}));  // no grad: never trained
  }
  if (options.affine != BatchNormAffine::None) {
    bias = register_parameter("bias", Tensor::zeros({channels}));
  }
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return ops::batch_norm(x, weight, bias, running_mean, running_var, is_training(),
                         options_.momentum, options_.eps);
}

Tensor BatchNorm2d::forward_relu(const Tensor& x, const Tensor& residual) {
  if (residual.defined()) {
    return ops::batch_norm_add_relu(x, residual, weight, bias, running_mean, running_var,
                                    is_training(), options_.momentum, options_.eps);
  }
  return ops::batch_norm_relu(x, weight, bias, running_mean, running_var, is_training(),
                              options_.momentum, options_.eps);
}

std::string BatchNorm2d::describe() const {
  const char* affine = options_.affine == BatchNormAffine::Frozen ? ", scale frozen"
                       : options_.affine == BatchNormAffine::None ? ", affine none"
                                                                  : "";
  return "BatchNorm2d(" + std::to_string(options_.channels) + affine + ")";
}

// ---- parameter-free layers -------------------------------------------------------------------
Tensor ReLU::forward(const Tensor& x) { return ops::relu(x); }

Tensor GELU::forward(const Tensor& x) { return ops::gelu(x); }

MaxPool2d::MaxPool2d(int kernel, int stride, int padding)
    : kernel_(kernel), stride_(stride), padding_(padding) {}
Tensor MaxPool2d::forward(const Tensor& x) {
  return ops::max_pool2d(x, kernel_, stride_, padding_);
}
std::string MaxPool2d::describe() const {
  return "MaxPool2d(kernel=" + std::to_string(kernel_) + ", stride=" + std::to_string(stride_) +
         ", padding=" + std::to_string(padding_) + ")";
}

AvgPool2d::AvgPool2d(int kernel, int stride, int padding)
    : kernel_(kernel), stride_(stride), padding_(padding) {}
Tensor AvgPool2d::forward(const Tensor& x) {
  return ops::avg_pool2d(x, kernel_, stride_, padding_);
}
std::string AvgPool2d::describe() const {
  return "AvgPool2d(kernel=" + std::to_string(kernel_) + ", stride=" + std::to_string(stride_) +
         ", padding=" + std::to_string(padding_) + ")";
}

Tensor GlobalAvgPool::forward(const Tensor& x) { return ops::global_avg_pool(x); }

Tensor Flatten::forward(const Tensor& x) { return x.flatten(1); }

Dropout::Dropout(float p, Generator& gen) : p_(p), gen_(&gen) {
  MINIDL_CHECK(p >= 0.f && p < 1.f, "Dropout", "probability must be in [0, 1), got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return ops::dropout(x, p_, is_training(), *gen_); }
std::string Dropout::describe() const {
  std::ostringstream s;
  s << "Dropout(p=" << p_ << ")";
  return s.str();
}

// ---- Sequential ------------------------------------------------------------------------------
Sequential& Sequential::add(std::shared_ptr<Module> module) {
  register_module(std::to_string(children().size()), std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  const auto& modules = children();
  Tensor out = x;
  for (size_t i = 0; i < modules.size(); ++i) {
    auto* batch_norm = dynamic_cast<BatchNorm2d*>(modules[i].second.get());
    const bool relu_next =
        i + 1 < modules.size() && dynamic_cast<ReLU*>(modules[i + 1].second.get()) != nullptr;
    if (batch_norm && relu_next) {
      out = batch_norm->forward_relu(out);
      ++i;  // the ReLU is done
    } else {
      out = modules[i].second->forward(out);
    }
  }
  return out;
}

}  // namespace minidl
