// Every CUDA kernel against its CPU twin, through the ops that dispatch to them: the reference
// model's shapes (batch scaled down so the emulator stays fast) and awkward ones (batch 1,
// 1x1 spatial, odd channel counts, non-square, sizes that are not multiples of the 64x64
// tiles, stride larger than the kernel). Each case also checks for unwritten (NaN-poisoned)
// outputs and bitwise determinism (cuda_check.h). Built twice: against the real library
// (label gpu; native on a GPU, skipped elsewhere) and against the emulator (label emulated).
#include "cuda_check.h"
#include "minidl/data/batch_upload.h"

using namespace minidl;
using cudatest::compare_op;

namespace {
constexpr double kTol = 1e-4;

Tensor randn(const Shape& shape, uint64_t seed, float scale = 1.f) {
  Generator gen(seed);
  return Tensor::normal(shape, 0.f, scale, gen);
}

struct ConvCase {
  Shape x, w;
  int stride, padding;
  bool bias;
};
}  // namespace

TEST_CASE("cuda conv2d forward backward-data and backward-weight match the CPU", "[gpu][conv2d]") {
  if (cudatest::skip_without_cuda()) return;
  const ConvCase cases[] = {
      {{2, 3, 32, 32}, {64, 3, 7, 7}, 2, 3, false},     // the stem
      {{2, 64, 16, 16}, {64, 64, 3, 3}, 1, 1, false},   // block 1
      {{2, 64, 16, 16}, {128, 64, 3, 3}, 2, 1, false},  // block 2, first conv
      {{2, 64, 16, 16}, {128, 64, 1, 1}, 2, 0, false},  // block 2 projection
      {{2, 512, 2, 2}, {512, 512, 3, 3}, 1, 1, false},  // block 4, second conv
      {{1, 5, 1, 1}, {7, 5, 3, 3}, 1, 1, true},         // batch 1, 1x1 spatial
      {{3, 13, 9, 6}, {17, 13, 3, 2}, 1, 0, true},      // odd channels, non-square
      {{2, 3, 11, 11}, {4, 3, 1, 1}, 3, 0, true},       // stride larger than the kernel
      {{2, 6, 10, 7}, {70, 6, 5, 5}, 2, 2, true},       // 70 filters: two 64-row tiles
  };
  for (const ConvCase& c : cases) {
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.stride << " pad "
              << c.padding << (c.bias ? " with bias" : ""));
    std::vector<Tensor> inputs{randn(c.x, 1), randn(c.w, 2, 0.1f)};
    if (c.bias) inputs.push_back(randn({c.w[0]}, 3));
    const int stride = c.stride, padding = c.padding;
    compare_op(
        inputs,
        [stride, padding](const std::vector<Tensor>& t) {
          return ops::conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), stride, padding);
        },
        kTol, c.bias ? std::vector<size_t>{0, 1, 2} : std::vector<size_t>{0, 1});
  }
}

TEST_CASE("cuda conv2d backward-weight splits long reductions deterministically", "[gpu][conv2d]") {
  if (cudatest::skip_without_cuda()) return;
  // 8 x 32 x 32 output pixels per filter: the reduction is split into several slices.
  compare_op({randn({8, 3, 32, 32}, 4), randn({16, 3, 3, 3}, 5, 0.2f)},
             [](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], Tensor(), 1, 1); },
             kTol, {1});
}

TEST_CASE("cuda batch_norm training and eval match the CPU", "[gpu][batch_norm]") {
  if (cudatest::skip_without_cuda()) return;
  const Shape shapes[] = {{2, 64, 16, 16}, {3, 5, 7, 5}, {4, 7, 1, 1}, {6, 13}, {2, 512, 2, 2}};
  for (const Shape& shape : shapes) {
    INFO("x " << shape_str(shape));
    const int64_t c = shape[1];
    for (bool training : {true, false}) {
      INFO((training ? "training" : "eval"));
      Tensor mean_cpu = randn({c}, 7, 0.1f), var_cpu = ops::scale(ops::relu(randn({c}, 8)), 1.f);
      var_cpu = ops::add(var_cpu.detach(), Tensor::full({c}, 0.5f));
      const Tensor mean_gpu = mean_cpu.to(Device::CUDA), var_gpu = var_cpu.to(Device::CUDA);
      compare_op({randn(shape, 9, 2.f), randn({c}, 10), randn({c}, 11)},
                 [&](const std::vector<Tensor>& t) {
                   const bool gpu = t[0].device() == Device::CUDA;
                   // Fresh running statistics per run, so both devices start equal.
                   Tensor rm = (gpu ? mean_gpu : mean_cpu).clone(),
                          rv = (gpu ? var_gpu : var_cpu).clone();
                   return ops::batch_norm(t[0], t[1], t[2], rm, rv, training, 0.1f, 1e-5f);
                 },
                 kTol, {0, 1, 2});
    }
    // The running statistics after one training step agree too.
    Tensor rm_cpu = Tensor::zeros({c}), rv_cpu = Tensor::ones({c});
    Tensor rm_gpu = Tensor::zeros({c}, Device::CUDA), rv_gpu = Tensor::ones({c}, Device::CUDA);
    const Tensor x = randn(shape, 12);
    ops::batch_norm(x, Tensor(), Tensor(), rm_cpu, rv_cpu, true);
    ops::batch_norm(x.to(Device::CUDA), Tensor(), Tensor(), rm_gpu, rv_gpu, true);
    cudatest::require_close(rm_gpu, rm_cpu, kTol, "running mean");
    cudatest::require_close(rv_gpu, rv_cpu, kTol, "running variance");
  }
}

