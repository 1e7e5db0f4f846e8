// Proves each CPU convolution algorithm right on its own, at the kernel level (kernels/conv2d.h,
// no autograd): im2col + GEMM on every case, Winograd on every case it supports (with the
// rule's tile, and forward and backward-data with each of F(2x2, 3x3) and F(4x4, 3x3)),
// forward, backward-data and backward-weight (+ bias) against the double reference. Winograd's
// shapes cover paddings 0, 1 and 2, odd and non-square images (partial tiles), a 1x1 image,
// channel counts that are not multiples of anything, and enough tiles for several cache blocks
// (a partial last one). Error bound: norm-wise relative error at most 1e-4 for both algorithms
// (float32 accumulation; Winograd's transforms add a few roundings: the largest seen on these
// cases is 3e-7 with F(2x2, 3x3) and 2.4e-6 with F(4x4, 3x3), whose filter transform divides
// by 6, 12 and 24 and whose larger tiles sum more terms).
#include <omp.h>

#include <algorithm>
#include <stdexcept>

#include "conv_cases.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_direct.h"
#include "kernels/cpu/conv2d_winograd.h"

using convcases::Case;
using convcases::kCases;
using convcases::kernel_shape;
using convcases::make_problem;
using convcases::Problem;
using convcases::to_vec;
using minidl::kernels::Conv2dAlgorithm;
using minidl::kernels::Conv2dConfig;
using minidl::kernels::Conv2dPass;
using minidl::kernels::Conv2dShape;
using testutil::kTol;
namespace cpu = minidl::kernels::cpu;

TEST_CASE("every CPU conv2d algorithm matches the reference in all three passes",
          "[cpu][conv][algorithms]") {
  std::mt19937 rng(311);
  for (const Case& c : kCases) {
    const Conv2dShape s = kernel_shape(c.s);
    const Problem p = make_problem(c, rng);
    for (Conv2dAlgorithm algorithm : {Conv2dAlgorithm::Gemm, Conv2dAlgorithm::Winograd}) {
      if (algorithm == Conv2dAlgorithm::Winograd && !winograd_supports(s)) continue;
      INFO(c.what << (algorithm == Conv2dAlgorithm::Winograd ? ", Winograd" : ", im2col + GEMM"));
      // Outputs start as NaN: an element the kernel forgets to write fails the check.
      std::vector<float> y(p.y_ref.size(), NAN), dx(p.x.size(), NAN), dw(p.w.size(), NAN),
          db(p.b.size(), NAN);
      Conv2dConfig config;
      config.algorithm = algorithm;
      cpu::conv2d_forward(s, p.x.data(), p.w.data(), p.b.data(), y.data(), nullptr, config);
      cpu::conv2d_backward_data(s, p.dy.data(), p.w.data(), dx.data(), nullptr, config);
      cpu::conv2d_backward_weight(s, p.x.data(), p.dy.data(), dw.data(), db.data(), nullptr,
                                  config);
      CHECK_REL(to_vec(y), p.y_ref, kTol);
      CHECK_REL(to_vec(dx), p.g_ref.dx, kTol);
      CHECK_REL(to_vec(dw), p.g_ref.dw, kTol);
      CHECK_REL(to_vec(db), p.g_ref.db, kTol);
    }
  }
}

TEST_CASE("the CPU direct loop nest (v0) matches the reference in all three passes",
          "[cpu][conv][algorithms][teaching]") {
  std::mt19937 rng(314);
  for (const Case& c : kCases) {
    const Conv2dShape s = kernel_shape(c.s);
    const Problem p = make_problem(c, rng);
    INFO(c.what);
    std::vector<float> y(p.y_ref.size(), NAN), dx(p.x.size(), NAN), dw(p.w.size(), NAN),
        db(p.b.size(), NAN);
    cpu::conv2d_forward_direct(s, p.x.data(), p.w.data(), p.b.data(), y.data());
    cpu::conv2d_backward_data_direct(s, p.dy.data(), p.w.data(), dx.data());
    cpu::conv2d_backward_weight_direct(s, p.x.data(), p.dy.data(), dw.data(), db.data());
    CHECK_REL(to_vec(y), p.y_ref, kTol);
    CHECK_REL(to_vec(dx), p.g_ref.dx, kTol);
    CHECK_REL(to_vec(dw), p.g_ref.dw, kTol);
    CHECK_REL(to_vec(db), p.g_ref.db, kTol);
  }
}

