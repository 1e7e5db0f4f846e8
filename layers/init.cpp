#include "minidl/layers/init.h"

#include <algorithm>
#include <cmath>

#include "minidl/core/error.h"

namespace minidl::init {

Tensor kaiming_normal_fan_out(const Shape& shape, Generator& gen) {
  // shape [out_channels, in_channels, kH, kW] (or [out, in] for a matrix)
  int64_t fan_out = shape[0];
  for (size_t d = 2; d < shape.size(); ++d) fan_out *= shape[d];
  return Tensor::normal(shape, 0.f, std::sqrt(2.f / float(fan_out)), gen);
}

Tensor uniform_fan_in(const Shape& shape, int64_t fan_in, Generator& gen) {
  const float bound = 1.f / std::sqrt(float(fan_in));
  return Tensor::uniform(shape, -bound, bound, gen);
}

void dirac_(Tensor& weight) {
  MINIDL_CHECK(weight.defined() && weight.dim() == 4, "init::dirac_",
               "expects a convolution weight [out, in, k, k], got ", weight.shape_str());
  MINIDL_CHECK(weight.device() == Device::CPU, "init::dirac_",
               "initializes CPU tensors (before the model moves to its device)");
  const int64_t out = weight.size(0), in = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  MINIDL_CHECK(kh % 2 == 1 && kw % 2 == 1, "init::dirac_",
               "needs an odd kernel (a centre tap), got ", weight.shape_str());
  float* w = weight.data();
  for (int64_t o = 0; o < std::min(out, in); ++o) {
    float* filter = w + o * in * kh * kw;
    std::fill(filter, filter + in * kh * kw, 0.f);
    filter[(o * kh + kh / 2) * kw + kw / 2] = 1.f;
  }
  weight.bump_version();  // written in place through data() (core/storage.h)
}

}  // namespace minidl::init
