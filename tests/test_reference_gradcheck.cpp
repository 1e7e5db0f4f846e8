// Proves the references' backward passes right: for each op, the gradient of the scalar
// sum(upstream * output) with respect to every input, as the reference computes it, matches
// central finite differences in double precision. The library is not involved here; this is
// what entitles the other suites to use the references as ground truth.
#include <catch2/catch.hpp>
#include <functional>
#include <random>

#include "reference/reference.h"
#include "testutil.h"

using ref::Vec;
using testutil::random_vec;
using testutil::rel_err;

namespace {

constexpr double kStep = 1e-6;
constexpr double kTol = 1e-6;

// d f / d x by central differences, one coordinate at a time.
Vec numeric_grad(const std::function<double(const Vec&)>& f, const Vec& x) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    Vec plus = x, minus = x;
    plus[i] += kStep;
    minus[i] -= kStep;
    g[i] = (f(plus) - f(minus)) / (2 * kStep);
  }
  return g;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

#define CHECK_GRAD(analytic, numeric)                                     \
  do {                                                                    \
    const double gc_err_ = rel_err((analytic), (numeric));                \
    INFO(#analytic " vs finite differences: relative error " << gc_err_); \
    CHECK(gc_err_ <= kTol);                                               \
  } while (0)

}  // namespace

TEST_CASE("reference elementwise backward (add, sub, mul, scale, relu) matches finite differences",
          "[cpu][reference][elementwise]") {
  std::mt19937 rng(1);
  const int64_t n = 17;
  const Vec a = random_vec(n, rng), b = random_vec(n, rng), u = random_vec(n, rng);

  SECTION("add and sub") {
    CHECK_GRAD(u, numeric_grad([&](const Vec& x) { return dot(u, ref::add(x, b)); }, a));
    CHECK_GRAD(u, numeric_grad([&](const Vec& y) { return dot(u, ref::add(a, y)); }, b));
    CHECK_GRAD(u, numeric_grad([&](const Vec& x) { return dot(u, ref::sub(x, b)); }, a));
    CHECK_GRAD(ref::scale(u, -1),
               numeric_grad([&](const Vec& y) { return dot(u, ref::sub(a, y)); }, b));
  }
  SECTION("mul") {
    const ref::MulGrads g = ref::mul_backward(a, b, u);
    CHECK_GRAD(g.da, numeric_grad([&](const Vec& x) { return dot(u, ref::mul(x, b)); }, a));
    CHECK_GRAD(g.db, numeric_grad([&](const Vec& y) { return dot(u, ref::mul(a, y)); }, b));
  }
  SECTION("scale") {
    CHECK_GRAD(ref::scale(u, -2.5),
               numeric_grad([&](const Vec& x) { return dot(u, ref::scale(x, -2.5)); }, a));
  }
  SECTION("relu") {
    CHECK_GRAD(ref::relu_backward(a, u),
               numeric_grad([&](const Vec& x) { return dot(u, ref::relu(x)); }, a));
  }
}

TEST_CASE("reference bias add backward matches finite differences",
          "[cpu][reference][elementwise]") {
  std::mt19937 rng(2);
  for (const ref::Shape& shape : {ref::Shape{4, 3}, ref::Shape{2, 5, 3, 2}}) {
    INFO("x shape " << testutil::shape_str(shape));
    const int64_t C = shape[1];
    const Vec x = random_vec(ref::numel(shape), rng), b = random_vec(C, rng);
    const Vec u = random_vec(ref::numel(shape), rng);
    const ref::AddBiasGrads g = ref::add_bias_backward(shape, u);
    CHECK_GRAD(g.dx,
               numeric_grad([&](const Vec& v) { return dot(u, ref::add_bias(v, shape, b)); }, x));
    CHECK_GRAD(g.dbias,
               numeric_grad([&](const Vec& v) { return dot(u, ref::add_bias(x, shape, v)); }, b));
  }
}

TEST_CASE("reference sum and mean backward match finite differences", "[cpu][reference][reduce]") {
  std::mt19937 rng(3);
  const Vec a = random_vec(11, rng);
  CHECK_GRAD(ref::sum_backward(11, 0.7),
             numeric_grad([&](const Vec& x) { return 0.7 * ref::sum(x); }, a));
  CHECK_GRAD(ref::mean_backward(11, 0.7),
             numeric_grad([&](const Vec& x) { return 0.7 * ref::mean(x); }, a));
}

