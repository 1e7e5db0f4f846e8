// Batches of augmented training images made where the images live, one kernel per batch on
// either device: gather the batch's images (8-bit, [N, C, H, W]) by index, translate each by
// a random shift (the uncovered border zeros, or the image reflected about its edge), mirror
// it (at random, or in alternate epochs), normalize it to floats, cut out a random square, and
// gather the labels. It is what data/resident_loader.h runs, so that a GPU run does not wait
// for the CPU to assemble and upload its batches.
//
// Every random choice is a hash of (seed, epoch, image index), not a draw from a stateful
// generator: each output element recomputes its image's choices, the CPU and CUDA versions
// give the same bits, and one image's augmentation can be recomputed alone (a test does).
//
// Reference: the per-image transforms of data/transforms.h. For the choices augment_draw
// makes, an image comes out as normalize(crop_and_flip(image, pad, dy + pad, dx + pad, flip,
// padding)) followed by cutout, bit for bit (tests/test_resident_loader.cpp).
#pragma once

#include <cmath>
#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

enum class FlipMode : int {
  None,
  Random,       // each image in each epoch with probability 1/2
  Alternating,  // each image in every other epoch, half of them in each (airbench's)
};

constexpr int kMaxAugmentChannels = 4;

struct AugmentParams {
  int64_t count = 0;                          // images in the batch
  int channels = 3, height = 32, width = 32;  // channels <= kMaxAugmentChannels
  int pad = 0;           // shifts of up to pad pixels each way, along each axis (pad < H, W)
  bool reflect = false;  // the uncovered border mirrored (PyTorch's 'reflect'), else zeros
  FlipMode flip = FlipMode::None;
  int cutout = 0;  // side of the square set to 0 after normalization; 0 = none
  uint64_t seed = 0;
  int64_t epoch = 0;
  // out = byte * scale[c] - shift[c] (scale = 1 / (255 std), shift = mean / std)
  float scale[kMaxAugmentChannels] = {1.f, 1.f, 1.f, 1.f};
  float shift[kMaxAugmentChannels] = {0.f, 0.f, 0.f, 0.f};
};

// splitmix64's finalizer of a + golden ratio * (b + 1): nearby keys give unrelated values. The
// host loader (data/loader.cpp) derives its seeds with the same function.
MINIDL_HOST_DEVICE inline uint64_t seed_mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The alternating flip's rule, shared with DataLoader (data/loader.h): a fixed coin per image
// from the seed, inverted in odd epochs.
MINIDL_HOST_DEVICE inline bool alternating_mirror(uint64_t seed, int64_t epoch, int64_t image) {
  const bool coin = (seed_mix(seed ^ 0xf1177ed5ULL, uint64_t(image)) & 1) != 0;
  return coin != (epoch % 2 != 0);
}

// One image's random choices in one epoch. dy, dx in [-pad, pad]: the output pixel (y, x)
// shows the input's (y + dy, x' + dx), x' the mirrored column when `flip`. The cutout square
// is centred at (cy, cx), anywhere in the image. Each field takes its own bits of the hash;
// the modulo's bias is below 2^-40 for these small ranges.
struct AugmentDraw {
  int dy = 0, dx = 0;
  bool flip = false;
  int cy = 0, cx = 0;
};

MINIDL_HOST_DEVICE inline AugmentDraw augment_draw(const AugmentParams& p, int64_t image) {
  const uint64_t h = seed_mix(seed_mix(p.seed, uint64_t(p.epoch)), uint64_t(image));
  const uint64_t g = seed_mix(h, 0x0c07u);  // the cutout's bits
  const uint64_t span = uint64_t(2 * p.pad + 1);
  AugmentDraw d;
  d.dy = int((h >> 1) % span) - p.pad;
  d.dx = int((h >> 21) % span) - p.pad;
  d.flip = p.flip == FlipMode::Random        ? (h & 1) != 0
           : p.flip == FlipMode::Alternating ? alternating_mirror(p.seed, p.epoch, image)
                                             : false;
  d.cy = int((g >> 1) % uint64_t(p.height));
  d.cx = int((g >> 33) % uint64_t(p.width));
  return d;
}

// The input index along an axis of n for output index i shifted by d: -1 past the border
// with zero padding; mirrored about the edge pixel with reflection (-1 -> 1, n -> n - 2).
MINIDL_HOST_DEVICE inline int augment_source(int i, int d, int n, bool reflect) {
  const int s = i + d;
  if (s >= 0 && s < n) return s;
  if (!reflect) return -1;
  return s < 0 ? -s : 2 * (n - 1) - s;
}

// Output element (c, y, x) of the image whose bytes start at `image`, for its choices `d`.
MINIDL_HOST_DEVICE inline float augment_value(const AugmentParams& p, const uint8_t* image,
                                              const AugmentDraw& d, int c, int y, int x) {
  if (p.cutout > 0) {
    const int y0 = d.cy - p.cutout / 2, x0 = d.cx - p.cutout / 2;
    if (y >= y0 && y < y0 + p.cutout && x >= x0 && x < x0 + p.cutout) return 0.f;
  }
  const int mirrored_x = d.flip ? p.width - 1 - x : x;
  const int sy = augment_source(y, d.dy, p.height, p.reflect);
  const int sx = augment_source(mirrored_x, d.dx, p.width, p.reflect);
  const float byte = sy < 0 || sx < 0 ? 0.f : float(image[(c * p.height + sy) * p.width + sx]);
  // One rounding (a fused multiply-add), written out so that no compiler's contraction choice
  // can make the devices differ; data/transforms.cpp's normalize() computes the same.
  return fmaf(byte, p.scale[c], -p.shift[c]);
}

// images: N images of C*H*W bytes; labels: their N int32 labels; indices: the batch's `count`
// image indices (each in [0, N): the caller checks). out: [count, C, H, W] floats; out_labels:
// count int32.
namespace cpu {
void augment_batch(const AugmentParams& p, const uint8_t* images, const int32_t* labels,
                   const int64_t* indices, float* out, int32_t* out_labels);
}  // namespace cpu

namespace cuda {  // the same contract; every pointer is device memory
void augment_batch(const AugmentParams& p, const uint8_t* images, const int32_t* labels,
                   const int64_t* indices, float* out, int32_t* out_labels);
}  // namespace cuda

MINIDL_SAME_KERNEL(augment_batch);

}  // namespace minidl::kernels
