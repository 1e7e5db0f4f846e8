// The per-op profiler (core/profiler.h) on the CPU: after the warm-up steps it counts every
// op of the profiled steps once per call, separates forward from backward, ignores what runs
// outside a step, and request() starts over.
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>

#include "core/minidl.h"

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

// The table's rows by "op|phase" (its columns: op 42 characters, phase 9, then numbers).
std::map<std::string, Row> rows_of(const std::string& table) {
  std::map<std::string, Row> rows;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // title
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    Row row;
    std::istringstream(line.substr(52)) >> row.calls_per_step >> row.ms_per_step;
    rows[trimmed(line.substr(0, 42)) + "|" + trimmed(line.substr(43, 9))] = row;
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
  // A convolution's row names the plan it ran (3 channels: im2col + GEMM on the CPU).
  for (const char* key :
       {"conv2d[gemm]|forward", "relu|forward", "sum|forward", "relu backward|backward",
        "sum backward|backward", "conv2d backward-weight[gemm]|backward"}) {
    INFO(key);
    REQUIRE(rows.count(key) == 1);
    CHECK(rows.at(key).calls_per_step == 1.0);
    CHECK(rows.at(key).ms_per_step >= 0.0);
  }
  CHECK(rows.count("conv2d backward-data[gemm]|backward") == 0);  // x needs no gradient
  CHECK(rows.count("(outside ops: launch gaps, host work)|") == 1);

  profiler::request(0);  // off, and the totals start over
  CHECK(profiler::report().empty());
}
