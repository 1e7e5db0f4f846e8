// The per-op profiler (core/profiler.h) on the CPU: after the warm-up steps it counts every
// op of the profiled steps once per call, separates the phases (forward, backward, optimizer,
// metrics), gives each convolution shape its own row, ignores what runs outside a step, says
// so when no step was profiled, and request() starts over.
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "minidl/core/minidl.h"
#include "minidl/optim/optimizer.h"

using namespace minidl;

namespace {
struct Row {
  double calls_per_step = -1, ms_per_step = -1;
};

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// The table's rows by "op|phase" (its columns: op as wide as the header says, phase 9, then
// numbers).
std::map<std::string, Row> rows_of(const std::string& table) {
  std::map<std::string, Row> rows;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // title
  std::getline(lines, line);  // header: "op", padded, then "phase"
  const size_t phase_at = line.find("phase");
  while (std::getline(lines, line)) {
    Row row;
    std::istringstream(line.substr(phase_at + 9)) >> row.calls_per_step >> row.ms_per_step;
    rows[trimmed(line.substr(0, phase_at - 1)) + "|" + trimmed(line.substr(phase_at, 9))] = row;
  }
  return rows;
}
}  // namespace

TEST_CASE("the profiler counts each op of the profiled steps by phase", "[cpu][profiler]") {
  Generator gen(3);
  const Tensor x = Tensor::normal({2, 3, 8, 8}, 0.f, 1.f, gen);
  const Tensor w = Tensor::normal({4, 3, 3, 3}, 0.f, 1.f, gen).set_requires_grad(true);
  profiler::request(3);
  for (int step = 0; step < profiler::kWarmupSteps + 4; ++step) {
    profiler::begin_step(Device::CPU);
    const Tensor y = ops::relu(ops::conv2d(x, w, Tensor(), 1, 1));
    ops::sum(y).backward();
    profiler::end_step(Device::CPU);
    ops::relu(x);  // outside any step: not counted
  }
  const std::string table = profiler::report();
  INFO(table);
  CHECK(table.find("3 steps on cpu after 5 warm-up steps") != std::string::npos);
  const std::map<std::string, Row> rows = rows_of(table);
  // A convolution's row names its shape and the plan it ran (3 channels: im2col + GEMM).
  for (const char* key : {"conv2d 3->4 3x3 s1 8x8 [gemm]|forward", "relu|forward", "sum|forward",
                          "relu backward|backward", "sum backward|backward",
                          "conv2d backward-weight 3->4 3x3 s1 8x8 [gemm]|backward"}) {
    INFO(key);
    REQUIRE(rows.count(key) == 1);
    CHECK(rows.at(key).calls_per_step == 1.0);
    CHECK(rows.at(key).ms_per_step >= 0.0);
  }
  for (const auto& [key, row] : rows) {
    CHECK(key.find("conv2d backward-data") == std::string::npos);  // x needs no gradient
  }
  CHECK(rows.count("(outside ops: launch gaps, host work)|") == 1);

  profiler::request(0);  // off, and the totals start over
  CHECK(profiler::report().empty());
}

TEST_CASE("the profiler gives the optimizer, the metrics and each convolution shape their rows",
          "[cpu][profiler]") {
  Generator gen(4);
  const Tensor x = Tensor::normal({2, 3, 8, 8}, 0.f, 1.f, gen);
  const Tensor w1 = Tensor::normal({4, 3, 3, 3}, 0.f, 1.f, gen).set_requires_grad(true);
  const Tensor w2 = Tensor::normal({5, 4, 1, 1}, 0.f, 1.f, gen).set_requires_grad(true);
  SGD sgd({w1, w2}, SgdOptions(0.1f));
  const std::vector<int> labels = {1, 2};
  profiler::request(2);
  for (int step = 0; step < profiler::kWarmupSteps + 2; ++step) {
    profiler::begin_step(Device::CPU);
    const Tensor y = ops::conv2d(ops::conv2d(x, w1, Tensor(), 1, 1), w2, Tensor(), 1, 0);
    const Tensor logits = ops::global_avg_pool(y);
    ops::softmax_cross_entropy(logits, labels).backward();
    sgd.step();
    ops::count_correct(logits.detach(), ops::make_labels(labels, 5, Device::CPU));
    profiler::end_step(Device::CPU);
  }
  const std::string table = profiler::report();
  INFO(table);
  const std::map<std::string, Row> rows = rows_of(table);
  CHECK(rows.count("conv2d 3->4 3x3 s1 8x8 [gemm]|forward") == 1);
  CHECK(rows.count("conv2d 4->5 1x1 s1 8x8 [gemm 1x1]|forward") == 1);  // the second layer
  CHECK(rows.count("conv2d backward-data 4->5 1x1 s1 8x8 [gemm 1x1]|backward") == 1);
  bool optimizer = false, metrics = false;
  for (const auto& [key, row] : rows) {
    optimizer = optimizer || key.substr(key.find('|')) == "|optimizer";
    metrics = metrics || key == "count_correct|metrics";
  }
  CHECK(optimizer);  // the SGD update's kernels
  CHECK(metrics);
  profiler::request(0);
}

TEST_CASE("the profiler says so when a run is too short to profile a step", "[cpu][profiler]") {
  profiler::request(10);
  for (int step = 0; step < 3; ++step) {
    profiler::begin_step(Device::CPU);
    profiler::end_step(Device::CPU);
  }
  CHECK(profiler::report() ==
        "minidl profile: no step profiled: the run has marked 3 step(s), and profiling starts "
        "after 5 warm-up steps; run at least 6 steps\n");
  profiler::request(0);
  CHECK(profiler::report().empty());
}