TEST_CASE("reference matmul and linear backward match finite differences",
          "[cpu][reference][linear]") {
  std::mt19937 rng(4);
  SECTION("matmul [3, 4] x [4, 5]") {
    const int64_t M = 3, K = 4, N = 5;
    const Vec a = random_vec(M * K, rng), b = random_vec(K * N, rng), u = random_vec(M * N, rng);
    const ref::MatmulGrads g = ref::matmul_backward(a, b, u, M, K, N);
    CHECK_GRAD(g.da,
               numeric_grad([&](const Vec& v) { return dot(u, ref::matmul(v, b, M, K, N)); }, a));
    CHECK_GRAD(g.db,
               numeric_grad([&](const Vec& v) { return dot(u, ref::matmul(a, v, M, K, N)); }, b));
  }
  for (bool has_bias : {true, false}) {
    SECTION(std::string("linear [3, 4] -> 5, ") + (has_bias ? "with bias" : "without bias")) {
      const int64_t N = 3, in = 4, out = 5;
      const Vec x = random_vec(N * in, rng), w = random_vec(out * in, rng);
      const Vec b = has_bias ? random_vec(out, rng) : Vec();
      const Vec u = random_vec(N * out, rng);
      const ref::LinearGrads g = ref::linear_backward(x, w, has_bias, u, N, in, out);
      auto f_x = [&](const Vec& v) { return dot(u, ref::linear(v, w, b, N, in, out)); };
      auto f_w = [&](const Vec& v) { return dot(u, ref::linear(x, v, b, N, in, out)); };
      CHECK_GRAD(g.dx, numeric_grad(f_x, x));
      CHECK_GRAD(g.dw, numeric_grad(f_w, w));
      if (has_bias) {
        auto f_b = [&](const Vec& v) { return dot(u, ref::linear(x, w, v, N, in, out)); };
        CHECK_GRAD(g.db, numeric_grad(f_b, b));
      } else {
        CHECK(g.db.empty());
      }
    }
  }
}

TEST_CASE("reference conv2d backward (dx, dw, db) matches finite differences",
          "[cpu][reference][conv]") {
  std::mt19937 rng(5);
  // N, C, H, W, K, R, S, stride, pad
  const ref::ConvShape shapes[] = {
      {2, 3, 5, 4, 2, 3, 3, 1, 1},  // padded 3x3, non-square input
      {1, 2, 7, 7, 3, 3, 3, 2, 1},  // stride 2
      {2, 2, 5, 6, 2, 1, 1, 2, 0},  // 1x1 stride-2 projection
      {1, 2, 6, 5, 2, 2, 2, 3, 0},  // stride > kernel
      {1, 1, 4, 4, 2, 3, 1, 1, 1},  // non-square kernel
      {1, 3, 1, 1, 2, 3, 3, 1, 1},  // 1x1 spatial
  };
  for (const ref::ConvShape& s : shapes) {
    for (bool has_bias : {true, false}) {
      INFO("x " << testutil::shape_str(s.x_shape()) << " w " << testutil::shape_str(s.w_shape())
                << " stride " << s.stride << " pad " << s.pad << (has_bias ? " bias" : " no bias"));
      const Vec x = random_vec(ref::numel(s.x_shape()), rng);
      const Vec w = random_vec(ref::numel(s.w_shape()), rng);
      const Vec b = has_bias ? random_vec(s.K, rng) : Vec();
      const Vec u = random_vec(ref::numel(s.y_shape()), rng);
      const ref::ConvGrads g = ref::conv2d_backward(x, w, has_bias, u, s);
      CHECK_GRAD(g.dx,
                 numeric_grad([&](const Vec& v) { return dot(u, ref::conv2d(v, w, b, s)); }, x));
      CHECK_GRAD(g.dw,
                 numeric_grad([&](const Vec& v) { return dot(u, ref::conv2d(x, v, b, s)); }, w));
      if (has_bias) {
        CHECK_GRAD(g.db,
                   numeric_grad([&](const Vec& v) { return dot(u, ref::conv2d(x, w, v, s)); }, b));
      } else {
        CHECK(g.db.empty());
      }
    }
  }
}

