// The CUDA code path end to end: optimizer update kernels against the CPU, and one full
// training step of the reference ResNet (exact architecture, batch scaled down) on CUDA
// against the same step on the CPU: the loss, every gradient, and every updated parameter;
// and further steps that need no new device memory (the caching allocator).
#include "cuda_check.h"
#include "minidl/models/resnet.h"
#include "minidl/optim/moving_average.h"
#include "minidl/optim/optimizer.h"

using namespace minidl;
using cudatest::require_close;

TEST_CASE("cuda SGD Adam and AdamW updates match the CPU", "[gpu][optim]") {
  if (cudatest::skip_without_cuda()) return;
  Generator gen(31);
  const Tensor start = Tensor::normal({3, 5, 7}, 0.f, 1.f, gen);
  const Tensor grad = Tensor::normal({3, 5, 7}, 0.f, 1.f, gen);
  for (int kind = 0; kind < 3; ++kind) {
    INFO((kind == 0 ? "SGD" : kind == 1 ? "Adam" : "AdamW"));
    Tensor p_cpu = start.clone().set_requires_grad(),
           p_gpu = start.to(Device::CUDA).set_requires_grad();
    auto make = [kind](Tensor p) -> std::unique_ptr<Optimizer> {
      if (kind == 0)
        return std::make_unique<SGD>(
            std::vector<Tensor>{p},
            SgdOptions(0.1f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));
      if (kind == 1)
        return std::make_unique<Adam>(std::vector<Tensor>{p},
                                      AdamOptions(0.01f).weight_decay(0.01f));
      return std::make_unique<AdamW>(std::vector<Tensor>{p},
                                     AdamOptions(0.01f).weight_decay(0.01f));
    };
    auto cpu = make(p_cpu), gpu = make(p_gpu);
    for (int step = 0; step < 3; ++step) {
      cpu->zero_grad();
      gpu->zero_grad();
      ops::sum(ops::mul(p_cpu, grad)).backward();  // d/dp = grad
      ops::sum(ops::mul(p_gpu, grad.to(Device::CUDA))).backward();
      cpu->step();
      gpu->step();
    }
    require_close(p_gpu, p_cpu, 1e-6, "parameters after 3 steps");
  }
}

TEST_CASE("cuda weight averages (EMA and Lookahead) match the CPU", "[gpu][optim][average]") {
  if (cudatest::skip_without_cuda()) return;
  Generator gen(35);
  const Tensor start = Tensor::normal({3, 257}, 0.f, 1.f, gen);
  Tensor on_cpu = start.clone(), on_gpu = start.to(Device::CUDA);
  ExponentialMovingAverage cpu_average({on_cpu}), gpu_average({on_gpu});
  Lookahead cpu_lookahead({on_cpu}, 2, 0.3f), gpu_lookahead({on_gpu}, 2, 0.3f);
  for (int step = 0; step < 4; ++step) {
    const Tensor drift = Tensor::normal({3, 257}, 0.f, 1.f, gen);
    on_cpu.copy_(ops::add(on_cpu, drift));
    on_gpu.copy_(ops::add(on_gpu, drift.to(Device::CUDA)));
    cpu_average.update(0.9f);
    gpu_average.update(0.9f);
    cpu_lookahead.step();
    gpu_lookahead.step();
  }
  require_close(gpu_average.averages()[0], cpu_average.averages()[0], 1e-6, "EMA");
  require_close(on_gpu, on_cpu, 1e-6, "Lookahead's weights");
  gpu_average.swap();
  cpu_average.swap();
  require_close(on_gpu, on_cpu, 1e-6, "swapped-in average");
}

