#include "minidl/layers/init.h"

#include <cmath>

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

}  // namespace minidl::init
