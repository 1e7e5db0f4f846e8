// minidl's CPU GEMM (kernels/cpu/gemm.cpp) side by side with Eigen's general matrix product on
// one thread, at the products the reference ResNet's CPU convolutions run, in GFLOP/s.
//   OMP_NUM_THREADS=1 build/bench/bench_gemm_cpu
// Each shape names its transposes (N: as stored, T: transposed) and M x N x K; the rows
// alternate minidl / eigen so that a slow period of the machine hits both, then the naive
// teaching GEMM (kernels/cpu/gemm_naive.cpp, one dot product per element) shows what the
// packing, blocking and register tiles of the fast one buy.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

#include "minidl/kernels/gemm.h"

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Product {
  const char* what;
  bool transpose_a, transpose_b;
  int m, n, k;
};

// im2col forward / backward-data / backward-weight of the stem and of block2a (chunks of 22
// images), and Winograd's per-element products of block1 and block3b.
const Product kProducts[] = {
    {"stem_forward", false, false, 64, 5632, 147},
    {"stem_backward_weight", false, true, 64, 147, 5632},
    {"block2a_forward", false, false, 128, 1408, 576},
    {"block2a_backward_data", true, false, 576, 1408, 128},
    {"block2a_backward_weight", false, true, 128, 576, 1408},
    {"block1_winograd_forward", false, false, 64, 1024, 64},
    {"block1_winograd_backward_weight", false, true, 64, 64, 1024},
    {"block3b_winograd_forward", false, false, 256, 256, 256},
};

enum class Peer { Minidl, Eigen, Naive };

void run(benchmark::State& state, Product p, Peer peer) {
  const RowMajor a = RowMajor::Random(p.transpose_a ? p.k : p.m, p.transpose_a ? p.m : p.k);
  const RowMajor b = RowMajor::Random(p.transpose_b ? p.n : p.k, p.transpose_b ? p.k : p.n);
  RowMajor c(p.m, p.n);
  std::vector<float> workspace(size_t(minidl::kernels::cpu::gemm_workspace(p.m, p.n, p.k, 0)));
  for (auto _ : state) {
    if (peer == Peer::Minidl) {
      minidl::kernels::cpu::gemm(p.transpose_a, p.transpose_b, p.m, p.n, p.k, 1.f, a.data(),
                                 b.data(), 0.f, c.data(), workspace.data());
    } else if (peer == Peer::Naive) {
      minidl::kernels::cpu::gemm_naive(p.transpose_a, p.transpose_b, p.m, p.n, p.k, 1.f, a.data(),
                                       b.data(), 0.f, c.data());
    } else if (p.transpose_a) {
      c.noalias() = a.transpose() * b;
    } else if (p.transpose_b) {
      c.noalias() = a * b.transpose();
    } else {
      c.noalias() = a * b;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * p.m * p.n * p.k * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}

const int kRegistered = [] {
  for (const Product& p : kProducts) {
    const std::string shape = std::string(p.transpose_a ? "T" : "N") + (p.transpose_b ? "T" : "N") +
                              "_" + std::to_string(p.m) + "x" + std::to_string(p.n) + "x" +
                              std::to_string(p.k);
    const std::pair<Peer, const char*> peers[] = {
        {Peer::Minidl, "minidl"}, {Peer::Eigen, "eigen"}, {Peer::Naive, "naive"}};
    for (const auto& [peer, peer_name] : peers) {
      const std::string name = std::string("gemm_cpu/") + p.what + "/" + shape + "/" + peer_name;
      benchmark::RegisterBenchmark(name.c_str(), run, p, peer)->UseRealTime();
    }
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