TEST_CASE("reference max and average pooling backward match finite differences",
          "[cpu][reference][pool]") {
  std::mt19937 rng(6);
  // N, C, H, W, kernel, stride, pad
  const ref::PoolShape shapes[] = {
      {2, 2, 4, 4, 2, 2, 0},
      {1, 3, 5, 7, 3, 2, 1},
      {1, 2, 7, 7, 2, 3, 0},  // stride > kernel: some inputs get no gradient
      {2, 1, 1, 1, 3, 1, 1},  // 1x1 spatial, window mostly padding
  };
  for (const ref::PoolShape& s : shapes) {
    INFO("x " << testutil::shape_str(s.x_shape()) << " kernel " << s.kernel << " stride "
              << s.stride << " pad " << s.pad);
    const Vec x = random_vec(ref::numel(s.x_shape()), rng);
    const Vec u = random_vec(ref::numel(s.y_shape()), rng);
    CHECK_GRAD(ref::max_pool2d_backward(x, u, s),
               numeric_grad([&](const Vec& v) { return dot(u, ref::max_pool2d(v, s)); }, x));
    CHECK_GRAD(ref::avg_pool2d_backward(u, s),
               numeric_grad([&](const Vec& v) { return dot(u, ref::avg_pool2d(v, s)); }, x));
  }
}

TEST_CASE("reference global average pooling backward matches finite differences",
          "[cpu][reference][pool]") {
  std::mt19937 rng(7);
  const int64_t N = 2, C = 3, H = 3, W = 5;
  const Vec x = random_vec(N * C * H * W, rng), u = random_vec(N * C, rng);
  CHECK_GRAD(
      ref::global_avg_pool_backward(u, N, C, H, W),
      numeric_grad([&](const Vec& v) { return dot(u, ref::global_avg_pool(v, N, C, H, W)); }, x));
}

TEST_CASE("reference batch norm backward (training and eval) matches finite differences",
          "[cpu][reference][norm]") {
  std::mt19937 rng(8);
  const double eps = 1e-5;
  struct Case {
    int64_t N, C, L;
    bool affine;
  };
  const Case cases[] = {{4, 3, 1, true}, {2, 3, 6, true}, {3, 2, 4, false}, {1, 2, 5, true}};
  for (const Case& k : cases) {
    INFO("N " << k.N << " C " << k.C << " L " << k.L << (k.affine ? " affine" : " no affine"));
    const int64_t n = k.N * k.C * k.L;
    const Vec x = random_vec(n, rng), u = random_vec(n, rng);
    const Vec gamma = k.affine ? random_vec(k.C, rng, 0.5, 1.5) : Vec();
    const Vec beta = k.affine ? random_vec(k.C, rng) : Vec();
    const Vec rm = random_vec(k.C, rng), rv = random_vec(k.C, rng, 0.5, 2.0);

    {
      INFO("training mode");
      auto y = [&](const Vec& xv, const Vec& gv, const Vec& bv) {
        return ref::batch_norm_train(xv, gv, bv, k.N, k.C, k.L, eps).y;
      };
      const ref::BatchNormGrads g = ref::batch_norm_train_backward(x, gamma, u, k.N, k.C, k.L, eps);
      CHECK_GRAD(g.dx, numeric_grad([&](const Vec& v) { return dot(u, y(v, gamma, beta)); }, x));
      if (k.affine) {
        CHECK_GRAD(g.dgamma,
                   numeric_grad([&](const Vec& v) { return dot(u, y(x, v, beta)); }, gamma));
        CHECK_GRAD(g.dbeta,
                   numeric_grad([&](const Vec& v) { return dot(u, y(x, gamma, v)); }, beta));
      }
    }
    {
      INFO("eval mode");
      auto y = [&](const Vec& xv, const Vec& gv, const Vec& bv) {
        return ref::batch_norm_eval(xv, gv, bv, rm, rv, k.N, k.C, k.L, eps);
      };
      const ref::BatchNormGrads g =
          ref::batch_norm_eval_backward(x, gamma, rm, rv, u, k.N, k.C, k.L, eps);
      CHECK_GRAD(g.dx, numeric_grad([&](const Vec& v) { return dot(u, y(v, gamma, beta)); }, x));
      if (k.affine) {
        CHECK_GRAD(g.dgamma,
                   numeric_grad([&](const Vec& v) { return dot(u, y(x, v, beta)); }, gamma));
        CHECK_GRAD(g.dbeta,
                   numeric_grad([&](const Vec& v) { return dot(u, y(x, gamma, v)); }, beta));
      }
    }
  }
}

