// Proves that misuse fails loudly and helpfully: each case throws minidl::Error (not a crash,
// not another exception type), and the message names the op and the offending shapes or values
// in the "[2, 3]" form, as core/error.h promises.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "minidl/core/dispatch.h"
#include "minidl/core/minidl.h"
#include "minidl/kernels/host_device.h"

using Catch::Contains;
using minidl::Device;
using minidl::Tensor;
namespace ops = minidl::ops;

// The expression throws minidl::Error and its message matches `matcher`.
#define CHECK_ERROR(expr, matcher)        \
  do {                                    \
    CHECK_THROWS_AS(expr, minidl::Error); \
    CHECK_THROWS_WITH(expr, matcher);     \
  } while (0)

namespace {
Tensor z(const minidl::Shape& shape) { return Tensor::zeros(shape); }
}  // namespace

TEST_CASE("elementwise ops reject mismatched shapes, naming both", "[cpu][errors]") {
  CHECK_ERROR(ops::add(z({2, 3}), z({3, 2})),
              Contains("add") && Contains("[2, 3]") && Contains("[3, 2]"));
  CHECK_ERROR(ops::sub(z({2, 3}), z({2, 4})),
              Contains("sub") && Contains("[2, 3]") && Contains("[2, 4]"));
  CHECK_ERROR(ops::mul(z({2, 3}), z({6})),
              Contains("mul") && Contains("[2, 3]") && Contains("[6]"));
  // A bias must have as many elements as dimension 1 has channels.
  CHECK_ERROR(ops::add(z({2, 3, 4, 4}), z({4})),
              Contains("add") && Contains("[2, 3, 4, 4]") && Contains("[4]"));
}

TEST_CASE("matmul rejects an inner-dimension mismatch and non-matrices", "[cpu][errors]") {
  CHECK_ERROR(ops::matmul(z({2, 3}), z({4, 5})),
              Contains("matmul") && Contains("[2, 3]") && Contains("[4, 5]"));
  CHECK_ERROR(ops::matmul(z({2, 3, 4}), z({4, 5})), Contains("matmul") && Contains("[2, 3, 4]"));
}

TEST_CASE("linear rejects a weight whose in-features differ from the input's", "[cpu][errors]") {
  CHECK_ERROR(ops::linear(z({2, 3}), z({4, 5})),
              Contains("linear") && Contains("[2, 3]") && Contains("[4, 5]"));
  CHECK_ERROR(ops::linear(z({2, 3}), z({4, 3}), z({5})), Contains("linear") && Contains("[5]"));
  CHECK_ERROR(ops::linear(z({2, 3, 4, 4}), z({4, 3})),
              Contains("linear") && Contains("[2, 3, 4, 4]"));
}

TEST_CASE("conv2d rejects an input that is not rank 4", "[cpu][errors]") {
  CHECK_ERROR(ops::conv2d(z({2, 3}), z({4, 3, 3, 3}), Tensor(), 1, 1),
              Contains("conv2d") && Contains("[2, 3]"));
  CHECK_ERROR(ops::conv2d(z({2, 3, 8, 8}), z({4, 3, 3}), Tensor(), 1, 1),
              Contains("conv2d") && Contains("[4, 3, 3]"));
}

TEST_CASE("conv2d rejects a channel mismatch between input and weight", "[cpu][errors]") {
  CHECK_ERROR(ops::conv2d(z({2, 3, 8, 8}), z({4, 5, 3, 3}), Tensor(), 1, 1),
              Contains("conv2d") && Contains("[2, 3, 8, 8]") && Contains("[4, 5, 3, 3]"));
  CHECK_ERROR(ops::conv2d(z({2, 3, 8, 8}), z({4, 3, 3, 3}), z({3}), 1, 1),
              Contains("conv2d") && Contains("[3]"));
}

TEST_CASE("conv2d rejects a kernel larger than the padded input, and bad strides",
          "[cpu][errors]") {
  CHECK_ERROR(ops::conv2d(z({1, 3, 4, 4}), z({2, 3, 7, 7}), Tensor(), 1, 1),
              Contains("conv2d") && Contains("[1, 3, 4, 4]") && Contains("7"));
  CHECK_ERROR(ops::conv2d(z({1, 3, 8, 8}), z({2, 3, 3, 3}), Tensor(), 0, 1), Contains("conv2d"));
  CHECK_ERROR(ops::conv2d(z({1, 3, 8, 8}), z({2, 3, 3, 3}), Tensor(), 1, -1), Contains("conv2d"));
}