TEST_CASE("cuda batch_norm with many chunks per channel matches the CPU", "[gpu][batch_norm]") {
  if (cudatest::skip_without_cuda()) return;
  // A block covers 2048 values of a channel: 2907 values is one full and one partial chunk,
  // 10240 exactly five, 76000 thirty-eight (more chunks than a warp has lanes, so the merge
  // loops), with a mean far from zero (the chunk moments must merge stably).
  const Shape shapes[] = {{9, 3, 17, 19}, {40, 2, 16, 16}, {2, 1, 200, 190}};
  for (const Shape& shape : shapes) {
    INFO("x " << shape_str(shape));
    const int64_t c = shape[1];
    compare_op(
        {ops::add(randn(shape, 21, 2.f), Tensor::full(shape, 5.f)), randn({c}, 22), randn({c}, 23)},
        [c](const std::vector<Tensor>& t) {
          Tensor rm = Tensor::zeros({c}, t[0].device()), rv = Tensor::ones({c}, t[0].device());
          return ops::batch_norm(t[0], t[1], t[2], rm, rv, true);
        },
        kTol, {0, 1, 2});
    // Block 0 of each channel updates the running statistics from the merged moments.
    Tensor rm_cpu = Tensor::zeros({c}), rv_cpu = Tensor::ones({c});
    Tensor rm_gpu = Tensor::zeros({c}, Device::CUDA), rv_gpu = Tensor::ones({c}, Device::CUDA);
    const Tensor x = ops::add(randn(shape, 28, 3.f), Tensor::full(shape, -4.f));
    ops::batch_norm(x, Tensor(), Tensor(), rm_cpu, rv_cpu, true);
    ops::batch_norm(x.to(Device::CUDA), Tensor(), Tensor(), rm_gpu, rv_gpu, true);
    cudatest::require_close(rm_gpu, rm_cpu, kTol, "running mean");
    cudatest::require_close(rv_gpu, rv_cpu, kTol, "running variance");
  }
}

TEST_CASE("cuda fused batch_norm_relu and batch_norm_add_relu match the CPU",
          "[gpu][batch_norm][fused]") {
  if (cudatest::skip_without_cuda()) return;
  const Shape shapes[] = {{2, 64, 8, 8}, {3, 5, 7, 5}, {6, 13}, {9, 3, 17, 19}};
  for (const Shape& shape : shapes) {
    const int64_t c = shape[1];
    for (bool training : {true, false}) {
      for (bool with_residual : {false, true}) {
        INFO("x " << shape_str(shape) << (training ? " training" : " eval")
                  << (with_residual ? " + residual" : ""));
        compare_op(
            {randn(shape, 24), randn({c}, 25), randn({c}, 26), randn(shape, 27)},
            [c, training, with_residual](const std::vector<Tensor>& t) {
              const Device device = t[0].device();
              Tensor rm = Tensor::full({c}, 0.1f, device), rv = Tensor::full({c}, 0.8f, device);
              return with_residual
                         ? ops::batch_norm_add_relu(t[0], t[3], t[1], t[2], rm, rv, training)
                         : ops::batch_norm_relu(t[0], t[1], t[2], rm, rv, training);
            },
            // Eval without gradients runs the fused eval kernel (with them, the
            // composition of the unfused ops, tested above).
            kTol,
            !training       ? std::vector<size_t>{}
            : with_residual ? std::vector<size_t>{0, 1, 2, 3}
                            : std::vector<size_t>{0, 1, 2});
      }
    }
  }
}

