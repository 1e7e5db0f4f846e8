// The CUDA convolution kernels called directly, under every algorithm and tiling they can run
// with (implicit GEMM, and Winograd for 3x3 stride 1; tile sizes 64/128 in each direction,
// with and without split-K), against the CPU kernels on
// awkward shapes: 3 input channels, 1x1 spatial, non-square kernels and strides, channel counts
// that are not multiples of any tile, stride larger than the kernel (backward-data phases with
// no taps). Every result must be NaN-free (outputs and workspace are poisoned), within 1e-4
// of the CPU, and bitwise identical when run again. Built for the GPU (native) and the emulator.
#include <string>

#include "cuda_check.h"
#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/cuda/fast_divmod.cuh"

using namespace minidl;
using kernels::Conv2dAlgorithm;
using kernels::Conv2dPass;
using kernels::Conv2dPlan;
using kernels::Conv2dShape;

namespace {

Conv2dShape shape(int batch, int c, int h, int w, int k, int r, int s, int stride_h, int stride_w,
                  int pad_h, int pad_w) {
  Conv2dShape sh;
  sh.batch = batch;
  sh.in_channels = c;
  sh.in_h = h;
  sh.in_w = w;
  sh.out_channels = k;
  sh.kernel_h = r;
  sh.kernel_w = s;
  sh.stride_h = stride_h;
  sh.stride_w = stride_w;
  sh.pad_h = pad_h;
  sh.pad_w = pad_w;
  return sh;
}

// A request for conv2d_plan: these tiles and slices, this algorithm.
Conv2dPlan request(int tile_m, int tile_n, int slices,
                   Conv2dAlgorithm algorithm = Conv2dAlgorithm::Auto) {
  Conv2dPlan plan;
  plan.tile_m = tile_m;
  plan.tile_n = tile_n;
  plan.slices = slices;
  plan.algorithm = algorithm;
  return plan;
}

std::string describe(const Conv2dShape& s, const Conv2dPlan& t) {
  const char* algorithm = t.algorithm == Conv2dAlgorithm::Winograd ? " winograd" : " implicit-gemm";
  return "x [" + std::to_string(s.batch) + "," + std::to_string(s.in_channels) + "," +
         std::to_string(s.in_h) + "," + std::to_string(s.in_w) + "] w [" +
         std::to_string(s.out_channels) + "," + std::to_string(s.in_channels) + "," +
         std::to_string(s.kernel_h) + "," + std::to_string(s.kernel_w) + "] stride " +
         std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) + " pad " +
         std::to_string(s.pad_h) + "x" + std::to_string(s.pad_w) + " tiling " +
         std::to_string(t.tile_m) + "x" + std::to_string(t.tile_n) + "x" +
         std::to_string(t.slices) + algorithm;
}

Tensor random(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return Tensor::normal(shape, 0.f, 1.f, gen);
}

Tensor workspace_for(const Conv2dPlan& plan, Device device) {
  return Tensor::empty({std::max<int64_t>(plan.workspace, 1)}, device);
}

// Runs a CUDA pass twice into fresh (NaN-poisoned) buffers; checks it against `want`.
template <class Pass>
void check_pass(const char* what, const Tensor& want, Pass run_pass) {
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    Tensor got = Tensor::empty(want.shape(), Device::CUDA);
    run_pass(got);
    if (run == 0) {
      cudatest::require_close(got, want, 1e-4, what);
      first = got.to_vector();
    } else {
      INFO(what << ": a second run must be bitwise identical");
      CHECK(got.to_vector() == first);
    }
  }
}

}  // namespace

TEST_CASE("FastDivmod divides like the hardware divider", "[gpu][conv2d]") {
  for (int d : {1, 2, 3, 5, 7, 9, 16, 49, 100, 147, 255, 256, 4608, 65537, 1 << 20, 123457}) {
    const kernels::cuda::FastDivmod by(d);
    for (int n : {0, 1, d - 1, d, d + 1, 2 * d + 3, 1000003, 2147483647, 2147483647 - d}) {
      if (n < 0) continue;
      int q, r;
      by.divmod(n, q, r);
      INFO("n " << n << " d " << d);
      REQUIRE(q == n / d);
      REQUIRE(r == n % d);
    }
  }
}