TEST_CASE("pooling rejects a window larger than the padded input and non-4D input",
          "[cpu][errors]") {
  CHECK_ERROR(ops::max_pool2d(z({1, 1, 2, 2}), 3, 1, 0),
              Contains("max_pool2d") && Contains("[1, 1, 2, 2]"));
  CHECK_ERROR(ops::avg_pool2d(z({1, 1, 2, 2}), 3, 1, 0),
              Contains("avg_pool2d") && Contains("[1, 1, 2, 2]"));
  CHECK_ERROR(ops::max_pool2d(z({4, 4}), 2, 2), Contains("max_pool2d") && Contains("[4, 4]"));
  CHECK_ERROR(ops::global_avg_pool(z({2, 3})), Contains("global_avg_pool") && Contains("[2, 3]"));
}

TEST_CASE("batch_norm rejects parameters with the wrong channel count", "[cpu][errors]") {
  const Tensor x = z({2, 3, 4, 4});
  CHECK_ERROR(ops::batch_norm(x, z({4}), z({4}), z({3}), z({3}), true),
              Contains("batch_norm") && Contains("[4]"));
  CHECK_ERROR(ops::batch_norm(x, z({3}), z({3}), z({5}), z({3}), true),
              Contains("batch_norm") && Contains("[5]"));
  CHECK_ERROR(ops::batch_norm(x, z({3}), z({3}), z({3}), z({2}), false),
              Contains("batch_norm") && Contains("[2]"));
  CHECK_ERROR(ops::batch_norm(z({6}), z({6}), z({6}), z({6}), z({6}), true),
              Contains("batch_norm") && Contains("[6]"));
}

TEST_CASE("softmax_cross_entropy rejects labels out of range or of the wrong count",
          "[cpu][errors]") {
  const Tensor logits = z({4, 5});
  CHECK_ERROR(ops::softmax_cross_entropy(logits, {0, 1, 7, 2}),
              Contains("softmax_cross_entropy") && Contains("7"));
  CHECK_ERROR(ops::softmax_cross_entropy(logits, {0, -1, 3, 2}),
              Contains("softmax_cross_entropy") && Contains("-1"));
  CHECK_ERROR(ops::softmax_cross_entropy(logits, {0, 1, 2}),
              Contains("softmax_cross_entropy") && Contains("[4, 5]"));
  CHECK_ERROR(ops::softmax_cross_entropy(z({4, 5, 1}), {0, 1, 2, 3}),
              Contains("softmax_cross_entropy") && Contains("[4, 5, 1]"));
  CHECK_ERROR(ops::accuracy(logits, {0, 1}), Contains("accuracy") && Contains("[4, 5]"));
}

TEST_CASE("dropout rejects a probability outside 0 <= p < 1", "[cpu][errors]") {
  minidl::Generator gen(1);
  CHECK_ERROR(ops::dropout(z({4}), 1.5f, true, gen), Contains("dropout") && Contains("1.5"));
  CHECK_ERROR(ops::dropout(z({4}), -0.1f, true, gen), Contains("dropout"));
}

TEST_CASE("reshape rejects an incompatible element count", "[cpu][errors]") {
  const Tensor a = z({2, 3});
  CHECK_ERROR(a.reshape({4, 2}), Contains("reshape") && Contains("[2, 3]") && Contains("[4, 2]"));
  CHECK_ERROR(a.reshape({-1, -1}), Contains("reshape"));
  CHECK_ERROR(a.reshape({-1, 4}), Contains("reshape") && Contains("[2, 3]"));
}

TEST_CASE("from_vector rejects a value count that does not match the shape", "[cpu][errors]") {
  CHECK_ERROR(Tensor::from_vector({1.f, 2.f, 3.f, 4.f, 5.f}, {2, 3}),
              Contains("from_vector") && Contains("[2, 3]"));
}