TEST_CASE("reference batch norm statistics are the textbook ones", "[cpu][reference][norm]") {
  // x for one channel: 1, 2, 3, 4 -> mean 2.5, biased variance 1.25, unbiased 5/3.
  const Vec x = {1, 2, 3, 4};
  const ref::BatchNormForward f = ref::batch_norm_train(x, Vec(), Vec(), 2, 1, 2, 0.0);
  CHECK(f.mean[0] == Approx(2.5));
  CHECK(f.var[0] == Approx(1.25));
  CHECK(f.var_unbiased[0] == Approx(5.0 / 3.0));
  CHECK(f.y[0] == Approx(-1.5 / std::sqrt(1.25)));
  CHECK(ref::running_update({1.0}, {3.0}, 0.1)[0] == Approx(1.2));
}

TEST_CASE("reference softmax cross-entropy backward matches finite differences",
          "[cpu][reference][loss]") {
  std::mt19937 rng(9);
  const int64_t N = 4, K = 5;
  const std::vector<int> labels = testutil::random_labels(N, K, rng);
  const Vec z = random_vec(N * K, rng, -3.0, 3.0);
  for (double eps : {0.0, 0.1}) {
    INFO("label smoothing " << eps);
    CHECK_GRAD(
        ref::softmax_cross_entropy_backward(z, labels, N, K, eps, 0.7),
        numeric_grad(
            [&](const Vec& v) { return 0.7 * ref::softmax_cross_entropy(v, labels, N, K, eps); },
            z));
  }
}

TEST_CASE("reference softmax cross-entropy has the known values", "[cpu][reference][loss]") {
  // Equal logits: every class has probability 1/K, so the loss is log K for any smoothing.
  const Vec z(3 * 4, 0.25);
  const std::vector<int> labels = {0, 3, 1};
  CHECK(ref::softmax_cross_entropy(z, labels, 3, 4, 0.0) == Approx(std::log(4.0)));
  CHECK(ref::softmax_cross_entropy(z, labels, 3, 4, 0.1) == Approx(std::log(4.0)));
  // Two classes, logits (0, log 3): p = (1/4, 3/4).
  const Vec z2 = {0.0, std::log(3.0)};
  CHECK(ref::softmax_cross_entropy(z2, {1}, 1, 2, 0.0) == Approx(-std::log(0.75)));
  CHECK(ref::softmax_cross_entropy(z2, {0}, 1, 2, 0.2) ==
        Approx(-(0.9 * std::log(0.25) + 0.1 * std::log(0.75))));
}

TEST_CASE("reference conv2d forward has the known values", "[cpu][reference][conv]") {
  // A 3x3 all-ones filter over a 3x3 all-ones image with padding 1 counts in-bounds neighbours.
  const ref::ConvShape s{1, 1, 3, 3, 1, 3, 3, 1, 1};
  const Vec y = ref::conv2d(Vec(9, 1.0), Vec(9, 1.0), Vec{0.5}, s);
  const Vec expected = {4.5, 6.5, 4.5, 6.5, 9.5, 6.5, 4.5, 6.5, 4.5};
  CHECK(rel_err(y, expected) == 0.0);
}

TEST_CASE("reference sigmoid tanh exp and log backward match finite differences",
          "[cpu][reference][activation]") {
  std::mt19937 rng(11);
  const int64_t n = 17;
  const Vec x = random_vec(n, rng, -3.0, 3.0), u = random_vec(n, rng);
  const Vec positive = random_vec(n, rng, 0.2, 3.0);
  CHECK_GRAD(ref::sigmoid_backward(x, u),
             numeric_grad([&](const Vec& v) { return dot(u, ref::sigmoid(v)); }, x));
  CHECK_GRAD(ref::tanh_backward(x, u),
             numeric_grad([&](const Vec& v) { return dot(u, ref::tanh(v)); }, x));
  CHECK_GRAD(ref::exp_backward(x, u),
             numeric_grad([&](const Vec& v) { return dot(u, ref::exp(v)); }, x));
  CHECK_GRAD(ref::log_backward(positive, u),
             numeric_grad([&](const Vec& v) { return dot(u, ref::log(v)); }, positive));
}