TEST_CASE("cuda max avg and global pooling match the CPU", "[gpu][pooling]") {
  if (cudatest::skip_without_cuda()) return;
  struct PoolCase {
    Shape x;
    int kernel, stride, padding;
  };
  const PoolCase cases[] = {{{2, 64, 16, 16}, 3, 2, 1},
                            {{1, 3, 5, 7}, 2, 2, 0},
                            {{2, 5, 9, 9}, 3, 1, 1},
                            {{3, 2, 8, 8}, 1, 3, 0},
                            {{1, 4, 1, 1}, 1, 1, 0}};
  for (const PoolCase& c : cases) {
    INFO("x " << shape_str(c.x) << " kernel " << c.kernel << " stride " << c.stride << " pad "
              << c.padding);
    compare_op({randn(c.x, 13)},
               [c](const std::vector<Tensor>& t) {
                 return ops::max_pool2d(t[0], c.kernel, c.stride, c.padding);
               },
               1e-6, {0});
    compare_op({randn(c.x, 14)},
               [c](const std::vector<Tensor>& t) {
                 return ops::avg_pool2d(t[0], c.kernel, c.stride, c.padding);
               },
               1e-6, {0});
  }
  for (const Shape& shape : {Shape{2, 512, 2, 2}, Shape{3, 5, 7, 3}, Shape{1, 1, 1, 1}}) {
    INFO("global average pool of " << shape_str(shape));
    compare_op({randn(shape, 15)},
               [](const std::vector<Tensor>& t) { return ops::global_avg_pool(t[0]); }, 1e-6, {0});
  }
}

TEST_CASE("cuda softmax cross-entropy matches the CPU with and without label smoothing",
          "[gpu][loss]") {
  if (cudatest::skip_without_cuda()) return;
  struct LossCase {
    int batch, classes;
    float smoothing;
  };
  for (const LossCase& c : {LossCase{128, 10, 0.1f}, LossCase{7, 37, 0.f}, LossCase{1, 10, 0.2f},
                            LossCase{33, 2, 0.f}}) {
    INFO("batch " << c.batch << " classes " << c.classes << " smoothing " << c.smoothing);
    std::vector<int> labels(c.batch);
    for (int n = 0; n < c.batch; ++n) labels[n] = (n * 7 + 3) % c.classes;
    compare_op({randn({c.batch, c.classes}, 16, 3.f)},
               [&](const std::vector<Tensor>& t) {
                 return ops::softmax_cross_entropy(t[0], labels, c.smoothing);
               },
               kTol, {0});
  }
}

TEST_CASE("cuda count_correct and device labels match the CPU", "[gpu][loss]") {
  if (cudatest::skip_without_cuda()) return;
  for (int batch : {1, 7, 300}) {  // 300 rows: more than the kernel's 256 threads
    INFO("batch " << batch);
    const Tensor logits = randn({batch, 10}, 17, 2.f);
    std::vector<int> labels(batch);
    for (int n = 0; n < batch; ++n) labels[n] = (n * 7 + 3) % 10;
    const Tensor on_gpu = logits.to(Device::CUDA);
    const ops::Labels cpu_labels = ops::make_labels(labels, 10, Device::CPU);
    const ops::Labels gpu_labels = ops::make_labels(labels, 10, Device::CUDA);
    CHECK(ops::count_correct(on_gpu, gpu_labels).item() ==
          ops::count_correct(logits, cpu_labels).item());
    CHECK(std::abs(ops::softmax_cross_entropy(on_gpu, gpu_labels, 0.1f).item() -
                   ops::softmax_cross_entropy(logits, cpu_labels, 0.1f).item()) < 1e-5);
  }
}