TEST_CASE("ops reject empty tensors (a zero-size dimension)", "[cpu][errors]") {
  // Whether the factory or the op refuses, the message must show the empty shape.
  auto relu_of_empty = [] { return ops::relu(Tensor::zeros({0, 3})); };
  CHECK_ERROR(relu_of_empty(), Contains("[0, 3]"));
  auto mean_of_empty = [] { return ops::mean(Tensor::zeros({2, 0})); };
  CHECK_ERROR(mean_of_empty(), Contains("[2, 0]"));
  auto conv_of_empty = [] {
    return ops::conv2d(Tensor::zeros({0, 3, 4, 4}), Tensor::zeros({2, 3, 3, 3}), Tensor(), 1, 1);
  };
  CHECK_ERROR(conv_of_empty(), Contains("[0, 3, 4, 4]"));
  auto matmul_of_empty = [] { return ops::matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})); };
  CHECK_ERROR(matmul_of_empty(), Contains("[2, 0]"));
}

TEST_CASE("item() rejects a tensor with more than one element", "[cpu][errors]") {
  CHECK_ERROR(z({2, 3}).item(), Contains("item") && Contains("[2, 3]"));
}

TEST_CASE("at() and set() reject out-of-range indices and the wrong number of them",
          "[cpu][errors]") {
  Tensor a = z({2, 3});
  CHECK_ERROR(a.at({2, 0}), Contains("at") && Contains("[2, 3]"));
  CHECK_ERROR(a.at({0, 3}), Contains("[2, 3]"));
  CHECK_ERROR(a.at({0, -1}), Contains("[2, 3]"));
  CHECK_ERROR(a.at({1}), Contains("[2, 3]"));
  CHECK_ERROR(a.set({0, 0, 0}, 1.f), Contains("set") && Contains("[2, 3]"));
}

TEST_CASE("tensor misuse: undefined tensors, copy_ of another shape, grad on a non-leaf",
          "[cpu][errors]") {
  CHECK_THROWS_AS(ops::relu(Tensor()), minidl::Error);
  CHECK_THROWS_AS(Tensor().item(), minidl::Error);
  Tensor a = z({2, 3});
  CHECK_ERROR(a.copy_(z({3, 2})), Contains("copy_") && Contains("[2, 3]") && Contains("[3, 2]"));
  Tensor x = z({2}).set_requires_grad(true);
  Tensor y = ops::scale(x, 2.f);
  CHECK_THROWS_AS(y.set_requires_grad(false), minidl::Error);
}

TEST_CASE("pointwise losses reject inputs and targets of different shapes, naming both",
          "[cpu][errors]") {
  CHECK_ERROR(ops::mse_loss(z({2, 3}), z({3, 2})),
              Contains("mse_loss") && Contains("input [2, 3]") && Contains("target [3, 2]"));
  CHECK_ERROR(ops::l1_loss(z({4}), z({4, 1})),
              Contains("l1_loss") && Contains("[4]") && Contains("[4, 1]"));
  CHECK_ERROR(ops::binary_cross_entropy_with_logits(z({2, 5}), z({10})),
              Contains("binary_cross_entropy_with_logits") && Contains("[2, 5]") &&
                  Contains("[10]"));
  CHECK_ERROR(ops::mse_loss(Tensor(), z({2})), Contains("mse_loss") && Contains("input"));
}

TEST_CASE("ops along a dimension reject a dim outside the rank, naming it and the shape",
          "[cpu][errors]") {
  CHECK_ERROR(ops::softmax(z({2, 3}), 2),
              Contains("softmax") && Contains("dim 2") && Contains("[2, 3]"));
  CHECK_ERROR(ops::log_softmax(z({2, 3}), -3),
              Contains("log_softmax") && Contains("dim -3") && Contains("[2, 3]"));
  CHECK_ERROR(ops::sum(z({2, 3}), 5), Contains("sum") && Contains("dim 5") && Contains("[2, 3]"));
  CHECK_ERROR(ops::mean(z({4}), 1, true), Contains("mean") && Contains("dim 1"));
  CHECK_ERROR(ops::transpose(z({2, 3}), 0, 2), Contains("transpose") && Contains("dim 2"));
  // A rank-0 tensor has no dimension to work along.
  CHECK_ERROR(ops::softmax(Tensor::scalar(1.f)),
              Contains("softmax") && Contains("at least one dimension") && Contains("[]"));
}

