// Image transforms for CIFAR-style training, applied per image while a batch is assembled:
// random crop with zero or reflected padding, horizontal flip, per-channel normalization,
// cutout. Crop and flip work on the raw bytes (zero padding is black, as torchvision pads the
// PIL image; reflection, as airbench translates, mirrors the border without repeating it);
// normalization turns bytes into floats: (v / 255 - mean[c]) / std[c]; cutout zeroes a square
// of the normalized image (DeVries & Taylor, 2017).
#pragma once

#include <cstdint>

#include "minidl/core/random.h"
#include "minidl/data/cifar10.h"

namespace minidl {

// How a crop that reaches past the border fills it: black, or the image mirrored about its
// edge pixel (PyTorch's 'reflect': ... 2 1 | 0 1 2 ...).
enum class Padding { Zero, Reflect };

struct AugmentOptions {
  int crop_padding = 4;  // 0 = no random crop
  Padding padding = Padding::Zero;
  bool horizontal_flip = true;
  int cutout_size = 0;  // side of the zeroed square; 0 = no cutout
};

// The deterministic core of the crop and the flip: out(c, y, x) = in(c, y + dy - pad,
// x' + dx - pad) with x' = flip ? 31 - x : x; outside the image 0, or with Padding::Reflect
// the pixel mirrored about the edge. dy, dx in [0, 2 pad], pad < 32.
void crop_and_flip(const uint8_t* in, int pad, int dy, int dx, bool flip, uint8_t* out,
                   Padding padding = Padding::Zero);

void normalize(const uint8_t* in, const ChannelStats& stats, float* out);

// Zeroes the size x size square centred at (cy, cx), clipped to the image.
void cutout(float* image, int size, int cy, int cx);

// The training transform: random crop and flip, normalization, random cutout.
void augment(const uint8_t* in, const AugmentOptions& options, const ChannelStats& stats,
             Generator& gen, float* out);

}  // namespace minidl
