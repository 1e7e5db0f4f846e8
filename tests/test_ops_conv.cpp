// Proves conv2d right on the CPU: forward output and dx, dw, db of the float32 library match the
// double reference on the shapes the reference model uses (the 7x7 stride-2 stem, 3x3 blocks,
// 1x1 stride-2 projections) and on awkward ones (batch 1, 1x1 spatial, non-square images and
// kernels, stride > kernel, channel counts that are not multiples of 8), with and without bias.
#include "op_check.h"

using minidl::Tensor;
using testutil::backward_with_upstream;
using testutil::grad_of;
using testutil::kTol;
using testutil::make_leaf;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

struct ConvCase {
  const char* what;
  ref::ConvShape s;  // N, C, H, W, K, R, S, stride, pad
  bool bias;
};

const ConvCase kCases[] = {
    {"stem 7x7 stride 2 pad 3", {2, 3, 32, 32, 64, 7, 7, 2, 3}, false},
    {"3x3 block, 64 channels", {2, 64, 8, 8, 64, 3, 3, 1, 1}, false},
    {"3x3 stride 2 downsample", {2, 16, 9, 9, 32, 3, 3, 2, 1}, true},
    {"1x1 stride 2 projection", {3, 8, 9, 9, 16, 1, 1, 2, 0}, false},
    {"batch 1, non-square 5x7, odd channels", {1, 5, 5, 7, 13, 3, 3, 1, 1}, true},
    {"1x1 spatial with a padded 3x3 kernel", {2, 13, 1, 1, 5, 3, 3, 1, 1}, true},
    {"stride 3 > kernel 2", {2, 4, 11, 10, 6, 2, 2, 3, 0}, true},
    {"non-square 3x1 kernel", {2, 3, 6, 5, 4, 3, 1, 1, 1}, true},
    {"5x5 kernel over a 4x4 image, pad 2", {1, 3, 4, 4, 2, 5, 5, 1, 2}, false},
    {"1x1 kernel, stride 1, no padding", {4, 3, 5, 5, 7, 1, 1, 1, 0}, true},
};

std::string describe(const ConvCase& c) {
  return std::string(c.what) + ": x " + testutil::shape_str(c.s.x_shape()) + ", w " +
         testutil::shape_str(c.s.w_shape()) + ", stride " + std::to_string(c.s.stride) + ", pad " +
         std::to_string(c.s.pad) + (c.bias ? ", bias" : ", no bias");
}

}  // namespace

TEST_CASE("conv2d forward matches the reference", "[cpu][ops][conv]") {
  std::mt19937 rng(301);
  for (const ConvCase& c : kCases) {
    INFO(describe(c));
    auto x = make_leaf(c.s.x_shape(), rng, false), w = make_leaf(c.s.w_shape(), rng, false);
    auto b = make_leaf({c.s.K}, rng, false);
    Tensor y = ops::conv2d(x.t, w.t, c.bias ? b.t : Tensor(), int(c.s.stride), int(c.s.pad));
    CHECK_SHAPE(y, c.s.y_shape());
    CHECK_REL(testutil::to_double(y), ref::conv2d(x.v, w.v, c.bias ? b.v : Vec(), c.s), kTol);
    CHECK_FALSE(y.requires_grad());
  }
}

TEST_CASE("conv2d backward (dx, dw, db) matches the reference", "[cpu][ops][conv]") {
  std::mt19937 rng(302);
  for (const ConvCase& c : kCases) {
    INFO(describe(c));
    auto x = make_leaf(c.s.x_shape(), rng), w = make_leaf(c.s.w_shape(), rng);
    auto b = make_leaf({c.s.K}, rng);
    Tensor y = ops::conv2d(x.t, w.t, c.bias ? b.t : Tensor(), int(c.s.stride), int(c.s.pad));
    CHECK(y.requires_grad());
    CHECK_REL(testutil::to_double(y), ref::conv2d(x.v, w.v, c.bias ? b.v : Vec(), c.s), kTol);
    const Vec u = backward_with_upstream(y, rng);
    const ref::ConvGrads g = ref::conv2d_backward(x.v, w.v, c.bias, u, c.s);
    CHECK_REL(grad_of(x.t), g.dx, kTol);
    CHECK_REL(grad_of(w.t), g.dw, kTol);
    if (c.bias) CHECK_REL(grad_of(b.t), g.db, kTol);
    else CHECK_FALSE(b.t.grad().defined());
  }
}

TEST_CASE("conv2d backward gives dw and db when the input needs no gradient", "[cpu][ops][conv]") {
  // The stem's input is the image batch, which never requires grad.
  std::mt19937 rng(303);
  const ref::ConvShape s{2, 3, 16, 16, 8, 7, 7, 2, 3};
  auto x = make_leaf(s.x_shape(), rng, false), w = make_leaf(s.w_shape(), rng);
  auto b = make_leaf({s.K}, rng);
  const Vec u = backward_with_upstream(ops::conv2d(x.t, w.t, b.t, 2, 3), rng);
  const ref::ConvGrads g = ref::conv2d_backward(x.v, w.v, true, u, s);
  CHECK_FALSE(x.t.grad().defined());
  CHECK_REL(grad_of(w.t), g.dw, kTol);
  CHECK_REL(grad_of(b.t), g.db, kTol);
}

TEST_CASE("conv2d backward gives dx when the weights are frozen", "[cpu][ops][conv]") {
  std::mt19937 rng(304);
  const ref::ConvShape s{2, 5, 7, 6, 3, 3, 3, 1, 1};
  auto x = make_leaf(s.x_shape(), rng), w = make_leaf(s.w_shape(), rng, false);
  const Vec u = backward_with_upstream(ops::conv2d(x.t, w.t, Tensor(), 1, 1), rng);
  CHECK_FALSE(w.t.grad().defined());
  CHECK_REL(grad_of(x.t), ref::conv2d_backward(x.v, w.v, false, u, s).dx, kTol);
}

TEST_CASE("conv2d is a cross-correlation: a centred delta image gives the filter reversed",
          "[cpu][ops][conv]") {
  // Cross-correlation (not convolution): a single 1 at the centre of a zero image, with padding
  // 1, makes output(r, s) = w(2 - r, 2 - s) for a 3x3 filter, which pins down the orientation.
  Tensor x = Tensor::zeros({1, 1, 3, 3});
  x.set({0, 0, 1, 1}, 1.f);
  std::vector<float> wv = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  Tensor w = Tensor::from_vector(wv, {1, 1, 3, 3});
  Tensor y = ops::conv2d(x, w, Tensor(), 1, 1);
  CHECK(y.to_vector() == std::vector<float>{9, 8, 7, 6, 5, 4, 3, 2, 1});
}
