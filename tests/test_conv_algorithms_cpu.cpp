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
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/conv2d_direct.h"
#include "minidl/kernels/cpu/conv2d_winograd.h"

using convcases::Case;
using convcases::kCases;
using convcases::kernel_shape;
using convcases::make_problem;
using convcases::Problem;
using convcases::to_vec;
using minidl::kernels::Conv2dAlgorithm;
using minidl::kernels::Conv2dPass;
using minidl::kernels::Conv2dPlan;
using minidl::kernels::Conv2dShape;
using testutil::kTol;
namespace cpu = minidl::kernels::cpu;

namespace {
// y, dx, dw and db from the three passes, each run with the plan conv2d_plan makes for
// `requested` and its own workspace. Outputs and workspaces start as NaN: an element the
// kernel forgets to write, or scratch it reads before writing, fails the checks.
struct Results {
  std::vector<float> y, dx, dw, db;
};
Results run_planned(const Conv2dShape& s, const Problem& p, const Conv2dPlan& requested) {
  Results r{std::vector<float>(p.y_ref.size(), NAN), std::vector<float>(p.x.size(), NAN),
            std::vector<float>(p.w.size(), NAN), std::vector<float>(p.b.size(), NAN)};
  auto workspace_for = [](const Conv2dPlan& plan) {
    return std::vector<float>(size_t(plan.workspace), NAN);
  };
  const Conv2dPlan forward = cpu::conv2d_plan(s, Conv2dPass::Forward, requested);
  std::vector<float> workspace = workspace_for(forward);
  cpu::conv2d_forward(s, forward, p.x.data(), p.w.data(), p.b.data(), r.y.data(), workspace.data());
  const Conv2dPlan data = cpu::conv2d_plan(s, Conv2dPass::BackwardData, requested);
  workspace = workspace_for(data);
  cpu::conv2d_backward_data(s, data, p.dy.data(), p.w.data(), r.dx.data(), workspace.data());
  const Conv2dPlan weight = cpu::conv2d_plan(s, Conv2dPass::BackwardWeight, requested);
  workspace = workspace_for(weight);
  cpu::conv2d_backward_weight(s, weight, p.x.data(), p.dy.data(), r.dw.data(), r.db.data(),
                              workspace.data());
  return r;
}
}  // namespace