TEST_CASE("cuda conv2d passes match the CPU under every tiling", "[gpu][conv2d][all_tilings]") {
  if (cudatest::skip_without_cuda()) return;
  const Conv2dShape shapes[] = {
      shape(1, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1),      // 3 input channels, batch 1
      shape(2, 13, 9, 6, 17, 3, 2, 1, 1, 0, 0),    // odd channels, non-square kernel
      shape(2, 6, 10, 7, 70, 5, 5, 2, 2, 2, 2),    // 70 filters: two 64-row tiles
      shape(3, 3, 11, 11, 4, 1, 1, 3, 3, 0, 0),    // stride > kernel: phases without taps
      shape(2, 130, 5, 5, 129, 3, 3, 2, 2, 1, 1),  // channels past 128, stride 2
      shape(1, 5, 1, 1, 7, 3, 3, 1, 1, 1, 1),      // 1x1 spatial
      shape(2, 9, 8, 9, 11, 3, 1, 2, 1, 1, 0),     // different strides and pads per axis
      shape(2, 64, 4, 4, 128, 1, 1, 2, 2, 0, 0),   // a projection shortcut
      shape(2, 70, 6, 5, 66, 3, 3, 1, 1, 1, 1),    // Winograd's choice: odd output, partial tiles
      shape(2, 8, 7, 7, 9, 3, 3, 1, 1, 0, 0),      // no padding (backward-data pads by 2)
      shape(1, 4, 5, 6, 3, 3, 3, 1, 1, 2, 2),      // padding 2 (backward-data pads by 0)
  };
  for (const Conv2dShape& s : shapes) {
    const Tensor x = random({s.batch, s.in_channels, s.in_h, s.in_w}, 1);
    const Tensor w = random({s.out_channels, s.in_channels, s.kernel_h, s.kernel_w}, 2);
    const Tensor bias = random({s.out_channels}, 3);
    const Tensor dy = random({s.batch, s.out_channels, s.out_h(), s.out_w()}, 4);
    Tensor y_cpu = Tensor::empty(dy.shape()), dx_cpu = Tensor::empty(x.shape());
    Tensor dw_cpu = Tensor::empty(w.shape());
    {
      namespace cpu = kernels::cpu;
      const Conv2dPlan forward = cpu::conv2d_plan(s, Conv2dPass::Forward);
      const Conv2dPlan data = cpu::conv2d_plan(s, Conv2dPass::BackwardData);
      const Conv2dPlan weight = cpu::conv2d_plan(s, Conv2dPass::BackwardWeight);
      cpu::conv2d_forward(s, forward, x.data(), w.data(), bias.data(), y_cpu.data(),
                          workspace_for(forward, Device::CPU).data());
      cpu::conv2d_backward_data(s, data, dy.data(), w.data(), dx_cpu.data(),
                                workspace_for(data, Device::CPU).data());
      cpu::conv2d_backward_weight(s, weight, x.data(), dy.data(), dw_cpu.data(), nullptr,
                                  workspace_for(weight, Device::CPU).data());
    }
    const Tensor x_d = x.to(Device::CUDA), w_d = w.to(Device::CUDA);
    const Tensor bias_d = bias.to(Device::CUDA), dy_d = dy.to(Device::CUDA);

    std::vector<Conv2dAlgorithm> algorithms{Conv2dAlgorithm::Gemm};
    if (s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1) {
      algorithms.push_back(Conv2dAlgorithm::Winograd);
    }
    for (Conv2dAlgorithm algorithm : algorithms) {
      for (int tile_m : {64, 128}) {
        for (int tile_n : {64, 128}) {
          for (int slices : {1, 3}) {
            namespace cuda = kernels::cuda;
            const Conv2dPlan t = request(tile_m, tile_n, slices, algorithm);
            INFO(describe(s, t));
            const Conv2dPlan forward = cuda::conv2d_plan(s, Conv2dPass::Forward, t);
            const Tensor ws_f = workspace_for(forward, Device::CUDA);
            check_pass("forward", y_cpu, [&](Tensor& y) {
              cuda::conv2d_forward(s, forward, x_d.data(), w_d.data(), bias_d.data(), y.data(),
                                   ws_f.data());
            });
            const Conv2dPlan data = cuda::conv2d_plan(s, Conv2dPass::BackwardData, t);
            const Tensor ws_d = workspace_for(data, Device::CUDA);
            check_pass("backward-data", dx_cpu, [&](Tensor& dx) {
              cuda::conv2d_backward_data(s, data, dy_d.data(), w_d.data(), dx.data(), ws_d.data());
            });
            const Conv2dPlan weight = cuda::conv2d_plan(s, Conv2dPass::BackwardWeight, t);
            const Tensor ws_w = workspace_for(weight, Device::CUDA);
            check_pass("backward-weight", dw_cpu, [&](Tensor& dw) {
              cuda::conv2d_backward_weight(s, weight, x_d.data(), dy_d.data(), dw.data(), nullptr,
                                           ws_w.data());
            });
          }
        }
      }
    }
  }
}

