// CPU batch norm at the reference ResNet's activation shapes, batch 128: the training forward
// and the backward, plain and with the fused epilogues (ReLU; residual add + ReLU), reported in
// GB/s of the tensors each pass must read and write at least once (batch norm is memory-bound:
// a few flops per value).
//   build/bench/bench_batch_norm_cpu --benchmark_filter=backward
// Runs on the kernels directly (kernels/batch_norm.h), as bench_conv2d_cpu does.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "minidl/kernels/batch_norm.h"

namespace {

using minidl::kernels::BatchNormEpilogue;
using minidl::kernels::BatchNormShape;

struct Activation {
  const char* name;
  int channels, hw;
};

// The distinct activation shapes that batch norm sees in the reference model (input 32x32).
const Activation kActivations[] = {
    {"64ch_16px", 64, 16}, {"128ch_8px", 128, 8}, {"256ch_4px", 256, 4}, {"512ch_2px", 512, 2}};

enum class Fusion { None, Relu, AddRelu };
constexpr int kBatch = 128;

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

void run(benchmark::State& state, Activation a, bool backward, Fusion fusion) {
  const BatchNormShape s{kBatch, a.channels, int64_t(a.hw) * a.hw};
  const size_t size = size_t(s.batch) * s.channels * s.spatial;
  std::vector<float> x = random_vector(size, 1), y(size), dy = random_vector(size, 2), dx(size),
                     residual = random_vector(size, 3), residual_grad(size);
  std::vector<float> gamma(s.channels, 1.f), beta(s.channels, 0.f), mean(s.channels),
      invstd(s.channels), running_mean(s.channels), running_var(s.channels, 1.f),
      dgamma(s.channels), dbeta(s.channels);
  BatchNormEpilogue epilogue;
  epilogue.relu = fusion != Fusion::None;
  epilogue.residual = fusion == Fusion::AddRelu ? residual.data() : nullptr;
  std::vector<float> workspace(size_t(minidl::kernels::cpu::batch_norm_workspace(s)));
  minidl::kernels::cpu::batch_norm_forward_train(
      s, x.data(), gamma.data(), beta.data(), epilogue, 1e-5f, 0.1f, y.data(), mean.data(),
      invstd.data(), running_mean.data(), running_var.data(), workspace.data());
  // Tensors touched: forward reads x (and the residual), writes y; backward reads dy, x (and
  // y for the ReLU mask), writes dx (and the residual's gradient).
  int tensors = 0;
  for (auto _ : state) {
    if (backward) {
      minidl::kernels::cpu::batch_norm_backward(
          s, dy.data(), x.data(), gamma.data(), mean.data(), invstd.data(),
          epilogue.relu ? y.data() : nullptr, dx.data(),
          fusion == Fusion::AddRelu ? residual_grad.data() : nullptr, dgamma.data(), dbeta.data(),
          workspace.data());
      tensors = 3 + (fusion != Fusion::None) + (fusion == Fusion::AddRelu);
    } else {
      minidl::kernels::cpu::batch_norm_forward_train(
          s, x.data(), gamma.data(), beta.data(), epilogue, 1e-5f, 0.1f, y.data(), mean.data(),
          invstd.data(), running_mean.data(), running_var.data(), workspace.data());
      tensors = 2 + (fusion == Fusion::AddRelu);
    }
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] =
      benchmark::Counter(double(tensors) * size * sizeof(float) * 1e-9 * state.iterations(),
                         benchmark::Counter::kIsRate);
}

const int kRegistered = [] {
  const std::pair<Fusion, const char*> fusions[] = {
      {Fusion::None, "plain"}, {Fusion::Relu, "relu"}, {Fusion::AddRelu, "add_relu"}};
  for (const Activation& a : kActivations) {
    for (bool backward : {false, true}) {
      for (const auto& [fusion, fusion_name] : fusions) {
        const std::string name = std::string("batch_norm_cpu/") + a.name + "/" +
                                 (backward ? "backward/" : "forward/") + fusion_name;
        benchmark::RegisterBenchmark(name.c_str(), run, a, backward, fusion)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
