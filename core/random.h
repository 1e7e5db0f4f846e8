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

// The process-wide generator used when none is given (weight initialization, dropout).
// Seed it once at the start of a run for reproducibility; checkpoints save its state.
Generator& default_generator();
void manual_seed(uint64_t seed);  // re-seeds default_generator()

}  // namespace minidl