TEST_CASE("cat rejects no tensors and tensors that differ outside the joined dimension",
          "[cpu][errors]") {
  CHECK_ERROR(ops::cat({}), Contains("cat") && Contains("at least one tensor"));
  CHECK_ERROR(ops::cat({z({2, 3}), z({3, 3})}, 1), Contains("cat") && Contains("tensors[1]") &&
                                                       Contains("[3, 3]") && Contains("[2, 3]"));
  CHECK_ERROR(ops::cat({z({2, 3}), z({2, 3, 1})}, 0), Contains("cat") && Contains("[2, 3, 1]"));
  CHECK_ERROR(ops::cat({z({2}), Tensor()}), Contains("cat") && Contains("tensors[1]"));
}

TEST_CASE("narrow rejects a range outside the dimension, naming it and the shape",
          "[cpu][errors]") {
  CHECK_ERROR(ops::narrow(z({2, 5}), 1, 3, 3), Contains("narrow") && Contains("start 3") &&
                                                   Contains("length 3") && Contains("[2, 5]"));
  CHECK_ERROR(ops::narrow(z({2, 5}), 1, -1, 2), Contains("narrow") && Contains("start -1"));
  CHECK_ERROR(ops::narrow(z({2, 5}), 0, 0, 0), Contains("narrow") && Contains("length 0"));
  CHECK_ERROR(ops::narrow(z({2, 5}), 2, 0, 1), Contains("narrow") && Contains("dim 2"));
}

TEST_CASE("permute rejects dims that are not a permutation of the tensor's dimensions",
          "[cpu][errors]") {
  CHECK_ERROR(ops::permute(z({2, 3, 4}), {0, 1}),
              Contains("permute") && Contains("got 2 dims") && Contains("[2, 3, 4]"));
  CHECK_ERROR(ops::permute(z({2, 3, 4}), {0, 1, -3}),
              Contains("permute") && Contains("dim 0 appears twice") && Contains("[2, 3, 4]"));
  CHECK_ERROR(ops::permute(z({2, 3}), {0, 2}), Contains("permute") && Contains("dim 2"));
  CHECK_ERROR(ops::permute(z({1, 1, 1, 1, 1, 1, 1, 1, 1}), {0, 1, 2, 3, 4, 5, 6, 7, 8}),
              Contains("permute") && Contains("more than 8 dimensions"));
}

TEST_CASE("CUDA tensors and ops fail with minidl::Error when no GPU is usable",
          "[cpu][errors][device]") {
  if (minidl::cuda_available()) {
    WARN("a GPU is usable here (" << minidl::cuda_status() << "): nothing to check");
    return;
  }
  INFO("cuda_status: " << minidl::cuda_status());
  CHECK_FALSE(minidl::cuda_status().empty());
  CHECK_THROWS_AS(Tensor::zeros({2, 3}, Device::CUDA), minidl::Error);
  CHECK_THROWS_AS(Tensor::from_vector({1.f, 2.f}, {2}, Device::CUDA), minidl::Error);
  CHECK_THROWS_AS(z({2, 3}).to(Device::CUDA), minidl::Error);
  CHECK_THROWS_AS(minidl::parse_device("cuda"), minidl::Error);
  CHECK_ERROR(minidl::parse_device("tpu"), Contains("tpu"));
}

// The dispatch contract (core/dispatch.h): what a kernel throws reaches the user as a
// minidl::Error that starts with the op's name.
namespace minidl::kernels {
namespace cpu {
void kernel_that_refuses(int value) {
  throw std::invalid_argument("cannot do " + std::to_string(value));
}
}  // namespace cpu
namespace cuda {
void kernel_that_refuses(int value) {
  throw std::invalid_argument("cannot do " + std::to_string(value));
}
}  // namespace cuda
MINIDL_SAME_KERNEL(kernel_that_refuses);
}  // namespace minidl::kernels

TEST_CASE("MINIDL_DISPATCH turns a kernel's exception into an Error naming the op",
          "[cpu][errors]") {
  const minidl::Tensor x = minidl::Tensor::zeros({2});
  auto dispatch = [&] { MINIDL_DISPATCH(x, "some_op", kernel_that_refuses(7)); };
  CHECK_ERROR(dispatch(), Catch::Equals("some_op: cannot do 7"));
}
