// What the CUDA suites share: run an op on CPU tensors and on CUDA tensors made from the same
// values, and require that the outputs and every input gradient agree (relative error under
// the tolerance), that every output element was written (device memory is poisoned with NaN),
// and that a second CUDA run is bitwise identical (no atomics or races in the kernels).
// Without a usable CUDA device every case says "SKIPPED: <reason>" and returns.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "minidl/core/allocator.h"
#include "minidl/core/minidl.h"

namespace cudatest {

using minidl::Device;
using minidl::Tensor;
using Op = std::function<Tensor(const std::vector<Tensor>&)>;

inline bool skip_without_cuda() {
  if (minidl::cuda_available()) {
    minidl::set_poison_cuda_allocations(true);
    return false;
  }
  WARN("SKIPPED: " << minidl::cuda_status());
  return true;
}

inline double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    norm += double(want[i]) * want[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-12);
}

inline void require_close(const Tensor& gpu, const Tensor& cpu, double tolerance,
                          const char* what) {
  INFO(what << ": shapes " << gpu.shape_str() << " and " << cpu.shape_str());
  REQUIRE(gpu.shape() == cpu.shape());
  const std::vector<float> g = gpu.to_vector(), c = cpu.to_vector();
  size_t nans = 0;
  for (float v : g) nans += std::isnan(v);
  INFO(what << ": " << nans << " NaN elements in the CUDA result (unwritten output?)");
  REQUIRE(nans == 0);
  const double err = rel_err(g, c);
  INFO(what << ": relative error " << err << ", tolerance " << tolerance);
  CHECK(err <= tolerance);
}

inline Tensor random_like(const Tensor& t, minidl::Generator& gen) {
  return Tensor::normal(t.shape(), 0.f, 1.f, gen, t.device());
}

// Runs `op` on CPU and CUDA copies of `inputs` and compares forward and backward (for the
// inputs listed in `differentiable`, by index). Returns nothing; REQUIREs inside.
inline void compare_op(const std::vector<Tensor>& inputs, const Op& op, double tolerance,
                       const std::vector<size_t>& differentiable) {
  minidl::Generator gen(1234);
  std::vector<Tensor> cpu, gpu;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool grad =
        std::find(differentiable.begin(), differentiable.end(), i) != differentiable.end();
    cpu.push_back(inputs[i].clone().set_requires_grad(grad));
    gpu.push_back(inputs[i].to(Device::CUDA).set_requires_grad(grad));
  }
  const Tensor out_cpu = op(cpu);
  const Tensor upstream = random_like(out_cpu, gen);
  auto backward = [&](const Tensor& out, const Tensor& up) {
    if (!differentiable.empty()) minidl::ops::sum(minidl::ops::mul(out, up)).backward();
  };
  backward(out_cpu, upstream);

  std::vector<std::vector<float>> first_grads;
  std::vector<float> first_out;
  for (int run = 0; run < 2; ++run) {
    for (Tensor& t : gpu) t.zero_grad();
    const Tensor out_gpu = op(gpu);
    REQUIRE(out_gpu.device() == Device::CUDA);
    backward(out_gpu, upstream.to(Device::CUDA));
    if (run == 0) {
      require_close(out_gpu, out_cpu, tolerance, "forward output");
      first_out = out_gpu.to_vector();
      for (size_t i : differentiable) {
        INFO("gradient of input " << i);
        REQUIRE(gpu[i].grad().defined());
        require_close(gpu[i].grad(), cpu[i].grad(), tolerance, "input gradient");
        first_grads.push_back(gpu[i].grad().to_vector());
      }
    } else {
      INFO("a second CUDA run must be bitwise identical");
      CHECK(out_gpu.to_vector() == first_out);
      for (size_t k = 0; k < differentiable.size(); ++k) {
        CHECK(gpu[differentiable[k]].grad().to_vector() == first_grads[k]);
      }
    }
  }
}

}  // namespace cudatest
