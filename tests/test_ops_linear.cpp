// Proves matmul and linear right on the CPU: forward output and the gradients of every input
// (a and b; x, weight and bias) of the float32 library match the double reference on shapes from
// 1x1x1 to the classifier's 512 -> 10, including sizes that are not multiples of any tile.
#include "op_check.h"

using minidl::Tensor;
using testutil::backward_with_upstream;
using testutil::grad_of;
using testutil::kTol;
using testutil::make_leaf;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

struct MatmulCase {
  int64_t M, K, N;
};
const MatmulCase kMatmulCases[] = {
    {1, 1, 1}, {2, 3, 4}, {5, 7, 3}, {13, 1, 17}, {1, 128, 1}, {64, 65, 33}, {37, 129, 70},
};

struct LinearCase {
  int64_t N, in, out;
};
const LinearCase kLinearCases[] = {
    {1, 1, 1}, {2, 3, 5}, {7, 13, 5}, {16, 64, 10}, {1, 512, 10}, {33, 17, 9}, {128, 512, 10},
};

}  // namespace

TEST_CASE("matmul forward matches the reference", "[cpu][ops][linear]") {
  std::mt19937 rng(201);
  for (const MatmulCase& c : kMatmulCases) {
    INFO("[" << c.M << ", " << c.K << "] x [" << c.K << ", " << c.N << "]");
    auto a = make_leaf({c.M, c.K}, rng, false), b = make_leaf({c.K, c.N}, rng, false);
    Tensor y = ops::matmul(a.t, b.t);
    CHECK_SHAPE(y, testutil::Shape({c.M, c.N}));
    CHECK_REL(testutil::to_double(y), ref::matmul(a.v, b.v, c.M, c.K, c.N), kTol);
    CHECK_FALSE(y.requires_grad());
  }
}

TEST_CASE("matmul backward (da, db) matches the reference", "[cpu][ops][linear]") {
  std::mt19937 rng(202);
  for (const MatmulCase& c : kMatmulCases) {
    INFO("[" << c.M << ", " << c.K << "] x [" << c.K << ", " << c.N << "]");
    auto a = make_leaf({c.M, c.K}, rng), b = make_leaf({c.K, c.N}, rng);
    Tensor y = ops::matmul(a.t, b.t);
    CHECK(y.requires_grad());
    const Vec u = backward_with_upstream(y, rng);
    const ref::MatmulGrads g = ref::matmul_backward(a.v, b.v, u, c.M, c.K, c.N);
    CHECK_REL(grad_of(a.t), g.da, kTol);
    CHECK_REL(grad_of(b.t), g.db, kTol);
  }
}

TEST_CASE("matmul backward with only one operand requiring grad", "[cpu][ops][linear]") {
  std::mt19937 rng(203);
  const int64_t M = 6, K = 5, N = 4;
  auto a = make_leaf({M, K}, rng, true), b = make_leaf({K, N}, rng, false);
  const Vec u = backward_with_upstream(ops::matmul(a.t, b.t), rng);
  CHECK_REL(grad_of(a.t), ref::matmul_backward(a.v, b.v, u, M, K, N).da, kTol);
  CHECK_FALSE(b.t.grad().defined());
}

TEST_CASE("linear with bias matches the reference: forward and backward (dx, dw, db)",
          "[cpu][ops][linear]") {
  std::mt19937 rng(204);
  for (const LinearCase& c : kLinearCases) {
    INFO("x [" << c.N << ", " << c.in << "], weight [" << c.out << ", " << c.in << "], bias");
    auto x = make_leaf({c.N, c.in}, rng), w = make_leaf({c.out, c.in}, rng);
    auto b = make_leaf({c.out}, rng);
    Tensor y = ops::linear(x.t, w.t, b.t);
    CHECK_SHAPE(y, testutil::Shape({c.N, c.out}));
    CHECK_REL(testutil::to_double(y), ref::linear(x.v, w.v, b.v, c.N, c.in, c.out), kTol);
    const Vec u = backward_with_upstream(y, rng);
    const ref::LinearGrads g = ref::linear_backward(x.v, w.v, true, u, c.N, c.in, c.out);
    CHECK_REL(grad_of(x.t), g.dx, kTol);
    CHECK_REL(grad_of(w.t), g.dw, kTol);
    CHECK_REL(grad_of(b.t), g.db, kTol);
  }
}

TEST_CASE("linear without bias matches the reference: forward and backward (dx, dw)",
          "[cpu][ops][linear]") {
  std::mt19937 rng(205);
  for (const LinearCase& c : kLinearCases) {
    INFO("x [" << c.N << ", " << c.in << "], weight [" << c.out << ", " << c.in << "], no bias");
    auto x = make_leaf({c.N, c.in}, rng), w = make_leaf({c.out, c.in}, rng);
    Tensor y = ops::linear(x.t, w.t);
    CHECK_SHAPE(y, testutil::Shape({c.N, c.out}));
    CHECK_REL(testutil::to_double(y), ref::linear(x.v, w.v, Vec(), c.N, c.in, c.out), kTol);
    const Vec u = backward_with_upstream(y, rng);
    const ref::LinearGrads g = ref::linear_backward(x.v, w.v, false, u, c.N, c.in, c.out);
    CHECK_REL(grad_of(x.t), g.dx, kTol);
    CHECK_REL(grad_of(w.t), g.dw, kTol);
  }
}

TEST_CASE("linear gives the weights their gradient when the input needs none",
          "[cpu][ops][linear]") {
  // The first layer's input (the images) never requires grad.
  std::mt19937 rng(206);
  const int64_t N = 9, in = 11, out = 3;
  auto x = make_leaf({N, in}, rng, false), w = make_leaf({out, in}, rng);
  auto b = make_leaf({out}, rng);
  const Vec u = backward_with_upstream(ops::linear(x.t, w.t, b.t), rng);
  const ref::LinearGrads g = ref::linear_backward(x.v, w.v, true, u, N, in, out);
  CHECK_FALSE(x.t.grad().defined());
  CHECK_REL(grad_of(w.t), g.dw, kTol);
  CHECK_REL(grad_of(b.t), g.db, kTol);
}
