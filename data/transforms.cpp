#include "minidl/data/transforms.h"

#include <algorithm>
#include <cmath>

namespace minidl {

namespace {
constexpr int kH = Cifar10::kHeight, kW = Cifar10::kWidth, kPlane = kH * kW;

int uniform_int(Generator& gen, int low, int high) {  // inclusive
  return std::uniform_int_distribution<int>(low, high)(gen.engine());
}
}  // namespace

namespace {
// Index i of a row of n reflected into [0, n): -1 -> 1, n -> n - 2 (one reflection: |i| < 2n-1).
int reflect(int i, int n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }
}  // namespace

void crop_and_flip(const uint8_t* in, int pad, int dy, int dx, bool flip, uint8_t* out,
                   Padding padding) {
  const bool mirror = padding == Padding::Reflect;
  for (int c = 0; c < Cifar10::kChannels; ++c) {
    for (int y = 0; y < kH; ++y) {
      int sy = y + dy - pad;
      if (mirror) sy = reflect(sy, kH);
      for (int x = 0; x < kW; ++x) {
        int sx = (flip ? kW - 1 - x : x) + dx - pad;
        if (mirror) sx = reflect(sx, kW);
        const bool inside = sy >= 0 && sy < kH && sx >= 0 && sx < kW;
        out[c * kPlane + y * kW + x] = inside ? in[c * kPlane + sy * kW + sx] : 0;
      }
    }
  }
}

void normalize(const uint8_t* in, const ChannelStats& stats, float* out) {
  for (int c = 0; c < Cifar10::kChannels; ++c) {
    const float scale = 1.f / (255.f * stats.stddev[c]), shift = stats.mean[c] / stats.stddev[c];
    // A fused multiply-add, as the resident loader's kernel (kernels/augment.h): the same bits.
    for (int i = 0; i < kPlane; ++i)
      out[c * kPlane + i] = std::fma(float(in[c * kPlane + i]), scale, -shift);
  }
}

void cutout(float* image, int size, int cy, int cx) {
  const int y0 = std::max(cy - size / 2, 0), y1 = std::min(cy - size / 2 + size, kH);
  const int x0 = std::max(cx - size / 2, 0), x1 = std::min(cx - size / 2 + size, kW);
  for (int c = 0; c < Cifar10::kChannels; ++c) {
    for (int y = y0; y < y1; ++y)
      std::fill(image + c * kPlane + y * kW + x0, image + c * kPlane + y * kW + x1, 0.f);
  }
}

void augment(const uint8_t* in, const AugmentOptions& options, const ChannelStats& stats,
             Generator& gen, float* out) {
  const int pad = options.crop_padding;
  const int dy = pad > 0 ? uniform_int(gen, 0, 2 * pad) : 0;
  const int dx = pad > 0 ? uniform_int(gen, 0, 2 * pad) : 0;
  const bool flip = options.horizontal_flip && uniform_int(gen, 0, 1) == 1;
  uint8_t moved[Cifar10::kImageBytes];
  crop_and_flip(in, pad, dy, dx, flip, moved, options.padding);
  normalize(moved, stats, out);
  if (options.cutout_size > 0) {
    cutout(out, options.cutout_size, uniform_int(gen, 0, kH - 1), uniform_int(gen, 0, kW - 1));
  }
}

}  // namespace minidl