TEST_CASE("every CPU conv2d algorithm matches the reference in all three passes",
          "[cpu][conv][algorithms]") {
  std::mt19937 rng(311);
  for (const Case& c : kCases) {
    const Conv2dShape s = kernel_shape(c.s);
    const Problem p = make_problem(c, rng);
    for (Conv2dAlgorithm algorithm : {Conv2dAlgorithm::Gemm, Conv2dAlgorithm::Winograd}) {
      if (algorithm == Conv2dAlgorithm::Winograd && !winograd_supports(s)) continue;
      INFO(c.what << (algorithm == Conv2dAlgorithm::Winograd ? ", Winograd" : ", im2col + GEMM"));
      Conv2dPlan requested;
      requested.algorithm = algorithm;
      const Results r = run_planned(s, p, requested);
      CHECK_REL(to_vec(r.y), p.y_ref, kTol);
      CHECK_REL(to_vec(r.dx), p.g_ref.dx, kTol);
      CHECK_REL(to_vec(r.dw), p.g_ref.dw, kTol);
      CHECK_REL(to_vec(r.db), p.g_ref.db, kTol);
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
    for (int tile : {2, 4}) {
      INFO(c.what << (tile == 4 ? ", F(4x4, 3x3)" : ", F(2x2, 3x3)"));
      Conv2dPlan requested;
      requested.algorithm = Conv2dAlgorithm::Winograd;
      requested.winograd_tile = tile;
      const Results r = run_planned(s, p, requested);
      CHECK_REL(to_vec(r.y), p.y_ref, kTol);
      CHECK_REL(to_vec(r.dx), p.g_ref.dx, kTol);
      CHECK_REL(to_vec(r.dw), p.g_ref.dw, kTol);
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
  for (int tile : {2, 4}) {
    std::vector<float> results[2];  // y, dx and dw one after the other; 1 thread, then 3
    for (int run = 0; run < 2; ++run) {
      omp_set_num_threads(run == 0 ? 1 : std::max(threads, 3));
      Conv2dPlan requested;  // planned after the thread count is set, as ops::conv2d does
      requested.algorithm = Conv2dAlgorithm::Winograd;
      requested.winograd_tile = tile;
      const Results r = run_planned(s, p, requested);
      for (const std::vector<float>* part : {&r.y, &r.dx, &r.dw})
        results[run].insert(results[run].end(), part->begin(), part->end());
    }
    omp_set_num_threads(threads);
    INFO((tile == 4 ? "F(4x4, 3x3)" : "F(2x2, 3x3)"));
    CHECK(results[0] == results[1]);
  }
}

TEST_CASE("the CPU Winograd rule: F(4x4, 3x3) from 4x4 outputs up, F(2x2, 3x3) below",
          "[cpu][conv][algorithms]") {
  CHECK(cpu::winograd_tile(kernel_shape({128, 64, 16, 16, 64, 3, 3, 1, 1})) == 4);
  CHECK(cpu::winograd_tile(kernel_shape({128, 256, 4, 4, 256, 3, 3, 1, 1})) == 4);
  CHECK(cpu::winograd_tile(kernel_shape({128, 512, 2, 2, 512, 3, 3, 1, 1})) == 2);
  CHECK(cpu::winograd_tile(kernel_shape({2, 5, 7, 3, 6, 3, 3, 1, 1})) == 2);
}

TEST_CASE("the CPU conv2d plan picks Winograd for the model's stride-1 3x3 layers only",
          "[cpu][conv][algorithms]") {
  const Conv2dShape block = kernel_shape({128, 64, 16, 16, 64, 3, 3, 1, 1});
  const Conv2dShape late = kernel_shape({128, 512, 2, 2, 512, 3, 3, 1, 1});
  const Conv2dShape downsample = kernel_shape({128, 64, 16, 16, 128, 3, 3, 2, 1});
  const Conv2dShape projection = kernel_shape({128, 64, 16, 16, 128, 1, 1, 2, 0});
  const Conv2dShape pointwise = kernel_shape({128, 64, 16, 16, 128, 1, 1, 1, 0});
  for (Conv2dPass pass :
       {Conv2dPass::Forward, Conv2dPass::BackwardData, Conv2dPass::BackwardWeight}) {
    const Conv2dPlan plan = cpu::conv2d_plan(block, pass);
    CHECK(plan.pass == pass);
    CHECK(describe(plan) == "winograd F4x4");
    CHECK(describe(cpu::conv2d_plan(late, pass)) == "winograd F2x2");
    CHECK(describe(cpu::conv2d_plan(downsample, pass)) == "gemm");
    CHECK(describe(cpu::conv2d_plan(projection, pass)) == "gemm");
    CHECK(describe(cpu::conv2d_plan(pointwise, pass)) == "gemm 1x1");
  }
  Conv2dPlan winograd;
  winograd.algorithm = Conv2dAlgorithm::Winograd;
  CHECK_THROWS_WITH(cpu::conv2d_plan(downsample, Conv2dPass::Forward, winograd),
                    "Winograd needs a 3x3 kernel, stride 1 and padding <= 2; got 3x3, stride 2x2, "
                    "padding 1x1");
  winograd.winograd_tile = 2;  // a request's tile is kept
  CHECK(describe(cpu::conv2d_plan(block, Conv2dPass::Forward, winograd)) == "winograd F2x2");
  winograd.winograd_tile = 3;
  CHECK_THROWS_AS(cpu::conv2d_plan(block, Conv2dPass::Forward, winograd), std::invalid_argument);
  Conv2dPlan tiled;
  tiled.tile_m = 64;  // CUDA's
  CHECK_THROWS_AS(cpu::conv2d_plan(block, Conv2dPass::Forward, tiled), std::invalid_argument);
}

TEST_CASE("a CPU conv2d pass refuses a plan it was not given by conv2d_plan",
          "[cpu][conv][algorithms]") {
  const Conv2dShape s = kernel_shape({2, 3, 5, 5, 4, 3, 3, 1, 1});
  std::vector<float> x(2 * 3 * 5 * 5, 1.f), w(4 * 3 * 3 * 3, 1.f), y(2 * 4 * 5 * 5);
  const Conv2dPlan forward = cpu::conv2d_plan(s, Conv2dPass::Forward);
  std::vector<float> workspace(size_t(std::max<int64_t>(forward.workspace, 1)));
  CHECK_THROWS_WITH(
      cpu::conv2d_forward(s, Conv2dPlan{}, x.data(), w.data(), nullptr, y.data(), workspace.data()),
      "the plan was not made by conv2d_plan (its algorithm is Auto)");
  CHECK_THROWS_WITH(
      cpu::conv2d_backward_data(s, forward, y.data(), w.data(), x.data(), workspace.data()),
      "a plan for the forward pass was given to the backward-data pass");
  REQUIRE(forward.workspace > 0);  // im2col's columns, the product, the GEMM's packing
  CHECK_THROWS_WITH(cpu::conv2d_forward(s, forward, x.data(), w.data(), nullptr, y.data(), nullptr),
                    "the plan (gemm) needs a workspace of " + std::to_string(forward.workspace) +
                        " floats, got none");
  // Planned for one thread count, run under another: refused (the workspace is cut per thread).
  const int threads = omp_get_max_threads();
  omp_set_num_threads(threads + 1);
  CHECK_THROWS_WITH(
      cpu::conv2d_forward(s, forward, x.data(), w.data(), nullptr, y.data(), workspace.data()),
      "the plan was made for " + std::to_string(threads) + " OpenMP threads, and " +
          std::to_string(threads + 1) + " are set now: plan the pass again");
  omp_set_num_threads(threads);
}