TEST_CASE("reference activations have the known values", "[cpu][reference][activation]") {
  const Vec x = {0.0, std::log(3.0)};
  CHECK(rel_err(ref::sigmoid(x), {0.5, 0.75}) < 1e-15);  // 1 / (1 + 1/3)
  CHECK(ref::tanh(x)[1] == Approx(0.8));                 // (3 - 1/3) / (3 + 1/3)
  CHECK(ref::exp(x)[1] == Approx(3.0));
  CHECK(rel_err(ref::log(Vec{1.0, std::exp(2.0)}), {0.0, 2.0}) < 1e-15);
}

TEST_CASE("reference mse l1 and binary cross-entropy backward match finite differences",
          "[cpu][reference][loss]") {
  std::mt19937 rng(12);
  const int64_t n = 13;
  const Vec x = random_vec(n, rng, -2.0, 2.0), y = random_vec(n, rng, 0.0, 1.0);
  const double g = 0.7;
  const ref::LossGrads mse = ref::mse_loss_backward(x, y, g);
  CHECK_GRAD(mse.dinput, numeric_grad([&](const Vec& v) { return g * ref::mse_loss(v, y); }, x));
  CHECK_GRAD(mse.dtarget, numeric_grad([&](const Vec& v) { return g * ref::mse_loss(x, v); }, y));
  // |x - y| has a kink at 0: random doubles are never within the step of it.
  const ref::LossGrads l1 = ref::l1_loss_backward(x, y, g);
  CHECK_GRAD(l1.dinput, numeric_grad([&](const Vec& v) { return g * ref::l1_loss(v, y); }, x));
  CHECK_GRAD(l1.dtarget, numeric_grad([&](const Vec& v) { return g * ref::l1_loss(x, v); }, y));
  const ref::LossGrads bce = ref::bce_with_logits_backward(x, y, g);
  CHECK_GRAD(bce.dinput,
             numeric_grad([&](const Vec& v) { return g * ref::bce_with_logits(v, y); }, x));
  CHECK_GRAD(bce.dtarget,
             numeric_grad([&](const Vec& v) { return g * ref::bce_with_logits(x, v); }, y));
}

TEST_CASE("reference pointwise losses have the known values", "[cpu][reference][loss]") {
  const Vec x = {1.0, 2.0, 3.0}, y = {1.0, 0.0, 0.0};
  CHECK(ref::mse_loss(x, y) == Approx(13.0 / 3.0));  // (0 + 4 + 9) / 3
  CHECK(ref::l1_loss(x, y) == Approx(5.0 / 3.0));    // (0 + 2 + 3) / 3
  // Logit 0 is probability 1/2 whatever the target: log 2. Logit log 3 is probability 3/4.
  CHECK(ref::bce_with_logits({0.0, 0.0}, {0.0, 1.0}) == Approx(std::log(2.0)));
  CHECK(ref::bce_with_logits({std::log(3.0)}, {1.0}) == Approx(-std::log(0.75)));
}

TEST_CASE("reference softmax and log-softmax backward match finite differences",
          "[cpu][reference][softmax]") {
  std::mt19937 rng(13);
  const ref::Shape shape = {2, 3, 4};
  const Vec x = random_vec(ref::numel(shape), rng, -2.0, 2.0), u = random_vec(x.size(), rng);
  for (int64_t dim = 0; dim < 3; ++dim) {
    INFO("dim " << dim);
    CHECK_GRAD(ref::softmax_backward(x, shape, dim, u),
               numeric_grad([&](const Vec& v) { return dot(u, ref::softmax(v, shape, dim)); }, x));
    CHECK_GRAD(
        ref::log_softmax_backward(x, shape, dim, u),
        numeric_grad([&](const Vec& v) { return dot(u, ref::log_softmax(v, shape, dim)); }, x));
  }
}

TEST_CASE("reference softmax has the known values", "[cpu][reference][softmax]") {
  // Rows along the last dimension: (0, log 3) gives (1/4, 3/4); (1, 1) gives (1/2, 1/2).
  const Vec y = ref::softmax({0.0, std::log(3.0), 1.0, 1.0}, {2, 2}, 1);
  CHECK(rel_err(y, {0.25, 0.75, 0.5, 0.5}) < 1e-15);
  // Along dim 0 the rows are the columns: (0, 1) and (log 3, 1).
  const Vec y0 = ref::softmax({0.0, std::log(3.0), 0.0, std::log(3.0)}, {2, 2}, 0);
  CHECK(rel_err(y0, {0.5, 0.5, 0.5, 0.5}) < 1e-15);
  CHECK(ref::log_softmax({0.0, 0.0}, {2}, 0)[0] == Approx(-std::log(2.0)));
}