TEST_CASE("BatchUploader delivers batches intact while the host runs ahead", "[gpu][upload]") {
  if (cudatest::skip_without_cuda()) return;
  BatchUploader uploader(Device::CUDA, 10);
  // More batches than staging slots, none waited for: a reused slot must not overwrite a
  // copy that has not run yet.
  std::vector<Batch> batches(9);
  std::vector<DeviceBatch> uploaded;
  for (size_t i = 0; i < batches.size(); ++i) {
    const int count = 5 + int(i);  // growing sizes: slots are reallocated too
    batches[i].inputs = randn({count, 3, 4, 4}, 100 + i);
    for (int n = 0; n < count; ++n) batches[i].labels.push_back((n + int(i)) % 10);
    uploaded.push_back(uploader.upload(batches[i]));
  }
  for (size_t i = 0; i < batches.size(); ++i) {
    INFO("batch " << i);
    CHECK(uploaded[i].inputs.device() == Device::CUDA);
    CHECK(uploaded[i].inputs.to_vector() == batches[i].inputs.to_vector());
    CHECK(uploaded[i].size() == int64_t(batches[i].labels.size()));
    const ops::Labels expected = ops::make_labels(batches[i].labels, 10, Device::CUDA);
    // Same labels: the loss of any logits is bitwise the same with either.
    const Tensor logits = randn({uploaded[i].size(), 10}, 7).to(Device::CUDA);
    CHECK(ops::softmax_cross_entropy(logits, uploaded[i].labels).item() ==
          ops::softmax_cross_entropy(logits, expected).item());
  }
  batches[0].labels[0] = 10;
  CHECK_THROWS_WITH(uploader.upload(batches[0]),
                    Catch::Contains("label 10 at index 0 is outside [0, 10)"));
}

TEST_CASE("cuda elementwise ops reductions and bias broadcasts match the CPU",
          "[gpu][elementwise]") {
  if (cudatest::skip_without_cuda()) return;
  for (const Shape& shape : {Shape{1}, Shape{257}, Shape{3, 5, 7, 11}, Shape{2, 64, 16, 16}}) {
    INFO("shape " << shape_str(shape));
    const Tensor a = randn(shape, 17), b = randn(shape, 18);
    compare_op({a, b}, [](const std::vector<Tensor>& t) { return ops::add(t[0], t[1]); }, 1e-6,
               {0, 1});
    compare_op({a, b}, [](const std::vector<Tensor>& t) { return ops::sub(t[0], t[1]); }, 1e-6,
               {0, 1});
    compare_op({a, b}, [](const std::vector<Tensor>& t) { return ops::mul(t[0], t[1]); }, 1e-6,
               {0, 1});
    compare_op({a}, [](const std::vector<Tensor>& t) { return ops::scale(t[0], -0.37f); }, 1e-6,
               {0});
    compare_op({a}, [](const std::vector<Tensor>& t) { return ops::relu(t[0]); }, 1e-6, {0});
    compare_op({a}, [](const std::vector<Tensor>& t) { return ops::mean(t[0]); }, 1e-5, {0});
  }
  compare_op({randn({2, 13, 5, 3}, 19), randn({13}, 20)},
             [](const std::vector<Tensor>& t) { return ops::add(t[0], t[1]); }, 1e-6, {0, 1});
  // A leaf used twice: its second gradient is accumulated in place on the device (axpy).
  compare_op(
      {randn({3, 7}, 28)},
      [](const std::vector<Tensor>& t) { return ops::add(ops::relu(t[0]), ops::scale(t[0], 2.f)); },
      1e-6, {0});
}

TEST_CASE("cuda linear and matmul (cuBLAS) match the CPU", "[gpu][linear]") {
  if (cudatest::skip_without_cuda()) return;
  compare_op({randn({8, 512}, 21), randn({10, 512}, 22, 0.05f), randn({10}, 23)},
             [](const std::vector<Tensor>& t) { return ops::linear(t[0], t[1], t[2]); }, kTol,
             {0, 1, 2});
  compare_op({randn({5, 7}, 24), randn({7, 3}, 25)},
             [](const std::vector<Tensor>& t) { return ops::matmul(t[0], t[1]); }, kTol, {0, 1});
}

TEST_CASE("cuda dropout applies the same seeded mask as the CPU", "[gpu][dropout]") {
  if (cudatest::skip_without_cuda()) return;
  compare_op({randn({4, 9, 5}, 26)},
             [](const std::vector<Tensor>& t) {
               Generator gen(27);  // the same mask on both devices
               return ops::dropout(t[0], 0.3f, true, gen);
             },
             1e-6, {0});
}

TEST_CASE("move_to_ moves a leaf in place: every handle follows and its gradient is dropped",
          "[gpu][tensor]") {
  if (cudatest::skip_without_cuda()) return;
  Tensor leaf = Tensor::from_vector({1.f, 2.f, 3.f}, {3}).set_requires_grad();
  ops::sum(ops::mul(leaf, leaf)).backward();
  REQUIRE(leaf.grad().defined());
  Tensor other_handle = leaf;
  leaf.move_to_(Device::CUDA);
  CHECK(other_handle.device() == Device::CUDA);
  CHECK(other_handle.to_vector() == std::vector<float>{1.f, 2.f, 3.f});
  CHECK_FALSE(other_handle.grad().defined());
  CHECK(other_handle.requires_grad());
}
