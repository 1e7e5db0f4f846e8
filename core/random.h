// Generator: the seeded random source behind every random factory, dropout mask and shuffle,
// so that a run is reproducible from its seed. Its state can be saved and restored.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace minidl {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}

  float uniform(float low = 0.f, float high = 1.f) {
    return std::uniform_real_distribution<float>(low, high)(engine_);
  }
  float normal(float mean = 0.f, float stddev = 1.f) {
    return std::normal_distribution<float>(mean, stddev)(engine_);
  }
  uint64_t next_u64() { return engine_(); }
  std::mt19937_64& engine() { return engine_; }

  // The full engine state as text, for checkpoints.
  std::string state() const;
  // Restores a state() text; anything else (truncated, out of range, all zero) is an Error
  // saying what is wrong, and the generator is left unchanged.
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

// The generator used when none is given (weight initialization, dropout). Seed it once at the
// start of a run for reproducibility; checkpoints save its state.
// Safe from several threads: each thread has its own, so no two threads ever share an engine
// (a lock would not do: engine() hands the engine out). The seed rule: the first thread to use
// one (a program's main thread) is seeded with the base seed itself, as a single-threaded
// program always was; every other thread, on first use, with the base seed mixed with its
// order of arrival (2nd thread, 3rd...). The base seed is manual_seed's, 0 until then.
Generator& default_generator();
// Sets the base seed and re-seeds the calling thread's default_generator() with it.
void manual_seed(uint64_t seed);

}  // namespace minidl
