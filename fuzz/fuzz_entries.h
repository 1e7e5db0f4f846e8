// The entry points the fuzzers drive, shared with the regression test
// (tests/test_checkpoint_strict.cpp replays fuzz/corpus/ and fuzz/regressions/ through them).
// Each takes arbitrary bytes and must either return or throw minidl::Error (UsageError for the
// command-line parser); anything else (a crash, a sanitizer report, another exception, a hang)
// is a bug. Inputs reach the readers as files, as in real use: one scratch folder per process.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "examples/train_options.h"
#include "minidl/core/minidl.h"
#include "minidl/data/cifar10.h"
#include "minidl/io/checkpoint.h"
#include "minidl/io/safetensors.h"

namespace minidl::fuzz {

// /dev/shm when there is one: rewriting a file on ext4 forces it to disk at close (the
// truncate-and-rewrite heuristic), which made the fuzzers 100 times slower.
inline std::filesystem::path scratch_root() {
  static const std::filesystem::path root = [] {
    std::error_code error;
    const std::filesystem::path shm = "/dev/shm";
    return ::access(shm.c_str(), W_OK) == 0 && std::filesystem::is_directory(shm, error)
               ? shm
               : std::filesystem::temp_directory_path();
  }();
  return root;
}

inline std::string scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::filesystem::path dir = scratch_root() / ("minidl_fuzz_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("fuzz: cannot write " + path);
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

// The safetensors reader: the header, then every tensor and its finiteness.
inline void safetensors_input(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("input.safetensors", data, size);
  const SafetensorsReader reader(path);
  for (const TensorEntry& e : reader.entries()) {
    float value = 0.f;
    reader.first_non_finite(e, &value);
  }
  const TensorFile file = load_safetensors(path);
  (void)file;
}

// A model small enough for a seed checkpoint of a few kilobytes: two parameters, a buffer.
struct TinyModel : Module {
  TinyModel() {
    register_parameter("weight", Tensor::zeros({2, 3}));
    register_parameter("bias", Tensor::zeros({2}));
    register_buffer("count", Tensor::zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return x; }
  std::string describe() const override { return "TinyModel"; }
};

struct TinyRun {
  TinyModel model;
  SGD sgd{decay_groups(model.parameters()),
          SgdOptions(0.1f).momentum(0.9f).weight_decay(5e-4f).nesterov(true)};
  LRScheduler scheduler{sgd, one_cycle(20, 0.3)};
};

// The checkpoint loader, into a fresh run each time (a load that succeeds changes the run),
// with and without the optimizer and the run-settings check.
inline void checkpoint_input(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("input_checkpoint.safetensors", data, size);
  TinyRun run;
  const RunSettings expected{8, 2, 10};
  const CheckpointState state =
      load_checkpoint(path, run.model, &run.sgd, &run.scheduler, &expected);
  check_run_settings(path, state.run, expected);
  TinyModel weights_only;
  load_checkpoint(path, weights_only, nullptr, nullptr);
}

// A valid checkpoint of TinyRun (the fuzzer's seed).
inline void write_checkpoint_seed(const std::string& path) {
  TinyRun run;
  run.scheduler.set_steps_taken(4);
  run.sgd.set_steps_taken(4);
  save_checkpoint(path, run.model, &run.sgd, &run.scheduler,
                  CheckpointState{2, {{"best_test_acc", "0.25"}}, RunSettings{8, 2, 10}});
}

// The CIFAR-10 reader on a test split of 2-record files (6146 bytes), without a limit and
// with limits of 1 and 2 images.
inline void cifar10_input(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("test_batch.bin", data, size);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  for (int64_t limit : {-1, 1, 2}) {
    try {
      const Cifar10 set = load_cifar10(dir, Split::Test, limit, 2);
      if (set.size() > 0) channel_stats(set);
    } catch (const Error&) {
      if (limit == 2) throw;
    }
  }
}

// train_cifar10's command line: the input split at NUL bytes into arguments (at most 64),
// then the step count the flags give for 1..50000 training images.
inline void train_options_input(const uint8_t* data, size_t size) {
  std::vector<std::string> args = {"train_cifar10"};
  std::string current;
  for (size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += char(data[i]);
    }
  }
  if (!current.empty() && args.size() < 64) args.push_back(current);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const TrainOptions o = parse_train_options(int(args.size()), argv.data());
  train_usage("train_cifar10");
  const int64_t images = o.limit_train > 0 ? o.limit_train : kTrainImages;
  total_train_steps(o, images);
}

}  // namespace minidl::fuzz
