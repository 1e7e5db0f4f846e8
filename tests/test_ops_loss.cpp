// Proves softmax_cross_entropy right on the CPU (with and without label smoothing, forward value
// and dlogits against the double reference, stable for large logits) and the argmax and accuracy
// helpers on hand-made inputs.
#include <cmath>

#include "op_check.h"

using minidl::Tensor;
using testutil::grad_of;
using testutil::kTol;
using testutil::make_leaf;
using testutil::Vec;
namespace ops = minidl::ops;

namespace {

struct LossCase {
  int64_t N, K;
  double range;  // logits uniform in [-range, range)
};
const LossCase kLossCases[] = {
    {1, 2, 1}, {4, 10, 3}, {7, 13, 2}, {128, 10, 5}, {3, 1000, 4}, {2, 3, 0.01}, {16, 4, 8},
};

void check_loss(double smoothing, uint32_t seed) {
  std::mt19937 rng(seed);
  for (const LossCase& c : kLossCases) {
    INFO("logits [" << c.N << ", " << c.K << "] in +-" << c.range << ", label smoothing "
                    << smoothing);
    auto z = make_leaf({c.N, c.K}, rng, true, -c.range, c.range);
    const std::vector<int> labels = testutil::random_labels(c.N, int(c.K), rng);
    Tensor loss = ops::softmax_cross_entropy(z.t, labels, float(smoothing));
    CHECK(loss.dim() == 0);
    const double expected = ref::softmax_cross_entropy(z.v, labels, c.N, c.K, smoothing);
    CHECK(loss.item() == Approx(expected).epsilon(1e-5).margin(1e-6));
    ops::scale(loss, 0.5f).backward();  // a non-trivial upstream gradient
    CHECK_REL(grad_of(z.t),
              ref::softmax_cross_entropy_backward(z.v, labels, c.N, c.K, smoothing, 0.5), kTol);
  }
}

}  // namespace

TEST_CASE("softmax_cross_entropy without label smoothing matches the reference: loss and dlogits",
          "[cpu][ops][loss]") {
  check_loss(0.0, 501);
}

TEST_CASE("softmax_cross_entropy with label smoothing 0.1 matches the reference: loss and dlogits",
          "[cpu][ops][loss]") {
  check_loss(0.1, 502);
}

TEST_CASE("softmax_cross_entropy is stable for large logits", "[cpu][ops][loss]") {
  // exp(100) overflows float: only a max-shifted log-sum-exp gets these right.
  std::mt19937 rng(503);
  const int64_t N = 6, K = 5;
  for (double smoothing : {0.0, 0.1}) {
    INFO("label smoothing " << smoothing);
    auto z = make_leaf({N, K}, rng, true, -100.0, 100.0);
    const std::vector<int> labels = testutil::random_labels(N, int(K), rng);
    Tensor loss = ops::softmax_cross_entropy(z.t, labels, float(smoothing));
    REQUIRE(std::isfinite(loss.item()));
    CHECK(loss.item() ==
          Approx(ref::softmax_cross_entropy(z.v, labels, N, K, smoothing)).epsilon(1e-5));
    loss.backward();
    CHECK_REL(grad_of(z.t), ref::softmax_cross_entropy_backward(z.v, labels, N, K, smoothing, 1.0),
              kTol);
  }
}

TEST_CASE("softmax_cross_entropy of equal logits is log K for any smoothing", "[cpu][ops][loss]") {
  for (float smoothing : {0.f, 0.1f, 0.5f}) {
    INFO("label smoothing " << smoothing);
    Tensor z = Tensor::full({3, 10}, 1.5f);
    CHECK(ops::softmax_cross_entropy(z, {0, 9, 4}, smoothing).item() ==
          Approx(std::log(10.0)).epsilon(1e-6));
  }
}

TEST_CASE("softmax_cross_entropy of a confident right answer is ~0 only without smoothing",
          "[cpu][ops][loss]") {
  Tensor z = Tensor::from_vector({30.f, 0.f, 0.f, 0.f}, {1, 4});
  CHECK(ops::softmax_cross_entropy(z, {0}, 0.f).item() == Approx(0.0).margin(1e-6));
  // With smoothing 0.1 the target puts 0.025 on each wrong class, each costing ~30 nats.
  CHECK(ops::softmax_cross_entropy(z, {0}, 0.1f).item() == Approx(3 * 0.025 * 30).epsilon(1e-3));
}