TEST_CASE("both CPU Winograd tiles match the reference in all three passes",
          "[cpu][conv][algorithms]") {
  std::mt19937 rng(312);
  for (const Case& c : kCases) {
    const Conv2dShape s = kernel_shape(c.s);
    if (!winograd_supports(s)) continue;
    const Problem p = make_problem(c, rng);
    for (cpu::WinogradTile tile : {cpu::WinogradTile::F2x2, cpu::WinogradTile::F4x4}) {
      INFO(c.what << (tile == cpu::WinogradTile::F4x4 ? ", F(4x4, 3x3)" : ", F(2x2, 3x3)"));
      std::vector<float> y(p.y_ref.size(), NAN), dx(p.x.size(), NAN), dw(p.w.size(), NAN);
      cpu::winograd_forward(s, p.x.data(), p.w.data(), p.b.data(), y.data(), tile);
      cpu::winograd_backward_data(s, p.dy.data(), p.w.data(), dx.data(), tile);
      cpu::winograd_backward_weight(s, p.x.data(), p.dy.data(), dw.data(), tile);
      CHECK_REL(to_vec(y), p.y_ref, kTol);
      CHECK_REL(to_vec(dx), p.g_ref.dx, kTol);
      CHECK_REL(to_vec(dw), p.g_ref.dw, kTol);
    }
  }
}

TEST_CASE("CPU Winograd gives the same bits with one thread and with several",
          "[cpu][conv][algorithms]") {
  // Two cache blocks and a partial group of lanes: every sum whose order could follow the
  // threads (the GEMMs split by element, backward-weight's sum over blocks) is exercised.
  const Case c = {"3x3 pad 1, 130 channels, 9 images", {9, 130, 16, 16, 130, 3, 3, 1, 1}};
  const Conv2dShape s = kernel_shape(c.s);
  std::mt19937 rng(313);
  const Problem p = make_problem(c, rng);
  const int threads = omp_get_max_threads();
  for (cpu::WinogradTile tile : {cpu::WinogradTile::F2x2, cpu::WinogradTile::F4x4}) {
    std::vector<float> results[2];  // y, dx and dw one after the other; 1 thread, then 3
    for (int run = 0; run < 2; ++run) {
      omp_set_num_threads(run == 0 ? 1 : std::max(threads, 3));
      std::vector<float> y(p.y_ref.size()), dx(p.x.size()), dw(p.w.size());
      cpu::winograd_forward(s, p.x.data(), p.w.data(), p.b.data(), y.data(), tile);
      cpu::winograd_backward_data(s, p.dy.data(), p.w.data(), dx.data(), tile);
      cpu::winograd_backward_weight(s, p.x.data(), p.dy.data(), dw.data(), tile);
      for (const std::vector<float>* part : {&y, &dx, &dw})
        results[run].insert(results[run].end(), part->begin(), part->end());
    }
    omp_set_num_threads(threads);
    INFO((tile == cpu::WinogradTile::F4x4 ? "F(4x4, 3x3)" : "F(2x2, 3x3)"));
    CHECK(results[0] == results[1]);
  }
}

TEST_CASE("the CPU Winograd rule: F(4x4, 3x3) from 4x4 outputs up, F(2x2, 3x3) below",
          "[cpu][conv][algorithms]") {
  CHECK(cpu::winograd_tile(kernel_shape({128, 64, 16, 16, 64, 3, 3, 1, 1})) ==
        cpu::WinogradTile::F4x4);
  CHECK(cpu::winograd_tile(kernel_shape({128, 256, 4, 4, 256, 3, 3, 1, 1})) ==
        cpu::WinogradTile::F4x4);
  CHECK(cpu::winograd_tile(kernel_shape({128, 512, 2, 2, 512, 3, 3, 1, 1})) ==
        cpu::WinogradTile::F2x2);
  CHECK(cpu::winograd_tile(kernel_shape({2, 5, 7, 3, 6, 3, 3, 1, 1})) == cpu::WinogradTile::F2x2);
}

TEST_CASE("the CPU conv2d rule picks Winograd for the model's stride-1 3x3 layers only",
          "[cpu][conv][algorithms]") {
  const Conv2dShape block = kernel_shape({128, 64, 16, 16, 64, 3, 3, 1, 1});
  const Conv2dShape downsample = kernel_shape({128, 64, 16, 16, 128, 3, 3, 2, 1});
  const Conv2dShape projection = kernel_shape({128, 64, 16, 16, 128, 1, 1, 2, 0});
  for (Conv2dPass pass :
       {Conv2dPass::Forward, Conv2dPass::BackwardData, Conv2dPass::BackwardWeight}) {
    CHECK(cpu::conv2d_config(block, pass).algorithm == Conv2dAlgorithm::Winograd);
    CHECK(cpu::conv2d_config(downsample, pass).algorithm == Conv2dAlgorithm::Gemm);
    CHECK(cpu::conv2d_config(projection, pass).algorithm == Conv2dAlgorithm::Gemm);
    CHECK(cpu::conv2d_workspace(block, pass) == 0);
  }
  Conv2dConfig winograd;
  winograd.algorithm = Conv2dAlgorithm::Winograd;
  CHECK_THROWS_AS(cpu::conv2d_config(downsample, Conv2dPass::Forward, winograd),
                  std::invalid_argument);
}
