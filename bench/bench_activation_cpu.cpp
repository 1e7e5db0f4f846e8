// CPU activations (kernels/activation.h): forward and backward of sigmoid, tanh, exp, log and
// GELU over one activation tensor of a full-resolution CIFAR-10 layer, batch 128 x 64 channels
// x 32 x 32 (8.4M floats). Reported in elements/s and in GB/s of the tensors each pass must
// read and write (forward: x in, y out; backward: the saved tensor and dy in, dx out), so that
// a memory-bound kernel shows against the machine's bandwidth and a compute-bound one (GELU's
// erf and exp, per element) shows below it.
//   build/bench/bench_activation_cpu --benchmark_filter=gelu
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "minidl/kernels/activation.h"

namespace {

using minidl::kernels::Activation;

constexpr int64_t kElements = int64_t(128) * 64 * 32 * 32;

void run(benchmark::State& state, Activation f, bool backward) {
  std::mt19937 gen(1);
  // log needs positive inputs; the others get the normal spread of a pre-activation.
  std::normal_distribution<float> normal;
  const size_t count = static_cast<size_t>(kElements);
  std::vector<float> x(count), y(count), dy(count), dx(count);
  for (float& v : x) v = f == Activation::Log ? 0.1f + std::abs(normal(gen)) : normal(gen);
  for (float& v : dy) v = normal(gen);
  minidl::kernels::cpu::activation_forward(f, kElements, x.data(), y.data());
  const float* saved = minidl::kernels::activation_grad_reads_input(f) ? x.data() : y.data();
  for (auto _ : state) {
    if (backward) {
      minidl::kernels::cpu::activation_backward(f, kElements, saved, dy.data(), dx.data());
      benchmark::DoNotOptimize(dx.data());
    } else {
      minidl::kernels::cpu::activation_forward(f, kElements, x.data(), y.data());
      benchmark::DoNotOptimize(y.data());
    }
    benchmark::ClobberMemory();
  }
  const int tensors = backward ? 3 : 2;
  state.SetItemsProcessed(state.iterations() * kElements);
  state.SetBytesProcessed(state.iterations() * kElements * tensors * int64_t(sizeof(float)));
}

struct Named {
  const char* name;
  Activation f;
};
const Named kActivations[] = {{"sigmoid", Activation::Sigmoid},
                              {"tanh", Activation::Tanh},
                              {"exp", Activation::Exp},
                              {"log", Activation::Log},
                              {"gelu", Activation::Gelu}};

const bool registered = [] {
  for (const Named& a : kActivations) {
    for (const bool backward : {false, true}) {
      const std::string name = std::string(a.name) + (backward ? "/backward" : "/forward");
      benchmark::RegisterBenchmark(name.c_str(), run, a.f, backward)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
