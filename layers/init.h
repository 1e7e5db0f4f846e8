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

// Dirac (identity) initialization of a convolution's weight [out, in, k, k] (k odd), in place:
// each of the first min(out, in) filters becomes the identity of its own channel (1 at
// [o, o, k/2, k/2], 0 elsewhere); the other filters keep their values. With padding k/2 and
// stride 1, those output channels start as copies of the input channels, so a deep stack of
// such layers starts near the identity and trains faster (airbench applies it to every
// convolution after the whitening one). Errors: a weight not of rank 4 on the CPU, or an even k.
void dirac_(Tensor& weight);

// The weight [2 d, C, k, k] (d = C k k) of a frozen first convolution that whitens k x k
// patches of `images` [N, C, H, W] (CPU): with S the patches' second-moment matrix
// (1 / P) sum p p^T over all P stride-1 patches p, eigenvalues l_i and eigenvectors v_i, filter
// i is v_i / sqrt(l_i + eps), largest l_i first, and filters d..2d-1 are their negatives (so
// that a ReLU or GELU after it keeps both signs). The first d outputs then have second moment
// diag(l_i / (l_i + eps)) over these patches: decorrelated, unit scale where l_i >> eps.
// Page's "How to train your ResNet" and airbench start from it (airbench: k = 2, eps 5e-4, the
// first 5000 training images, the layer never trained). Computed in double with Eigen's
// SelfAdjointEigenSolver. Errors: images not [N, C, H, W] on the CPU, k < 1 or larger than H
// or W, eps <= 0.
Tensor patch_whitening(const Tensor& images, int kernel, float eps = 5e-4f);

}  // namespace minidl::init
