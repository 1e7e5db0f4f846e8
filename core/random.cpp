#include "minidl/core/random.h"

#include <atomic>
#include <charconv>
#include <sstream>
#include <vector>

#include "minidl/core/error.h"

namespace minidl {

std::string Generator::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

// The text state() writes: the engine's 312 words and its position (0..312), separated by
// single spaces. Anything else is refused before the engine is touched: the standard stream
// operator would accept a sign ("-1" wraps around), stop at garbage and ignore what follows.
void Generator::set_state(const std::string& state) {
  const char* op = "Generator::set_state";
  constexpr size_t n = std::mt19937_64::state_size;
  std::vector<uint64_t> numbers;
  numbers.reserve(n + 1);
  const char* p = state.data();
  const char* const end = p + state.size();
  while (p < end) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    MINIDL_CHECK(numbers.size() <= n, op, "a saved generator state has ", n + 1,
                 " numbers, this text has more");
    uint64_t value = 0;
    const auto [next, error] = std::from_chars(p, end, value);
    if (error != std::errc() || (next < end && *next != ' ')) {
      const char* token_end = p;
      while (token_end < end && *token_end != ' ' && token_end - p < 24) ++token_end;
      detail::fail(op, "number ", numbers.size() + 1, " of the state, '", std::string(p, token_end),
                   "', is not a whole number from 0 to 2^64-1");
    }
    numbers.push_back(value);
    p = next;
  }
  MINIDL_CHECK(numbers.size() == n + 1, op, "a saved generator state has ", n + 1,
               " numbers, this text has ", numbers.size());
  MINIDL_CHECK(numbers[n] <= n, op, "the state's position ", numbers[n], " is not in 0..", n);
  bool all_zero = true;
  for (size_t i = 0; i < n; ++i) all_zero = all_zero && numbers[i] == 0;
  MINIDL_CHECK(!all_zero, op,
               "the state's words are all zero (the generator would only ever "
               "produce zeros)");
  std::istringstream in(state);
  std::mt19937_64 restored;
  in >> restored;
  MINIDL_CHECK(!in.fail(), op, "state text is not a saved generator state");
  engine_ = restored;
}

namespace {
std::atomic<uint64_t> g_base_seed{0};
std::atomic<bool> g_first_thread_seeded{false};
std::atomic<uint64_t> g_other_threads{0};

// splitmix64's finalizer: nearby (seed, thread) pairs give unrelated seeds.
uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

Generator& default_generator() {
  thread_local Generator generator = [] {
    bool first = false;
    if (g_first_thread_seeded.compare_exchange_strong(first, true)) return Generator(g_base_seed);
    return Generator(mix(g_base_seed, ++g_other_threads));
  }();
  return generator;
}

void manual_seed(uint64_t seed) {
  g_base_seed = seed;
  g_other_threads = 0;  // threads that arrive after it count from the seed's own start
  default_generator() = Generator(seed);
}

}  // namespace minidl
