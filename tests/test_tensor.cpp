// Proves the Tensor basics: factories (constant, from data, seeded random), views that share
// storage (reshape, flatten, detach) versus copies that do not (clone), element access,
// 64-byte alignment of CPU data, and placement on the CPU.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <thread>
#include <vector>

#include "minidl/core/minidl.h"

using minidl::Device;
using minidl::Generator;
using minidl::Shape;
using minidl::Tensor;

namespace {

bool all_equal(const std::vector<float>& v, float value) {
  for (float x : v)
    if (x != value) return false;
  return true;
}

std::vector<float> iota(int64_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.f);
  return v;
}

}  // namespace

TEST_CASE("zeros, ones and full have the shape and value asked for", "[cpu][tensor]") {
  for (const Shape& shape : {Shape{}, Shape{1}, Shape{7}, Shape{2, 3}, Shape{2, 3, 4, 5}}) {
    INFO("shape " << minidl::shape_str(shape));
    Tensor z = Tensor::zeros(shape), o = Tensor::ones(shape), f = Tensor::full(shape, -2.5f);
    for (const Tensor* t : {&z, &o, &f}) {
      CHECK(t->defined());
      CHECK(t->shape() == shape);
      CHECK(t->dim() == int64_t(shape.size()));
      CHECK(t->numel() == minidl::shape_numel(shape));
      CHECK(t->device() == Device::CPU);
      CHECK_FALSE(t->requires_grad());
      CHECK(t->is_leaf());
    }
    CHECK(all_equal(z.to_vector(), 0.f));
    CHECK(all_equal(o.to_vector(), 1.f));
    CHECK(all_equal(f.to_vector(), -2.5f));
  }
}

TEST_CASE("from_vector keeps the values in row-major order", "[cpu][tensor]") {
  Tensor t = Tensor::from_vector(iota(24), {2, 3, 4});
  CHECK(t.shape() == Shape{2, 3, 4});
  CHECK(t.to_vector() == iota(24));
  CHECK(t.at({0, 0, 0}) == 0.f);
  CHECK(t.at({0, 0, 3}) == 3.f);
  CHECK(t.at({0, 2, 1}) == 9.f);
  CHECK(t.at({1, 0, 0}) == 12.f);
  CHECK(t.at({1, 2, 3}) == 23.f);
}

TEST_CASE("scalar is rank 0 with one element, and item() reads it", "[cpu][tensor]") {
  Tensor s = Tensor::scalar(3.5f);
  CHECK(s.dim() == 0);
  CHECK(s.shape().empty());
  CHECK(s.numel() == 1);
  CHECK(s.item() == 3.5f);
  CHECK(s.shape_str() == "[]");
  // item() works on any one-element tensor, whatever its rank.
  CHECK(Tensor::full({1, 1, 1}, -7.f).item() == -7.f);
}

TEST_CASE("shape accessors: size with negative dimensions and shape_str", "[cpu][tensor]") {
  Tensor t = Tensor::zeros({2, 3, 4, 5});
  CHECK(t.size(0) == 2);
  CHECK(t.size(3) == 5);
  CHECK(t.size(-1) == 5);
  CHECK(t.size(-4) == 2);
  CHECK(t.shape_str() == "[2, 3, 4, 5]");
  CHECK(minidl::shape_str({128, 3, 32, 32}) == "[128, 3, 32, 32]");
  CHECK(minidl::shape_numel({}) == 1);
  CHECK_FALSE(Tensor().defined());
}

