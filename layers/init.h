// Weight initialization (He et al., 2015, "Delving Deep into Rectifiers"), the defaults of
// every layer:
//   Conv2d weight: normal(0, sqrt(2 / fan_out)), fan_out = out_channels * kH * kW, the
//                  "kaiming_normal_(mode='fan_out', nonlinearity='relu')" of torchvision's
//                  ResNet; conv bias (when enabled): zeros.
//   Linear weight and bias: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is Kaiming-uniform
//                  with negative slope sqrt(5), PyTorch's default for nn.Linear.
//   BatchNorm:     gamma = 1, beta = 0, running mean 0, running variance 1.
#pragma once

#include "minidl/core/random.h"
#include "minidl/core/tensor.h"

namespace minidl::init {

// A CPU tensor of `shape` ([out, in, kH, kW] or [out, in]) drawn from normal(0, sqrt(2 /
// fan_out)), fan_out = shape[0] * (product of shape[2:]).
Tensor kaiming_normal_fan_out(const Shape& shape, Generator& gen);
// A CPU tensor of `shape` drawn from uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor uniform_fan_in(const Shape& shape, int64_t fan_in, Generator& gen);

}  // namespace minidl::init