TEST_CASE("reference cat narrow and permute backward match finite differences",
          "[cpu][reference][shape]") {
  std::mt19937 rng(14);
  const ref::Shape a_shape = {2, 3, 4}, b_shape = {2, 1, 4};
  const Vec a = random_vec(ref::numel(a_shape), rng), b = random_vec(ref::numel(b_shape), rng);
  SECTION("cat along dim 1") {
    const Vec u = random_vec(ref::numel({2, 4, 4}), rng);
    const std::vector<Vec> g = ref::cat_backward({a_shape, b_shape}, 1, u);
    CHECK_GRAD(g[0], numeric_grad(
                         [&](const Vec& v) {
                           return dot(u, ref::cat({v, b}, {a_shape, b_shape}, 1));
                         },
                         a));
    CHECK_GRAD(g[1], numeric_grad(
                         [&](const Vec& v) {
                           return dot(u, ref::cat({a, v}, {a_shape, b_shape}, 1));
                         },
                         b));
  }
  SECTION("narrow dim 2 from 1 length 2") {
    const Vec u = random_vec(ref::numel({2, 3, 2}), rng);
    CHECK_GRAD(
        ref::narrow_backward(a_shape, 2, 1, 2, u),
        numeric_grad([&](const Vec& v) { return dot(u, ref::narrow(v, a_shape, 2, 1, 2)); }, a));
  }
  SECTION("permute 2 0 1") {
    const std::vector<int64_t> dims = {2, 0, 1};
    const Vec u = random_vec(a.size(), rng);
    CHECK_GRAD(
        ref::permute_backward(a_shape, dims, u),
        numeric_grad([&](const Vec& v) { return dot(u, ref::permute(v, a_shape, dims)); }, a));
  }
}

TEST_CASE("reference cat narrow and permute have the known values", "[cpu][reference][shape]") {
  // [[1, 2], [3, 4]] and [[5], [6]] along dim 1: [[1, 2, 5], [3, 4, 6]].
  CHECK(ref::cat({{1, 2, 3, 4}, {5, 6}}, {{2, 2}, {2, 1}}, 1) == Vec{1, 2, 5, 3, 4, 6});
  CHECK(ref::cat({{1, 2, 3, 4}, {5, 6}}, {{2, 2}, {1, 2}}, 0) == Vec{1, 2, 3, 4, 5, 6});
  // Columns 1 and 2 of [[1, 2, 3], [4, 5, 6]].
  CHECK(ref::narrow({1, 2, 3, 4, 5, 6}, {2, 3}, 1, 1, 2) == Vec{2, 3, 5, 6});
  // The transpose of [[1, 2, 3], [4, 5, 6]].
  CHECK(ref::permute({1, 2, 3, 4, 5, 6}, {2, 3}, {1, 0}) == Vec{1, 4, 2, 5, 3, 6});
}

TEST_CASE("reference sum and mean along a dimension match finite differences",
          "[cpu][reference][reduce]") {
  std::mt19937 rng(15);
  const ref::Shape shape = {2, 3, 4};
  const Vec x = random_vec(ref::numel(shape), rng);
  for (int64_t dim = 0; dim < 3; ++dim) {
    INFO("dim " << dim);
    const Vec u = random_vec(x.size() / shape[dim], rng);
    CHECK_GRAD(ref::sum_dim_backward(shape, dim, u),
               numeric_grad([&](const Vec& v) { return dot(u, ref::sum_dim(v, shape, dim)); }, x));
    CHECK_GRAD(ref::mean_dim_backward(shape, dim, u),
               numeric_grad([&](const Vec& v) { return dot(u, ref::mean_dim(v, shape, dim)); }, x));
  }
  // [[1, 2, 3], [4, 5, 6]]: columns sum to (5, 7, 9), rows to (6, 15).
  CHECK(ref::sum_dim({1, 2, 3, 4, 5, 6}, {2, 3}, 0) == Vec{5, 7, 9});
  CHECK(ref::sum_dim({1, 2, 3, 4, 5, 6}, {2, 3}, 1) == Vec{6, 15});
  CHECK(ref::mean_dim({1, 2, 3, 4, 5, 6}, {2, 3}, 1) == Vec{2, 5});
}