TEST_CASE("shapes whose element count or bytes overflow are refused, not allocated short",
          "[cpu][tensor][errors]") {
  using minidl::Tensor;
  const int64_t big = int64_t(1) << 62, half = int64_t(1) << 32;
  // Before the check, [2^62] took 2^62 x 4 bytes = 0 (wrapped) plus the allocator's rounding:
  // a 512-byte buffer for 2^62 floats, and the first write ran off its end.
  CHECK_THROWS_WITH(Tensor::empty({big}),
                    "Tensor::empty: shape [4611686018427387904] has 4611686018427387904 elements "
                    "of 4 bytes: more than 2^63 - 1 bytes");
  CHECK_THROWS_WITH(Tensor::zeros({half, half}),
                    "Tensor::full: shape [4294967296, 4294967296] has more than 2^63 - 1 elements");
  // 2^32 x 2^32 wraps to 0, the element count of an empty tensor: reshape must not accept it.
  CHECK_THROWS_WITH(Tensor::empty({0}).reshape({half, half}),
                    "reshape: shape [4294967296, 4294967296] has more than 2^63 - 1 elements");
  CHECK_THROWS_WITH(Tensor::empty({0}).reshape({-1, half, half}),
                    "reshape: shape [-1, 4294967296, 4294967296] has more than 2^63 - 1 elements");
  CHECK_THROWS_WITH(Tensor::from_vector({1.f}, {big, 4}),
                    "Tensor::from_vector: shape [4611686018427387904, 4] has more than 2^63 - 1 "
                    "elements");
  minidl::Generator gen(1);
  CHECK_THROWS_WITH(Tensor::uniform({3, -1}, 0.f, 1.f, gen),
                    "Tensor::uniform: negative dimension in shape [3, -1]");
  CHECK_THROWS_WITH(Tensor::normal({half, half}, 0.f, 1.f, gen),
                    Catch::Contains("more than 2^63 - 1 elements"));
  // A zero dimension makes the others harmless, as in PyTorch.
  CHECK(Tensor::empty({0, big}).numel() == 0);
  CHECK(Tensor::empty({big, 4, 0}).numel() == 0);  // wherever the zero stands
  CHECK(Tensor::empty({0}).reshape({half, half, 0}).numel() == 0);
  CHECK(minidl::checked_numel({3, 5}, "test") == 15);
}

TEST_CASE("uniform is reproducible from its seed and stays within low <= x < high",
          "[cpu][tensor][random]") {
  Generator g1(42), g2(42), g3(43);
  Tensor a = Tensor::uniform({100, 100}, -2.f, 3.f, g1);
  Tensor b = Tensor::uniform({100, 100}, -2.f, 3.f, g2);
  Tensor c = Tensor::uniform({100, 100}, -2.f, 3.f, g3);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
  const std::vector<float> v = a.to_vector();
  double sum = 0;
  float lo = v[0], hi = v[0];
  for (float x : v) {
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  CHECK(lo >= -2.f);
  CHECK(hi < 3.f);
  // Spread over the whole range, centred on 0.5 (std of the mean: 5 / sqrt(12e4) ~ 0.014).
  CHECK(lo < -1.9f);
  CHECK(hi > 2.9f);
  CHECK(sum / v.size() == Approx(0.5).margin(0.07));
}

TEST_CASE("normal is reproducible from its seed and has the mean and std asked for",
          "[cpu][tensor][random]") {
  Generator g1(7), g2(7);
  Tensor a = Tensor::normal({10000}, 2.f, 3.f, g1);
  CHECK(a.to_vector() == Tensor::normal({10000}, 2.f, 3.f, g2).to_vector());
  const std::vector<float> v = a.to_vector();
  double sum = 0, sq = 0;
  for (float x : v) sum += x;
  const double mean = sum / v.size();
  for (float x : v) sq += (x - mean) * (x - mean);
  const double stddev = std::sqrt(sq / (v.size() - 1));
  // Standard errors: 3 / 100 = 0.03 for the mean, ~0.021 for the std; allow 5 of them.
  CHECK(mean == Approx(2.0).margin(0.15));
  CHECK(stddev == Approx(3.0).margin(0.11));
}

TEST_CASE("the generator's state can be saved and restored", "[cpu][tensor][random]") {
  Generator g(99);
  g.next_u64();
  const std::string saved = g.state();
  const std::vector<float> first = Tensor::uniform({50}, 0.f, 1.f, g).to_vector();
  g.set_state(saved);
  CHECK(Tensor::uniform({50}, 0.f, 1.f, g).to_vector() == first);
  CHECK_THROWS_AS(g.set_state("not a state"), minidl::Error);
}

TEST_CASE("reshape and flatten share storage with the original", "[cpu][tensor][views]") {
  Tensor a = Tensor::from_vector(iota(6), {2, 3});
  Tensor b = a.reshape({3, 2});
  Tensor v = a.flatten(0);
  CHECK(b.shape() == Shape{3, 2});
  CHECK(v.shape() == Shape{6});
  CHECK(b.to_vector() == a.to_vector());
  CHECK(b.data() == a.data());
  CHECK(v.data() == a.data());
  b.set({2, 1}, 42.f);  // element 5
  CHECK(a.at({1, 2}) == 42.f);
  CHECK(v.at({5}) == 42.f);
  a.set({0, 1}, -1.f);  // element 1
  CHECK(b.at({0, 1}) == -1.f);
  a.fill_(3.f);
  CHECK(all_equal(b.to_vector(), 3.f));
}

TEST_CASE("reshape infers one -1 dimension", "[cpu][tensor][views]") {
  Tensor a = Tensor::from_vector(iota(24), {2, 3, 4});
  CHECK(a.reshape({-1}).shape() == Shape{24});
  CHECK(a.reshape({4, -1}).shape() == Shape{4, 6});
  CHECK(a.reshape({-1, 2, 3}).shape() == Shape{4, 2, 3});
  CHECK(a.reshape({2, -1, 1, 3}).shape() == Shape{2, 4, 1, 3});
  CHECK(a.reshape({4, -1}).to_vector() == iota(24));
}

TEST_CASE("flatten merges the dimensions from start_dim on", "[cpu][tensor][views]") {
  Tensor a = Tensor::from_vector(iota(120), {2, 3, 4, 5});
  CHECK(a.flatten().shape() == Shape{2, 60});
  CHECK(a.flatten(1).shape() == Shape{2, 60});
  CHECK(a.flatten(2).shape() == Shape{2, 3, 20});
  CHECK(a.flatten(0).shape() == Shape{120});
  CHECK(a.flatten(3).shape() == Shape{2, 3, 4, 5});
  CHECK(a.flatten().to_vector() == iota(120));
  CHECK(a.flatten().data() == a.data());
  // The classifier's input: [N, C, 1, 1] -> [N, C].
  CHECK(Tensor::zeros({8, 512, 1, 1}).flatten().shape() == Shape{8, 512});
}

TEST_CASE("clone copies into its own storage, outside the graph", "[cpu][tensor][views]") {
  Tensor leaf = Tensor::from_vector(iota(6), {2, 3}).set_requires_grad(true);
  CHECK_FALSE(leaf.clone().requires_grad());
  Tensor a = Tensor::from_vector(iota(6), {2, 3});
  Tensor c = a.clone();
  CHECK(c.shape() == a.shape());
  CHECK(c.to_vector() == a.to_vector());
  CHECK(c.data() != a.data());
  c.set({0, 0}, 100.f);
  CHECK(a.at({0, 0}) == 0.f);
  a.set({1, 1}, -5.f);
  CHECK(c.at({1, 1}) == 4.f);
}

TEST_CASE("detach shares the data but not the graph", "[cpu][tensor][views]") {
  Tensor a = Tensor::from_vector(iota(6), {2, 3}).set_requires_grad(true);
  Tensor y = minidl::ops::scale(a, 2.f);
  REQUIRE(y.requires_grad());
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.data() == y.data());
  CHECK(d.to_vector() == y.to_vector());
  d.set({0, 2}, 9.f);
  CHECK(y.at({0, 2}) == 9.f);
}

