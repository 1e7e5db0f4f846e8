// CPU convolution at the reference ResNet's shapes (docs/design.md, section 2) and FastNet's,
// batch 128:
// forward, backward-data and backward-weight, reported in GFLOP/s of the direct convolution
// (2 * its multiply-adds: Winograd does fewer, so its "effective" rate can pass the machine's
// peak). Each layer and pass has a row per version, so that the steps of the teaching path
// (docs/reading_guide.md) can be re-measured:
//   v0_direct    the loop nest of the definition (kernels/cpu/conv2d_direct.cpp)
//   v1_im2col    im2col + the packed GEMM (kernels/cpu/conv2d.cpp)
//   v2_winograd  Winograd F(2x2, 3x3) or F(4x4, 3x3), stride-1 3x3 layers only
//                (kernels/cpu/conv2d_winograd.cpp)
//   fast         what the library runs: the rule of conv2d_plan picks v1 or v2
//   build/bench/bench_conv2d_cpu --benchmark_filter=stem
//   build/bench/bench_conv2d_cpu --benchmark_filter='block1_.*(im2col|winograd)$'
//   build/bench/bench_conv2d_cpu --benchmark_filter='/fast$'     the library's choice only
// Runs on the kernels directly (no Tensor, no autograd), as a reader of kernels/ would.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/conv2d_direct.h"

namespace {

using minidl::kernels::Conv2dAlgorithm;
using minidl::kernels::Conv2dShape;
using Pass = minidl::kernels::Conv2dPass;

struct Layer {
  const char* name;
  int in_channels, in_hw, out_channels, kernel, stride, pad;
};

// Every distinct convolution of the reference model (input 32x32), then FastNet's.
const Layer kLayers[] = {
    {"stem_7x7_s2_3to64_32px", 3, 32, 64, 7, 2, 3},
    {"block1_3x3_64to64_16px", 64, 16, 64, 3, 1, 1},
    {"block2a_3x3_s2_64to128_16px", 64, 16, 128, 3, 2, 1},
    {"block2b_3x3_128to128_8px", 128, 8, 128, 3, 1, 1},
    {"block2proj_1x1_s2_64to128_16px", 64, 16, 128, 1, 2, 0},
    {"block3a_3x3_s2_128to256_8px", 128, 8, 256, 3, 2, 1},
    {"block3b_3x3_256to256_4px", 256, 4, 256, 3, 1, 1},
    {"block3proj_1x1_s2_128to256_8px", 128, 8, 256, 1, 2, 0},
    {"block4a_3x3_s2_256to512_4px", 256, 4, 512, 3, 2, 1},
    {"block4b_3x3_512to512_2px", 512, 2, 512, 3, 1, 1},
    {"block4proj_1x1_s2_256to512_4px", 256, 4, 512, 1, 2, 0},
    // FastNet's (models/fast_net.h, the fast presets): the whitening stem and each group's
    // two 3x3 convolutions at full resolution (31, 15, 7 and 3 pixels after the stem and each
    // pool). The 256 -> 256 layer at 7 pixels runs twice per step (group 2's second, group
    // 3's first).
    {"fastnet_whiten_2x2_3to24_32px", 3, 32, 24, 2, 1, 0},
    {"fastnet_g1a_3x3_24to64_31px", 24, 31, 64, 3, 1, 1},
    {"fastnet_g1b_3x3_64to64_15px", 64, 15, 64, 3, 1, 1},
    {"fastnet_g2a_3x3_64to256_15px", 64, 15, 256, 3, 1, 1},
    {"fastnet_g2b_g3a_3x3_256to256_7px", 256, 7, 256, 3, 1, 1},
    {"fastnet_g3b_3x3_256to256_3px", 256, 3, 256, 3, 1, 1},
};

constexpr int kBatch = 128;

Conv2dShape shape_of(const Layer& l) {
  Conv2dShape s;
  s.batch = kBatch;
  s.in_channels = l.in_channels;
  s.in_h = s.in_w = l.in_hw;
  s.out_channels = l.out_channels;
  s.kernel_h = s.kernel_w = l.kernel;
  s.stride_h = s.stride_w = l.stride;
  s.pad_h = s.pad_w = l.pad;
  return s;
}

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

enum class Version { Direct, Im2col, Winograd, Fast };

void run(benchmark::State& state, Layer layer, Pass pass, Version version) {
  namespace cpu = minidl::kernels::cpu;
  minidl::kernels::Conv2dPlan requested;  // Auto for "fast"
  if (version == Version::Im2col) requested.algorithm = Conv2dAlgorithm::Gemm;
  if (version == Version::Winograd) requested.algorithm = Conv2dAlgorithm::Winograd;
  const bool direct = version == Version::Direct;
  const Conv2dShape s = shape_of(layer);
  // Planned once, outside the timed loop, as ops::conv2d plans once per call.
  const minidl::kernels::Conv2dPlan plan = cpu::conv2d_plan(s, pass, requested);
  std::vector<float> workspace(size_t(std::max<int64_t>(plan.workspace, 1)));
  const size_t x_size = size_t(s.batch) * s.in_channels * s.in_h * s.in_w;
  const size_t w_size = size_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  const size_t y_size = size_t(s.batch) * s.out_channels * s.out_h() * s.out_w();
  std::vector<float> x = random_vector(x_size, 1), w = random_vector(w_size, 2),
                     y = random_vector(y_size, 3), bias(s.out_channels);
  for (auto _ : state) {
    switch (pass) {
      case Pass::Forward:
        if (direct) {
          cpu::conv2d_forward_direct(s, x.data(), w.data(), bias.data(), y.data());
        } else {
          cpu::conv2d_forward(s, plan, x.data(), w.data(), bias.data(), y.data(), workspace.data());
        }
        break;
      case Pass::BackwardData:
        if (direct) {
          cpu::conv2d_backward_data_direct(s, y.data(), w.data(), x.data());
        } else {
          cpu::conv2d_backward_data(s, plan, y.data(), w.data(), x.data(), workspace.data());
        }
        break;
      case Pass::BackwardWeight:
        if (direct) {
          cpu::conv2d_backward_weight_direct(s, x.data(), y.data(), w.data(), bias.data());
        } else {
          cpu::conv2d_backward_weight(s, plan, x.data(), y.data(), w.data(), bias.data(),
                                      workspace.data());
        }
        break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(s.flops() * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}

const int kRegistered = [] {
  const std::pair<Pass, const char*> passes[] = {{Pass::Forward, "forward"},
                                                 {Pass::BackwardData, "backward_data"},
                                                 {Pass::BackwardWeight, "backward_weight"}};
  const std::pair<Version, const char*> versions[] = {{Version::Direct, "v0_direct"},
                                                      {Version::Im2col, "v1_im2col"},
                                                      {Version::Winograd, "v2_winograd"},
                                                      {Version::Fast, "fast"}};
  for (const Layer& layer : kLayers) {
    for (const auto& [pass, pass_name] : passes) {
      for (const auto& [version, version_name] : versions) {
        const bool supported =
            version != Version::Winograd || minidl::kernels::winograd_supports(shape_of(layer));
        if (!supported) continue;
        const std::string name =
            std::string("conv2d_cpu/") + layer.name + "/" + pass_name + "/" + version_name;
        benchmark::RegisterBenchmark(name.c_str(), run, layer, pass, version)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