TEST_CASE("cuda SGD updates many tensors of awkward sizes in batched launches", "[gpu][optim]") {
  if (cudatest::skip_without_cuda()) return;
  // 35 tensors: more than one launch holds (32), and sizes around the 4096-float chunk of a
  // block (one element, a chunk minus one, exactly one, one more, several and a partial one).
  const int64_t sizes[] = {1, 4095, 4096, 4097, 10000, 3, 12289};
  for (float momentum : {0.9f, 0.f}) {
    INFO("momentum " << momentum);
    Generator gen(33);
    std::vector<Tensor> cpu_params, gpu_params, grads;
    for (int k = 0; k < 35; ++k) {
      const Tensor start = Tensor::normal({sizes[k % 7]}, 0.f, 1.f, gen);
      cpu_params.push_back(start.clone().set_requires_grad());
      gpu_params.push_back(start.to(Device::CUDA).set_requires_grad());
      grads.push_back(Tensor::normal({sizes[k % 7]}, 0.f, 1.f, gen));
    }
    const SgdOptions options =
        SgdOptions(0.1f).momentum(momentum).weight_decay(5e-4f).nesterov(momentum > 0.f);
    SGD cpu(cpu_params, options), gpu(gpu_params, options);
    for (int step = 0; step < 2; ++step) {
      cpu.zero_grad();
      gpu.zero_grad();
      for (size_t k = 0; k < grads.size(); ++k) {
        ops::sum(ops::mul(cpu_params[k], grads[k])).backward();
        ops::sum(ops::mul(gpu_params[k], grads[k].to(Device::CUDA))).backward();
      }
      cpu.step();
      gpu.step();
    }
    for (size_t k = 0; k < grads.size(); ++k) {
      INFO("tensor " << k << " of " << cpu_params[k].numel() << " floats");
      require_close(gpu_params[k], cpu_params[k], 1e-6, "parameters after 2 steps");
    }
  }
}

TEST_CASE("one training step of the reference ResNet on CUDA matches the CPU step",
          "[gpu][model]") {
  if (cudatest::skip_without_cuda()) return;
  manual_seed(41);
  ResNet cpu_model;
  manual_seed(41);
  ResNet gpu_model;
  gpu_model.to(Device::CUDA);
  REQUIRE(gpu_model.parameter_count() == 4910922);

  Generator gen(42);
  const Tensor images = Tensor::normal({4, 3, 32, 32}, 0.f, 1.f, gen);
  const std::vector<int> labels = {3, 1, 4, 1};
  SGD cpu_sgd(decay_groups(cpu_model.parameters()),
              SgdOptions(0.1f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));
  SGD gpu_sgd(decay_groups(gpu_model.parameters()),
              SgdOptions(0.1f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));

  const Tensor cpu_loss = ops::softmax_cross_entropy(cpu_model.forward(images), labels, 0.1f);
  const Tensor gpu_loss =
      ops::softmax_cross_entropy(gpu_model.forward(images.to(Device::CUDA)), labels, 0.1f);
  CHECK(gpu_loss.item() == Approx(cpu_loss.item()).epsilon(1e-4));
  cpu_loss.backward();
  gpu_loss.backward();

  // Summation orders differ (im2col + GEMM or Winograd on the CPU, tiled implicit GEMM on CUDA) and
  // the differences pass through 9 batch norms, so whole-model gradients get a looser tolerance.
  const double tolerance = 1e-3;
  const auto cpu_params = cpu_model.named_parameters(), gpu_params = gpu_model.named_parameters();
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    INFO("gradient of " << cpu_params[i].first);
    require_close(gpu_params[i].second.grad(), cpu_params[i].second.grad(), tolerance, "gradient");
  }
  cpu_sgd.step();
  gpu_sgd.step();
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    INFO("parameter " << cpu_params[i].first << " after the update");
    require_close(gpu_params[i].second, cpu_params[i].second, 1e-5, "parameter");
  }
  const auto cpu_buffers = cpu_model.named_buffers(), gpu_buffers = gpu_model.named_buffers();
  for (size_t i = 0; i < cpu_buffers.size(); ++i) {
    INFO("buffer " << cpu_buffers[i].first);
    require_close(gpu_buffers[i].second, cpu_buffers[i].second, 1e-4, "running statistic");
  }

  // From the second step on, every step allocates what the previous one did: the caching
  // allocator serves it all from its free lists and asks the device for no new memory.
  auto gpu_step = [&] {
    gpu_sgd.zero_grad();
    ops::softmax_cross_entropy(gpu_model.forward(images.to(Device::CUDA)), labels, 0.1f).backward();
    gpu_sgd.step();
  };
  gpu_step();
  const size_t allocations = allocator_stats(Device::CUDA).device_allocations;
  gpu_step();
  CHECK(allocator_stats(Device::CUDA).device_allocations == allocations);
}