TEST_CASE("at and set address single elements", "[cpu][tensor]") {
  Tensor t = Tensor::zeros({3, 4, 5});
  t.set({2, 3, 4}, 1.f);
  t.set({0, 1, 2}, 2.f);
  CHECK(t.at({2, 3, 4}) == 1.f);
  CHECK(t.at({0, 1, 2}) == 2.f);
  const std::vector<float> v = t.to_vector();
  CHECK(v[(2 * 4 + 3) * 5 + 4] == 1.f);
  CHECK(v[(0 * 4 + 1) * 5 + 2] == 2.f);
  CHECK(t.data()[(2 * 4 + 3) * 5 + 4] == 1.f);
}

TEST_CASE("CPU data is 64-byte aligned", "[cpu][tensor][memory]") {
  for (int64_t n : {1, 3, 16, 17, 100, 1000, 4097, 100000}) {
    INFO("numel " << n);
    Tensor t = Tensor::empty({n});
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    Tensor z = Tensor::zeros({n, 1});
    CHECK(reinterpret_cast<std::uintptr_t>(z.data()) % 64 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(minidl::ops::scale(z, 2.f).data()) % 64 == 0);
  }
}

TEST_CASE("to(CPU) of a CPU tensor is the same tensor", "[cpu][tensor][device]") {
  Tensor a = Tensor::from_vector(iota(6), {2, 3});
  Tensor b = a.to(Device::CPU);
  CHECK(b.device() == Device::CPU);
  CHECK(b.data() == a.data());
  CHECK(b.to_vector() == a.to_vector());
  CHECK(std::string(minidl::device_name(Device::CPU)) == "cpu");
  CHECK(minidl::parse_device("cpu") == Device::CPU);
  // "auto" falls back to the CPU when no GPU is usable.
  CHECK(minidl::parse_device("auto") == (minidl::cuda_available() ? Device::CUDA : Device::CPU));
}