TEST_CASE("cuda conv2d tiling rule fills the GPU and rejects bad tilings", "[gpu][conv2d]") {
  // The reference model's block 4 at batch 128: 3x3 stride 1 with 512 channels goes to
  // Winograd, whose 16 GEMMs of 512x128 are too few tiles for the GPU: the reduction is split.
  const Conv2dShape b4 = shape(128, 512, 2, 2, 512, 3, 3, 1, 1, 1, 1);
  namespace cuda = kernels::cuda;
  const Conv2dPlan t = cuda::conv2d_plan(b4, Conv2dPass::Forward);
  CHECK(t.algorithm == Conv2dAlgorithm::Winograd);
  CHECK(t.winograd_tile == 2);
  CHECK(t.slices > 1);
  CHECK(describe(t) == "winograd F2x2 " + std::to_string(t.tile_m) + "x" +
                           std::to_string(t.tile_n) + " split " + std::to_string(t.slices));
  // The same layer forced to the implicit GEMM: 16 tiles of 128x128, split too, and its
  // workspace holds one partial output per slice.
  const Conv2dPlan direct =
      cuda::conv2d_plan(b4, Conv2dPass::Forward, request(0, 0, 0, Conv2dAlgorithm::Gemm));
  CHECK(direct.slices > 1);
  CHECK(direct.workspace == int64_t(direct.slices) * 128 * 512 * 2 * 2);
  // The stem (3 input channels, stride 2) stays with the implicit GEMM; at batch 128 its
  // forward pass has enough column tiles not to split.
  const Conv2dShape stem = shape(128, 3, 32, 32, 64, 7, 7, 2, 2, 3, 3);
  const Conv2dPlan stem_t = cuda::conv2d_plan(stem, Conv2dPass::Forward);
  CHECK(stem_t.algorithm == Conv2dAlgorithm::Gemm);
  CHECK(stem_t.slices == 1);
  CHECK(stem_t.workspace == 0);
  // An explicit request is kept.
  const Conv2dPlan forced =
      cuda::conv2d_plan(stem, Conv2dPass::BackwardWeight, request(128, 64, 5));
  CHECK(forced.pass == Conv2dPass::BackwardWeight);
  CHECK(forced.tile_m == 128);
  CHECK(forced.tile_n == 64);
  CHECK(forced.slices == 5);
  CHECK(describe(forced) == "gemm 128x64 split 5");
  CHECK_THROWS_WITH(cuda::conv2d_plan(stem, Conv2dPass::Forward, request(96, 64, 1)),
                    Catch::Contains("tiles must be 64 or 128"));
  Conv2dPlan four_by_four = request(0, 0, 0, Conv2dAlgorithm::Winograd);
  four_by_four.winograd_tile = 4;
  CHECK_THROWS_WITH(cuda::conv2d_plan(b4, Conv2dPass::Forward, four_by_four),
                    "CUDA's Winograd tile is 2 (F(2x2, 3x3)), got 4");
  // A pass runs only the plan made for it, with its workspace (refused before any pointer is
  // read: this test needs no GPU).
  CHECK_THROWS_WITH(cuda::conv2d_forward(b4, forced, nullptr, nullptr, nullptr, nullptr, nullptr),
                    "a plan for the backward-weight pass was given to the forward pass");
  CHECK_THROWS_WITH(cuda::conv2d_forward(b4, t, nullptr, nullptr, nullptr, nullptr, nullptr),
                    Catch::Contains("needs a workspace of " + std::to_string(t.workspace)));
  CHECK_THROWS_WITH(
      cuda::conv2d_plan(stem, Conv2dPass::Forward, request(0, 0, 0, Conv2dAlgorithm::Winograd)),
      Catch::Contains("Winograd needs a 3x3 kernel, stride 1"));
}