TEST_CASE("argmax returns the first maximum of each row", "[cpu][ops][metrics]") {
  Tensor z = Tensor::from_vector({0.1f, 0.7f, 0.2f,  //
                                  5.f, -1.f, 5.f,    // tie: the first one
                                  -3.f, -2.f, -1.f,  //
                                  2.f, 2.f, 2.f},    // all equal
                                 {4, 3});
  CHECK(ops::argmax(z) == std::vector<int>{1, 0, 2, 0});
  CHECK(ops::argmax(Tensor::from_vector({3.f}, {1, 1})) == std::vector<int>{0});
}

TEST_CASE("argmax agrees with a plain loop on random logits", "[cpu][ops][metrics]") {
  std::mt19937 rng(504);
  const int64_t N = 37, K = 11;
  auto z = make_leaf({N, K}, rng, false);
  std::vector<int> expected(N);
  for (int64_t n = 0; n < N; ++n) {
    int best = 0;
    for (int k = 1; k < K; ++k)
      if (z.v[n * K + k] > z.v[n * K + best]) best = k;
    expected[n] = best;
  }
  CHECK(ops::argmax(z.t) == expected);
}

TEST_CASE("accuracy is the fraction of rows whose argmax equals the label", "[cpu][ops][metrics]") {
  Tensor z = Tensor::from_vector({0.1f, 0.9f,  //
                                  0.8f, 0.2f,  //
                                  0.3f, 0.7f,  //
                                  0.6f, 0.4f},
                                 {4, 2});
  CHECK(ops::accuracy(z, {1, 0, 1, 0}) == Approx(1.0));
  CHECK(ops::accuracy(z, {1, 0, 0, 0}) == Approx(0.75));
  CHECK(ops::accuracy(z, {0, 1, 0, 1}) == Approx(0.0));
  CHECK(ops::accuracy(z, {1, 1, 1, 1}) == Approx(0.5));
}

TEST_CASE("device labels: the loss and count_correct agree with the host-label versions",
          "[ops][loss]") {
  minidl::Generator gen(5);
  const Tensor logits = Tensor::normal({37, 10}, 0.f, 2.f, gen);
  std::vector<int> labels(37);
  for (int n = 0; n < 37; ++n) labels[n] = (n * 3 + 1) % 10;
  const ops::Labels on_device = ops::make_labels(labels, 10, minidl::Device::CPU);
  CHECK(on_device.count() == 37);
  CHECK(ops::softmax_cross_entropy(logits, on_device, 0.1f).item() ==
        ops::softmax_cross_entropy(logits, labels, 0.1f).item());
  // count_correct is the number that accuracy is the fraction of.
  CHECK(ops::count_correct(logits, on_device).item() ==
        static_cast<float>(std::lround(ops::accuracy(logits, labels) * 37)));
  // A hand-made case: rows 0 and 2 right (row 2's maximum is the first of two equal ones).
  const Tensor small = Tensor::from_vector({1, 0, 0, 0, 1, 0, 0, 5, 5}, {3, 3});
  CHECK(ops::count_correct(small, ops::make_labels({0, 2, 1}, 3, minidl::Device::CPU)).item() ==
        2.f);
}

TEST_CASE("device labels: bad labels and mismatched batches are named", "[ops][loss][errors]") {
  CHECK_THROWS_WITH(ops::make_labels({0, 10}, 10, minidl::Device::CPU),
                    Catch::Contains("label 10 at index 1 is outside [0, 10)"));
  const Tensor logits = Tensor::zeros({3, 10});
  CHECK_THROWS_WITH(ops::count_correct(logits, ops::make_labels({1, 2}, 10, minidl::Device::CPU)),
                    Catch::Contains("got 2 labels for logits [3, 10]"));
  CHECK_THROWS_WITH(ops::softmax_cross_entropy(logits, ops::Labels{}),
                    Catch::Contains("labels are empty"));
}
