// The CUDA kernels of the everyday ops against their CPU twins, through the ops that dispatch
// to them: activations, pointwise losses, softmax and log_softmax, cat, narrow, transpose,
// permute, and sums and means along a dimension. Shapes include a single element, sizes that
// are not multiples of a warp or a block, rows longer than a warp, and every dimension of a
// rank-4 tensor. Each case also checks for unwritten (NaN-poisoned) outputs and bitwise
// determinism (cuda_check.h). Built twice: against the real library (label gpu; native on a
// GPU, skipped elsewhere) and against the emulator (label emulated).
#include "cuda_check.h"

using namespace minidl;
using cudatest::compare_op;

namespace {
constexpr double kTol = 1e-5;
constexpr double kExact = 0.0;  // moving elements

Tensor randn(const Shape& shape, uint64_t seed, float scale = 1.f) {
  Generator gen(seed);
  return Tensor::normal(shape, 0.f, scale, gen);
}

Tensor rand_uniform(const Shape& shape, uint64_t seed, float low, float high) {
  Generator gen(seed);
  return Tensor::uniform(shape, low, high, gen);
}
}  // namespace

TEST_CASE("cuda sigmoid tanh exp log and gelu match the CPU", "[gpu][activation]") {
  if (cudatest::skip_without_cuda()) return;
  for (const Shape& shape : {Shape{1}, Shape{257}, Shape{3, 5, 7, 11}}) {
    INFO("shape " << shape_str(shape));
    const Tensor x = randn(shape, 31, 2.f), positive = rand_uniform(shape, 32, 0.1f, 4.f);
    compare_op({x}, [](const std::vector<Tensor>& t) { return ops::sigmoid(t[0]); }, kTol, {0});
    compare_op({x}, [](const std::vector<Tensor>& t) { return ops::tanh(t[0]); }, kTol, {0});
    compare_op({x}, [](const std::vector<Tensor>& t) { return ops::exp(t[0]); }, kTol, {0});
    compare_op({positive}, [](const std::vector<Tensor>& t) { return ops::log(t[0]); }, kTol, {0});
    compare_op({x}, [](const std::vector<Tensor>& t) { return ops::gelu(t[0]); }, kTol, {0});
  }
}

TEST_CASE("cuda mse l1 and binary cross-entropy losses match the CPU", "[gpu][loss]") {
  if (cudatest::skip_without_cuda()) return;
  // 1000 elements: several per thread of the one-block reduction.
  for (const Shape& shape : {Shape{1}, Shape{7, 13}, Shape{8, 125}}) {
    INFO("shape " << shape_str(shape));
    const Tensor x = randn(shape, 33, 3.f), y = randn(shape, 34), p = rand_uniform(shape, 35, 0, 1);
    compare_op({x, y}, [](const std::vector<Tensor>& t) { return ops::mse_loss(t[0], t[1]); }, kTol,
               {0, 1});
    compare_op({x, y}, [](const std::vector<Tensor>& t) { return ops::l1_loss(t[0], t[1]); }, kTol,
               {0, 1});
    compare_op({x, p},
               [](const std::vector<Tensor>& t) {
                 return ops::binary_cross_entropy_with_logits(t[0], t[1]);
               },
               kTol, {0, 1});
  }
}

TEST_CASE("cuda softmax and log_softmax match the CPU along every dimension", "[gpu][softmax]") {
  if (cudatest::skip_without_cuda()) return;
  // Rows of 1, 10 (fewer than a warp) and 100 (several elements per lane) along the last
  // dimension, then every dimension of a rank-4 tensor (strided rows).
  struct Case {
    Shape shape;
    int64_t dim;
  };
  const Case cases[] = {{{5, 1}, -1},      {{33, 10}, -1},    {{3, 100}, 1},      {{2, 3, 4, 5}, 0},
                        {{2, 3, 4, 5}, 1}, {{2, 3, 4, 5}, 2}, {{2, 3, 4, 5}, -1}, {{7}, 0}};
  for (const Case& c : cases) {
    INFO("shape " << shape_str(c.shape) << " dim " << c.dim);
    const Tensor x = randn(c.shape, 36, 3.f);
    const int64_t dim = c.dim;
    compare_op({x}, [dim](const std::vector<Tensor>& t) { return ops::softmax(t[0], dim); }, kTol,
               {0});
    compare_op({x}, [dim](const std::vector<Tensor>& t) { return ops::log_softmax(t[0], dim); },
               kTol, {0});
  }
}

TEST_CASE("cuda cat narrow flip transpose and permute match the CPU exactly", "[gpu][shape]") {
  if (cudatest::skip_without_cuda()) return;
  const Tensor a = randn({2, 3, 4, 5}, 37), b = randn({2, 1, 4, 5}, 38),
               c = randn({2, 2, 4, 5}, 39);
  compare_op({a, b, c}, [](const std::vector<Tensor>& t) { return ops::cat(t, 1); }, kExact,
             {0, 1, 2});
  compare_op({a, a}, [](const std::vector<Tensor>& t) { return ops::cat(t, -1); }, kExact, {0, 1});
  compare_op({randn({300}, 40), randn({1}, 41)},
             [](const std::vector<Tensor>& t) { return ops::cat(t, 0); }, kExact, {0, 1});
  for (int64_t dim = 0; dim < 4; ++dim) {
    INFO("narrow dim " << dim);
    compare_op({a}, [dim](const std::vector<Tensor>& t) { return ops::narrow(t[0], dim, 1, 1); },
               kExact, {0});
  }
  compare_op({a}, [](const std::vector<Tensor>& t) { return ops::narrow(t[0], 3, 2, 3); }, kExact,
             {0});
  for (int64_t dim = 0; dim < 4; ++dim) {
    INFO("flip dim " << dim);
    compare_op({a}, [dim](const std::vector<Tensor>& t) { return ops::flip(t[0], dim); }, kExact,
               {0});
  }
  compare_op({a}, [](const std::vector<Tensor>& t) { return ops::transpose(t[0], 1, 3); }, kExact,
             {0});
  compare_op({randn({33, 70}, 42)},
             [](const std::vector<Tensor>& t) { return ops::transpose(t[0], 0, 1); }, kExact, {0});
  compare_op({a},
             [](const std::vector<Tensor>& t) {
               return ops::permute(t[0], {3, 1, 0, 2});
             },
             kExact, {0});
}

TEST_CASE("cuda sum and mean along a dimension match the CPU", "[gpu][reduce]") {
  if (cudatest::skip_without_cuda()) return;
  // A row of 600 (more than the block's 256 threads), and every dimension of a rank-4 tensor.
  compare_op({randn({3, 600}, 43)}, [](const std::vector<Tensor>& t) { return ops::sum(t[0], 1); },
             kTol, {0});
  const Tensor x = randn({2, 3, 4, 5}, 44);
  for (int64_t dim = 0; dim < 4; ++dim) {
    for (bool keepdim : {false, true}) {
      INFO("dim " << dim << (keepdim ? " keepdim" : ""));
      compare_op(
          {x},
          [dim, keepdim](const std::vector<Tensor>& t) { return ops::sum(t[0], dim, keepdim); },
          kTol, {0});
      compare_op(
          {x},
          [dim, keepdim](const std::vector<Tensor>& t) { return ops::mean(t[0], dim, keepdim); },
          kTol, {0});
    }
  }
}