TEST_CASE("fill_ and copy_ write in place", "[cpu][tensor]") {
  Tensor a = Tensor::zeros({2, 3});
  float* p = a.data();
  a.fill_(1.25f);
  CHECK(all_equal(a.to_vector(), 1.25f));
  a.copy_(Tensor::from_vector(iota(6), {2, 3}));
  CHECK(a.to_vector() == iota(6));
  CHECK(a.data() == p);
}

TEST_CASE("move_to_ refuses an op's result and keeps a leaf already there",
          "[cpu][tensor][device]") {
  Tensor leaf = Tensor::ones({3}).set_requires_grad();
  Tensor same_handle = leaf;
  leaf.move_to_(Device::CPU);
  CHECK(same_handle.data() == leaf.data());
  Tensor result = minidl::ops::mul(leaf, leaf);
  CHECK_THROWS_WITH(result.move_to_(Device::CPU), Catch::Contains("only leaf tensors can move"));
}

TEST_CASE("distributions refuse bounds whose difference is not finite, and Labels::wrap a count "
          "beyond its storage",
          "[cpu][tensor][errors]") {
  Generator gen(3);
  const float inf = std::numeric_limits<float>::infinity();
  const float big = std::numeric_limits<float>::max();
  CHECK_THROWS_WITH(Tensor::uniform({2}, -big, big, gen),  // each finite, the width not
                    "Tensor::uniform: low -3.40282e+38 and high 3.40282e+38 must be finite with "
                    "low <= high");
  CHECK_THROWS_WITH(Tensor::uniform({2}, 0.f, inf, gen), Catch::Contains("must be finite"));
  CHECK_THROWS_WITH(Tensor::uniform({2}, 1.f, 0.f, gen), Catch::Contains("low <= high"));
  CHECK_THROWS_WITH(Tensor::normal({2}, std::nanf(""), 1.f, gen),
                    Catch::Contains("must be finite"));
  CHECK_THROWS_WITH(Tensor::normal({2}, 0.f, inf, gen), Catch::Contains("must be finite"));
  auto storage = std::make_shared<minidl::Storage>(8, Device::CPU);  // room for 2 labels
  CHECK(minidl::ops::Labels::wrap(storage, 2).count() == 2);
  CHECK_THROWS_WITH(minidl::ops::Labels::wrap(storage, 3),
                    "Labels::wrap: count 3 does not fit the storage's 8 bytes (4 per label)");
  CHECK_THROWS_WITH(minidl::ops::Labels::wrap(storage, -1), Catch::Contains("count -1"));
  CHECK_THROWS_WITH(minidl::ops::Labels::wrap(nullptr, 1), "Labels::wrap: no storage for 1 labels");
}

TEST_CASE("out of memory reads the same wherever the allocation fails", "[cpu][tensor][errors]") {
  // 2^45 floats: 128 TiB, more than any machine here can give.
  try {
    const Tensor t = Tensor::empty({int64_t(1) << 45});
    FAIL("allocated " << t.numel() << " floats");
  } catch (const minidl::OutOfMemory& e) {
    CHECK(e.bytes() == (size_t(1) << 47));
    CHECK_THAT(e.what(), Catch::StartsWith("cpu allocator: out of memory: 140737488355328 bytes "
                                           "asked for, ") &&
                             Catch::Contains(" bytes in use by minidl, its cache given back ("));
  }
}

TEST_CASE("the default generator is safe from several threads: each has its own, by a seed rule",
          "[cpu][tensor][random]") {
  minidl::manual_seed(42);
  Generator expected(42);
  CHECK(minidl::default_generator().next_u64() == expected.next_u64());  // this thread: the seed
  std::vector<uint64_t> first(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < first.size(); ++t) {
    threads.emplace_back([&first, t] {
      Generator& mine = minidl::default_generator();
      first[t] = mine.next_u64();
      for (int i = 0; i < 100000; ++i) mine.next_u64();  // drawing at once, no shared engine
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::sort(first.begin(), first.end());
  CHECK(std::adjacent_find(first.begin(), first.end()) == first.end());  // four streams
  for (uint64_t value : first) CHECK(value != Generator(42).next_u64());
  // The calling thread's stream went on undisturbed.
  CHECK(minidl::default_generator().next_u64() == expected.next_u64());
}
