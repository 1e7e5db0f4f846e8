// Strict checkpoints (issue #11, items 2 and 3): every malformed or conflicting checkpoint is
// refused with a message naming the file and the key, tensor or setting, and leaves the run
// untouched; nothing non-finite is saved; loading reads one tensor at a time. The inputs the
// fuzzers found (fuzz/regressions/) are replayed through the same entry points.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "examples/train_options.h"
#include "fuzz/fuzz_entries.h"
#include "minidl/core/minidl.h"
#include "minidl/data/cifar10.h"
#include "minidl/io/checkpoint.h"
#include "minidl/io/crc32c.h"
#include "minidl/io/safetensors.h"
#include "minidl/layers/layers.h"
#include "testutil.h"

using namespace minidl;
using testutil::error_of;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("minidl_checkpoint_strict_tests_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string with_header(const std::string& json, const std::string& data = "") {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((uint64_t(json.size()) >> (8 * i)) & 0xff);
  return bytes + json + data;
}

// A small run: a linear layer, SGD and a one-cycle schedule, a few steps taken.
struct Run {
  Linear model{3, 2};
  SGD sgd;
  LRScheduler scheduler;
  explicit Run(float momentum = 0.9f, bool nesterov = true, float lr = 0.1f, float decay = 5e-4f)
      : sgd(decay_groups(model.parameters()),
            SgdOptions(lr).momentum(momentum).weight_decay(decay).nesterov(nesterov)),
        scheduler(sgd, one_cycle(20, 0.3)) {}
  void train(int steps) {
    Generator gen(5);
    const Tensor x = Tensor::normal({4, 3}, 0.f, 1.f, gen);
    for (int i = 0; i < steps; ++i) {
      const Tensor loss = ops::softmax_cross_entropy(model.forward(x), {0, 1, 0, 1});
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      scheduler.step();
    }
  }
  std::vector<float> weights() const { return model.named_parameters().front().second.to_vector(); }
};

// A valid checkpoint of a Run, saved to `name`.
fs::path saved_checkpoint(const std::string& name, float momentum = 0.9f,
                          const RunSettings& run_settings = {}) {
  Run run(momentum, momentum > 0.f);
  run.train(3);
  const fs::path path = temp_path(name);
  CheckpointState state{3, {{"best_test_acc", "0.5"}}, run_settings};
  save_checkpoint(path.string(), run.model, &run.sgd, &run.scheduler, state);
  return path;
}

// `source` saved again to `name` after `edit` changed its tensors or metadata.
fs::path edited(const fs::path& source, const std::string& name,
                const std::function<void(TensorFile&)>& edit) {
  TensorFile file = load_safetensors(source.string());
  edit(file);
  const fs::path path = temp_path(name);
  save_safetensors(path.string(), file.tensors, file.metadata);
  return path;
}

fs::path with_metadata(const fs::path& source, const std::string& key, const std::string& value) {
  return edited(source, "edited.safetensors", [&](TensorFile& f) { f.metadata[key] = value; });
}

// Loading `path` into a fresh Run must fail with exactly `message` and change nothing.
void require_refused(const fs::path& path, const std::string& message, float momentum = 0.9f) {
  Run run(momentum, momentum > 0.f);
  const std::vector<float> before = run.weights();
  manual_seed(77);
  const uint64_t rng_before = Generator(default_generator()).next_u64();
  REQUIRE_THROWS_WITH(load_checkpoint(path.string(), run.model, &run.sgd, &run.scheduler), message);
  CHECK(run.weights() == before);
  CHECK(run.sgd.steps_taken() == 0);
  CHECK(run.scheduler.steps_taken() == 0);
  CHECK(Generator(default_generator()).next_u64() == rng_before);
}

std::string metadata_message(const fs::path& path, const std::string& key, const std::string& value,
                             int minimum = 0) {
  return "load_checkpoint: " + path.string() + ": metadata '" + key + "' = '" + value +
         "' is not a whole number >= " + std::to_string(minimum) +
         " (a damaged or edited checkpoint?)";
}

// Byte offset of tensor `name`'s first value in the file at `path`.
uint64_t data_offset(const fs::path& path, const std::string& name) {
  const SafetensorsReader reader(path.string());
  const std::string bytes = read_file(path).substr(0, 8);
  uint64_t header = 0;
  for (int i = 0; i < 8; ++i) header |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return 8 + header + uint64_t(reader.find(name)->begin);
}

void poke_float(const fs::path& path, uint64_t offset, float value) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(std::streamoff(offset));
  f.write(reinterpret_cast<const char*>(&value), 4);
}

// The file with its checksums renamed away ("crc32c." -> "xrc32c.", the same length, so the
// header keeps its size): what a file written without them (by PyTorch, or by an older
// minidl) looks like to the reader.
void strip_checksums(const fs::path& path) {
  std::string bytes = read_file(path);
  for (size_t at = bytes.find("\"crc32c."); at != std::string::npos;
       at = bytes.find("\"crc32c.", at + 1)) {
    bytes[at + 1] = 'x';
  }
  write_bytes(path, bytes);
}

}  // namespace

TEST_CASE("crc32c is the Castagnoli CRC, and pieces add up to the whole",
          "[cpu][checkpoint][strict]") {
  const std::string check = "123456789";
  CHECK(crc32c(0, check.data(), check.size()) == 0xE3069283u);  // the published check value
  CHECK(crc32c(0, nullptr, 0) == 0u);
  CHECK(crc32c(crc32c(0, check.data(), 4), check.data() + 4, 5) == 0xE3069283u);
}

TEST_CASE("checkpoint tensors carry checksums: a flipped bit or swapped tensors are refused",
          "[cpu][checkpoint][strict]") {
  const fs::path good = saved_checkpoint("checksums.safetensors");
  {
    const SafetensorsReader reader(good.string());
    for (const TensorEntry& e : reader.entries()) CHECK(reader.has_checksum(e));
    for (const auto& [key, value] : reader.metadata()) CHECK(key.rfind("crc32c.", 0) != 0);
  }
  const auto refused = [](const fs::path& path) {
    Run run;
    const std::vector<float> before = run.weights();
    const std::string message =
        error_of([&] { load_checkpoint(path.string(), run.model, &run.sgd, &run.scheduler); });
    if (message != "(no error)") CHECK(run.weights() == before);  // a refused load changes nothing
    return message;
  };
  // One flipped bit in model.weight's bytes.
  const fs::path flipped = temp_path("bitflip.safetensors");
  fs::copy_file(good, flipped, fs::copy_options::overwrite_existing);
  std::string bytes = read_file(flipped);
  bytes[data_offset(flipped, "model.weight") + 5] ^= 0x10;
  write_bytes(flipped, bytes);
  CHECK_THAT(refused(flipped),
             Catch::StartsWith("load_safetensors: " + flipped.string() +
                               ": tensor 'model.weight' does not match its checksum (stored "
                               "crc32c ") &&
                 Catch::EndsWith("the file is damaged, or its tensors were edited or swapped"));
  // model.weight and its momentum buffer, both [2, 3], swapped: each is valid, neither is its own.
  const fs::path swapped = temp_path("swapped.safetensors");
  fs::copy_file(good, swapped, fs::copy_options::overwrite_existing);
  bytes = read_file(swapped);
  const uint64_t a = data_offset(swapped, "model.weight");
  const uint64_t b = data_offset(swapped, "optimizer.0.0.momentum_buffer");
  for (uint64_t i = 0; i < 24; ++i) std::swap(bytes[a + i], bytes[b + i]);
  write_bytes(swapped, bytes);
  CHECK_THAT(refused(swapped),
             Catch::Contains("tensor 'model.weight' does not match its checksum"));
  // Without checksums the same swap loads: they are what catches it. And such files still load.
  strip_checksums(swapped);
  CHECK(refused(swapped) == "(no error)");
  const fs::path plain = temp_path("no_checksums.safetensors");
  fs::copy_file(good, plain, fs::copy_options::overwrite_existing);
  strip_checksums(plain);
  CHECK(refused(plain) == "(no error)");
  // A checksum that is not one, or of a tensor the file lacks, is named.
  const fs::path bad_value = temp_path("bad_checksum.safetensors");
  fs::copy_file(good, bad_value, fs::copy_options::overwrite_existing);
  bytes = read_file(bad_value);
  const size_t key = bytes.find("\"crc32c.model.bias\":\"");
  REQUIRE(key != std::string::npos);
  bytes[key + std::string("\"crc32c.model.bias\":\"").size()] = 'Z';
  write_bytes(bad_value, bytes);
  CHECK_THAT(refused(bad_value), Catch::Contains("metadata 'crc32c.model.bias' = 'Z") &&
                                     Catch::Contains("is not a checksum (8 lowercase hex digits)"));
}

TEST_CASE("save_safetensors refuses two tensors of one name before the file is touched",
          "[cpu][checkpoint][strict]") {
  const fs::path target = temp_path("duplicates.safetensors");
  write_bytes(target, "previous");
  const Tensor t = Tensor::zeros({2});
  CHECK_THROWS_WITH(save_safetensors(target.string(), {{"a", t}, {"b", t}, {"a", t}}),
                    "save_safetensors: the tensor name 'a' appears twice; nothing was saved (" +
                        target.string() + " was left unchanged)");
  CHECK_THROWS_WITH(save_safetensors(target.string(), {{"a", t}}, {{"crc32c.a", "0"}}),
                    "save_safetensors: the metadata key 'crc32c.a' starts with 'crc32c.', which "
                    "the tensors' checksums use");
  CHECK(read_file(target) == "previous");
  CHECK_FALSE(fs::exists(target.string() + ".tmp"));
}

TEST_CASE("checkpoint counts must be whole numbers of at least zero", "[cpu][checkpoint][strict]") {
  const fs::path good = saved_checkpoint("counts.safetensors");
  for (const char* bad : {"-3", "1abc", "", " 1", "+1", "1.0", "0x10", "99999999999999999999"}) {
    INFO("epoch = '" << bad << "'");
    const fs::path path = with_metadata(good, "epoch", bad);
    require_refused(path, metadata_message(path, "epoch", bad));
  }
  fs::path path = with_metadata(good, "optimizer.steps", "-1");
  require_refused(path, metadata_message(path, "optimizer.steps", "-1"));
  path = with_metadata(good, "scheduler.steps", "-5");
  require_refused(path, metadata_message(path, "scheduler.steps", "-5"));
  path = with_metadata(good, "scheduler.steps", "7 ");
  require_refused(path, metadata_message(path, "scheduler.steps", "7 "));
  path = with_metadata(good, "run.batch_size", "0");
  require_refused(path, metadata_message(path, "run.batch_size", "0", 1));
  path = edited(good, "no_epoch.safetensors", [](TensorFile& f) { f.metadata.erase("epoch"); });
  require_refused(path, "load_checkpoint: " + path.string() +
                            " has no metadata 'epoch' (not a minidl training checkpoint?)");
  path = edited(good, "no_steps.safetensors",
                [](TensorFile& f) { f.metadata.erase("scheduler.steps"); });
  require_refused(path,
                  "load_checkpoint: " + path.string() +
                      " has no metadata 'scheduler.steps' (not a minidl training checkpoint?)");
}

TEST_CASE("checkpoint best_val_acc and best_test_acc must be finite accuracies on load and save",
          "[cpu][checkpoint][strict]") {
  const fs::path good = saved_checkpoint("accuracy.safetensors");
  for (const char* bad : {"nan", "inf", "-0.1", "1.5", "0.5x", "", "abc"}) {
    INFO("best_test_acc = '" << bad << "'");
    const fs::path path = with_metadata(good, "best_test_acc", bad);
    require_refused(path,
                    "load_checkpoint: " + path.string() + ": metadata 'best_test_acc' = '" + bad +
                        "' is not an accuracy between 0 and 1 (a damaged or edited checkpoint?)");
  }
  Run run;
  const fs::path target = temp_path("accuracy_save.safetensors");
  write_bytes(target, "previous");
  REQUIRE_THROWS_WITH(save_checkpoint(target.string(), run.model, &run.sgd, &run.scheduler,
                                      CheckpointState{1, {{"best_test_acc", "nan"}}}),
                      "save_checkpoint: " + target.string() +
                          ": best_test_acc = 'nan' is not an accuracy between 0 and 1; not saved");
  REQUIRE_THROWS_WITH(save_checkpoint(target.string(), run.model, &run.sgd, &run.scheduler,
                                      CheckpointState{1, {{"best_val_acc", "1.5"}}}),
                      "save_checkpoint: " + target.string() +
                          ": best_val_acc = '1.5' is not an accuracy between 0 and 1; not saved");
  const fs::path bad_val = with_metadata(good, "best_val_acc", "-1");
  require_refused(bad_val, "load_checkpoint: " + bad_val.string() +
                               ": metadata 'best_val_acc' = '-1' is not an accuracy between 0 "
                               "and 1 (a damaged or edited checkpoint?)");
  REQUIRE_THROWS_WITH(save_checkpoint(target.string(), run.model, &run.sgd, &run.scheduler,
                                      CheckpointState{-1, {}}),
                      "save_checkpoint: " + target.string() + ": epoch -1 is negative");
  REQUIRE_THROWS_WITH(
      save_checkpoint(target.string(), run.model, &run.sgd, &run.scheduler,
                      CheckpointState{1, {{"epoch", "7"}}}),
      "save_checkpoint: " + target.string() +
          ": the caller's metadata key 'epoch' is "
          "one the checkpoint itself writes (epoch, rng.*, optimizer.*, scheduler.*, run.*)");
  CHECK(read_file(target) == "previous");
}

TEST_CASE("a corrupt generator state names the checkpoint and the key",
          "[cpu][checkpoint][strict]") {
  const fs::path good = saved_checkpoint("rng.safetensors");
  const std::string state = load_safetensors(good.string()).metadata.at("rng.default");
  const std::string prefix =
      "load_checkpoint: " + temp_path("edited.safetensors").string() +
      ": metadata 'rng.default' is not a saved generator state (Generator::set_state: ";
  const std::string suffix = "): a damaged or edited checkpoint?";
  auto first_numbers = [&](int count) {
    std::istringstream in(state);
    std::string out, token;
    for (int i = 0; i < count && in >> token; ++i) out += (i ? " " : "") + token;
    return out;
  };
  const std::string zeros = [] {
    std::string s;
    for (int i = 0; i < 312; ++i) s += "0 ";
    return s + "312";
  }();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"abc", "number 1 of the state, 'abc', is not a whole number from 0 to 2^64-1"},
      {first_numbers(100), "a saved generator state has 313 numbers, this text has 100"},
      {state + " 5", "a saved generator state has 313 numbers, this text has more"},
      {"-1" + state.substr(state.find(' ')),
       "number 1 of the state, '-1', is not a whole number from 0 to 2^64-1"},
      {state.substr(0, state.rfind(' ')) + " 999", "the state's position 999 is not in 0..312"},
      {state + "x", "number 313 of the state, '" + state.substr(state.rfind(' ') + 1) +
                        "x', is not a whole number from 0 to 2^64-1"},
      {zeros, "the state's words are all zero (the generator would only ever produce zeros)"},
  };
  for (const auto& [text, why] : cases) {
    INFO(why);
    require_refused(with_metadata(good, "rng.default", text), prefix + why + suffix);
  }
  const fs::path path =
      edited(good, "no_rng.safetensors", [](TensorFile& f) { f.metadata.erase("rng.default"); });
  require_refused(path, "load_checkpoint: " + path.string() +
                            " has no metadata 'rng.default' (not a minidl training checkpoint?)");
  Generator g(3);
  CHECK_THROWS_WITH(g.set_state(zeros), Catch::Contains("all zero"));
}

TEST_CASE("the safetensors data section must be covered exactly", "[cpu][checkpoint][strict]") {
  const fs::path path = temp_path("coverage.safetensors");
  const std::string p = path.string();
  const std::string a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[";
  const std::string b = "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[";
  // trailing bytes (the review's 1 GB tail, in small)
  write_bytes(path, with_header("{" + a + "0,8]}}", "12345678" + std::string(5, 'x')));
  REQUIRE_THROWS_WITH(
      load_safetensors(p),
      "load_safetensors: " + p +
          ": 5 bytes after the last tensor's data "
          "(the tensors end at data byte 8 of 13): trailing garbage, or a damaged file");
  // a gap at the start and between two tensors
  write_bytes(path, with_header("{" + a + "4,12]}}", "123412345678"));
  REQUIRE_THROWS_WITH(
      load_safetensors(p),
      "load_safetensors: " + p +
          ": data bytes [0, 4) belong to no "
          "tensor (a gap before 'a'): a damaged file, or not written by a safetensors writer");
  write_bytes(path, with_header("{" + a + "0,8]}," + b + "12,16]}}", "1234567812341234"));
  REQUIRE_THROWS_WITH(
      load_safetensors(p),
      "load_safetensors: " + p +
          ": data bytes [8, 12) belong to no "
          "tensor (a gap before 'b'): a damaged file, or not written by a safetensors writer");
  // overlapping tensors
  write_bytes(path, with_header("{" + a + "0,8]}," + b + "4,8]}}", "12345678"));
  REQUIRE_THROWS_WITH(load_safetensors(p), "load_safetensors: " + p +
                                               ": tensors 'a' [0, 8) and 'b' [4, 8) "
                                               "overlap in the data section");
  // duplicates and missing fields
  write_bytes(path, with_header("{" + a + "0,8]}," + a + "0,8]}}", "12345678"));
  REQUIRE_THROWS_WITH(load_safetensors(p),
                      Catch::StartsWith("load_safetensors: " + p + ": malformed header at byte ") &&
                          Catch::EndsWith(": tensor 'a' appears twice"));
  write_bytes(path, with_header("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}"));
  REQUIRE_THROWS_WITH(load_safetensors(p),
                      Catch::EndsWith(": field 'dtype' of tensor 'a' appears twice"));
  write_bytes(path, with_header("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"));
  REQUIRE_THROWS_WITH(load_safetensors(p), Catch::EndsWith(": metadata key 'k' appears twice"));
  write_bytes(path, with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "12345678"));
  REQUIRE_THROWS_WITH(load_safetensors(p),
                      "load_safetensors: " + p + ": tensor 'a' has no data_offsets");
  write_bytes(path, with_header("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "12345678"));
  REQUIRE_THROWS_WITH(load_safetensors(p), "load_safetensors: " + p + ": tensor 'a' has no dtype");
  // an enormous tensor in a small file: refused from the header, nothing allocated
  write_bytes(path, with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776],"
                                "\"data_offsets\":[0,4398046511104]}}",
                                "1234"));
  REQUIRE_THROWS_WITH(load_safetensors(p),
                      "load_safetensors: " + p +
                          ": tensor 'a' has data offsets "
                          "[0, 4398046511104] outside the 4 data bytes (truncated file?)");
  // a zero-size tensor anywhere in the order is fine, and the file still loads
  write_bytes(
      path,
      with_header("{" + a + "0,8]},\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
                  std::string(8, '\0')));
  CHECK(load_safetensors(p).get("z").numel() == 0);
}

TEST_CASE("a safetensors header over the 100 MB limit or a non-file is refused before reading",
          "[cpu][checkpoint][strict]") {
  const fs::path path = temp_path("huge_header.safetensors");
  const std::string p = path.string();
  {  // a sparse file, so the header length is within the file
    write_bytes(path, with_header("").substr(0, 8));
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    const uint64_t length = SafetensorsReader::kMaxHeaderBytes + 1;
    for (int i = 0; i < 8; ++i) f.put(char((length >> (8 * i)) & 0xff));
  }
  REQUIRE(::truncate(p.c_str(), off_t(SafetensorsReader::kMaxHeaderBytes + 64)) == 0);
  REQUIRE_THROWS_WITH(load_safetensors(p),
                      "load_safetensors: " + p +
                          ": header length 100000001 is over "
                          "safetensors' limit of 100000000 bytes (not a safetensors file?)");
  fs::remove(path);
  const fs::path dir = temp_path("a_directory.safetensors");
  fs::create_directories(dir);
  REQUIRE_THROWS_WITH(load_safetensors(dir.string()),
                      "load_safetensors: " + dir.string() +
                          " is a directory, not a safetensors file");
  const fs::path fifo = temp_path("fifo.safetensors");
  fs::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE_THROWS_WITH(load_safetensors(fifo.string()),  // and does not wait for a writer
                      "load_safetensors: " + fifo.string() + " is not a regular file");
  fs::remove(fifo);
}

TEST_CASE("checkpoint tensors must be finite on load and on save", "[cpu][checkpoint][strict]") {
  const fs::path good = saved_checkpoint("finite.safetensors");
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const fs::path path = temp_path("nonfinite.safetensors");
    fs::copy_file(good, path, fs::copy_options::overwrite_existing);
    strip_checksums(path);  // else the checksum names the damage first (the case above)
    poke_float(path, data_offset(path, "model.bias") + 4, bad);
    require_refused(
        path, "load_checkpoint: " + path.string() + ": tensor 'model.bias' of shape [2] holds " +
                  (std::isnan(bad) ? "nan" : "inf") +
                  " at element 1: saved from a diverged run, "
                  "or damaged; nothing was loaded (resume from the folder's other checkpoint)");
  }
  Run run;
  run.model.named_parameters().front().second.data()[4] = std::numeric_limits<float>::quiet_NaN();
  const fs::path target = temp_path("nonfinite_save.safetensors");
  write_bytes(target, "previous");
  REQUIRE_THROWS_WITH(
      save_checkpoint(target.string(), run.model, &run.sgd, &run.scheduler, {}),
      "save_safetensors: tensor 'model.weight' of shape [2, 3] holds nan at element 4; nothing "
      "was saved (" +
          target.string() +
          " was left unchanged): the run has diverged or the "
          "tensor was never written");
  CHECK(read_file(target) == "previous");
  CHECK_FALSE(fs::exists(target.string() + ".tmp"));
}

TEST_CASE("resuming with other optimizer settings names the setting", "[cpu][checkpoint][strict]") {
  const fs::path with_momentum = saved_checkpoint("momentum.safetensors", 0.9f);
  const fs::path without = saved_checkpoint("no_momentum.safetensors", 0.f);
  const std::string m = with_momentum.string(), w = without.string();
  // the review's case: a momentum-0 checkpoint resumed with momentum on, and the reverse
  require_refused(without, "load_checkpoint: " + w +
                               " was saved with the optimizer setting momentum = 0 "
                               "(metadata 'optimizer.momentum') but this run has momentum = 0.9: "
                               "resume with the settings "
                               "the checkpoint was saved with (momentum = 0), or start a new run");
  require_refused(
      with_momentum,
      "load_checkpoint: " + m +
          " was saved with the optimizer setting momentum = 0.9 "
          "(metadata 'optimizer.momentum') but this run has momentum = 0: resume with the settings "
          "the checkpoint was saved with (momentum = 0.9), or start a new run",
      0.f);
  {
    Run run(0.9f, false);
    REQUIRE_THROWS_WITH(
        load_checkpoint(m, run.model, &run.sgd, &run.scheduler),
        "load_checkpoint: " + m +
            " was saved with the optimizer setting nesterov = 1 (metadata "
            "'optimizer.nesterov') but this run has nesterov = 0: resume with the settings the "
            "checkpoint was saved with (nesterov = 1), or start a new run");
  }
  {
    Run run(0.9f, true, 0.05f);
    REQUIRE_THROWS_WITH(
        load_checkpoint(m, run.model, &run.sgd, &run.scheduler),
        Catch::StartsWith(
            "load_checkpoint: " + m +
            " was saved with the optimizer setting base_lr0 "
            "= 0.1 (metadata 'scheduler.base_lr0') but this run has base_lr0 = 0.05") &&
            Catch::EndsWith("(base_lr0 = 0.1), or start a new run"));
  }
  {
    Run run(0.9f, true, 0.1f, 1e-3f);
    REQUIRE_THROWS_WITH(
        load_checkpoint(m, run.model, &run.sgd, &run.scheduler),
        Catch::StartsWith(
            "load_checkpoint: " + m +
            " was saved with the optimizer setting "
            "group0.weight_decay = 0.0005 (metadata 'optimizer.group0.weight_decay') but this run "
            "has group0.weight_decay = 0.001") &&
            Catch::EndsWith("(group0.weight_decay = 0.0005), or start a new run"));
  }
  {
    Linear model(3, 2);
    Adam adam(model.parameters(), AdamOptions());
    REQUIRE_THROWS_WITH(load_checkpoint(m, model, &adam, nullptr),
                        "load_checkpoint: " + m +
                            " was saved by the SGD optimizer (metadata 'optimizer.type') but "
                            "this run uses Adam: resume with the optimizer the checkpoint was "
                            "saved with, or start a new run");
  }
  // A checkpoint from before the settings were recorded: the tensors still say it.
  auto strip = [](TensorFile& f) {
    for (auto it = f.metadata.begin(); it != f.metadata.end();) {
      const bool setting = it->first.rfind("optimizer.", 0) == 0 && it->first != "optimizer.steps";
      it = setting || it->first.rfind("scheduler.base_lr", 0) == 0 ? f.metadata.erase(it)
                                                                   : std::next(it);
    }
  };
  const fs::path old_without = edited(without, "old_no_momentum.safetensors", strip);
  require_refused(old_without, "load_checkpoint: " + old_without.string() +
                                   " has no tensor named "
                                   "'optimizer.0.0.momentum_buffer', state this run's optimizer "
                                   "keeps (SGD keeps a momentum_buffer "
                                   "only with momentum > 0: the optimizer setting momentum "
                                   "differs from the checkpoint's)");
  const fs::path old_with = edited(with_momentum, "old_momentum.safetensors", strip);
  require_refused(
      old_with,
      "load_checkpoint: " + old_with.string() +
          " has optimizer state "
          "'optimizer.0.0.momentum_buffer' that this run's optimizer does not keep (SGD keeps a "
          "momentum_buffer only with momentum > 0: the optimizer setting momentum differs from "
          "the checkpoint's)",
      0.f);
  // Same settings: loads (the old file too), and a weights-only load ignores the optimizer state.
  Run same;
  CHECK(load_checkpoint(old_with.string(), same.model, &same.sgd, &same.scheduler).epoch == 3);
  Linear weights_only(3, 2);
  CHECK(load_checkpoint(m, weights_only, nullptr, nullptr).extra.at("best_test_acc") == "0.5");
}

TEST_CASE("a checkpoint with tensors the run does not use is refused by name",
          "[cpu][checkpoint][strict]") {
  const fs::path good = saved_checkpoint("extra_tensors.safetensors");
  fs::path path = edited(good, "extra_model.safetensors", [](TensorFile& f) {
    f.tensors.emplace_back("model.fc2.weight", Tensor::zeros({2}));
  });
  require_refused(path, "load_checkpoint: " + path.string() +
                            " has tensor 'model.fc2.weight' that this model "
                            "does not have (a checkpoint of a different configuration?)");
  path = edited(good, "extra_other.safetensors",
                [](TensorFile& f) { f.tensors.emplace_back("weights", Tensor::zeros({2})); });
  require_refused(path, "load_checkpoint: " + path.string() +
                            " has tensor 'weights', which is not part of a "
                            "minidl checkpoint (names start with 'model.' or 'optimizer.')");
}

TEST_CASE("a resume with another batch size or epoch count is refused by name",
          "[cpu][checkpoint][strict]") {
  const RunSettings saved{128, 391, 40};
  const fs::path path = saved_checkpoint("run_settings.safetensors", 0.9f, saved);
  const std::string p = path.string();
  Run run;
  const CheckpointState state = load_checkpoint(p, run.model, &run.sgd, &run.scheduler);
  CHECK(state.run.batch_size == 128);
  CHECK(state.run.steps_per_epoch == 391);
  CHECK(state.run.epochs == 40);
  CHECK(state.extra.count("run.batch_size") == 0);
  CHECK_NOTHROW(check_run_settings(p, saved, saved));
  CHECK_NOTHROW(
      check_run_settings(p, RunSettings{}, RunSettings{256, 196, 60}));  // an older checkpoint
  CHECK_THROWS_WITH(
      check_run_settings(p, saved, RunSettings{256, 196, 40}),
      "resume: " + p +
          " was saved by a run with batch_size = 128 (metadata 'run.batch_size') but this run "
          "has batch_size = 256: the learning-rate schedule counts optimizer steps, so another "
          "batch size would shift it; resume with batch_size = 128, or start a new run");
  CHECK_THROWS_WITH(
      check_run_settings(p, saved, RunSettings{128, 79, 40}),
      "resume: " + p +
          " was saved by a run of 391 steps per epoch (metadata 'run.steps_per_epoch') "
          "but this run has 79 (batch_size = 128 over another number of training images): the "
          "learning-rate schedule counts optimizer steps, so it would shift; resume with the same "
          "training images and batch size, or start a new run");
  CHECK_THROWS_WITH(check_run_settings(p, saved, RunSettings{128, 391, 60}),
                    "resume: " + p +
                        " belongs to a run of 40 epochs (metadata 'run.epochs') but this run has "
                        "epochs = 60: the learning-rate schedule spans all the epochs, so another "
                        "number of epochs changes the rate of every remaining step; resume with "
                        "epochs = 40, or start a new run of 60 epochs");
  const RunSettings other{256, 196, 40};
  Run fresh;
  REQUIRE_THROWS_WITH(
      load_checkpoint(p, fresh.model, &fresh.sgd, &fresh.scheduler, &other),
      Catch::StartsWith("resume: " + p + " was saved by a run with batch_size = 128"));
  CHECK(fresh.sgd.steps_taken() == 0);
}

// The SettingMismatch that `f` throws, for its fields (a test failure when it throws none).
SettingMismatch mismatch_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const SettingMismatch& e) {
    return e;
  }
  FAIL("no SettingMismatch was thrown");
  throw std::logic_error("unreachable");
}

// A library message names the library's settings and fields, never a program's flags.
void check_no_flags(const SettingMismatch& e) {
  INFO(e.what());
  CHECK_THAT(e.what(), !Catch::Contains("--") && !Catch::Contains("train_cifar10"));
}

TEST_CASE("a refused resume is a SettingMismatch naming the setting and both values, no flags",
          "[cpu][checkpoint][strict]") {
  const fs::path with_momentum = saved_checkpoint("mismatch_momentum.safetensors", 0.9f);
  const fs::path without = saved_checkpoint("mismatch_no_momentum.safetensors", 0.f);
  const std::string m = with_momentum.string(), w = without.string();
  // Loading `path` into `run` is refused for `setting`, saved as `saved`, `now` in the run.
  auto refused = [](const std::string& path, Run& run, const std::string& setting,
                    const std::string& saved, const std::string& now) {
    const SettingMismatch e =
        mismatch_of([&] { load_checkpoint(path, run.model, &run.sgd, &run.scheduler); });
    CHECK(e.setting() == setting);
    CHECK(e.saved() == saved);
    CHECK(e.now() == now);
    check_no_flags(e);
  };
  {
    Run run(0.9f);
    refused(w, run, "momentum", "0", "0.9");
  }
  {
    Run run(0.9f, false);
    refused(m, run, "nesterov", "1", "0");
  }
  {
    Run run(0.9f, true, 0.05f);
    refused(m, run, "base_lr0", "0.1", "0.05");
  }
  {
    Run run(0.9f, true, 0.1f, 1e-3f);
    refused(m, run, "group0.weight_decay", "0.0005", "0.001");
  }
  {
    Linear model(3, 2);
    Adam adam(model.parameters(), AdamOptions{});
    const SettingMismatch e = mismatch_of([&] { load_checkpoint(m, model, &adam, nullptr); });
    CHECK((e.setting() == "type" && e.saved() == "SGD" && e.now() == "Adam"));
  }
  // A checkpoint that does not record its settings: its momentum buffers say momentum, but
  // not its value.
  auto strip = [](TensorFile& f) {
    for (auto it = f.metadata.begin(); it != f.metadata.end();) {
      const bool setting = it->first.rfind("optimizer.", 0) == 0 && it->first != "optimizer.steps";
      it = setting || it->first.rfind("scheduler.base_lr", 0) == 0 ? f.metadata.erase(it)
                                                                   : std::next(it);
    }
  };
  const fs::path old_without = edited(without, "mismatch_old.safetensors", strip);
  Run with(0.9f);
  refused(old_without.string(), with, "momentum", "", "0.9");

  const RunSettings saved{128, 391, 40};
  const std::string p = "run.safetensors";
  struct RunCase {
    RunSettings now;
    std::string setting, saved, value;
  };
  for (const RunCase& c : {RunCase{{256, 196, 40}, "batch_size", "128", "256"},
                           RunCase{{128, 79, 40}, "steps_per_epoch", "391", "79"},
                           RunCase{{128, 391, 60}, "epochs", "40", "60"}}) {
    const SettingMismatch e = mismatch_of([&] { check_run_settings(p, saved, c.now); });
    CHECK(e.setting() == c.setting);
    CHECK(e.saved() == c.saved);
    CHECK(e.now() == c.value);
    check_no_flags(e);
  }
}

TEST_CASE("load_checkpoint reads one tensor at a time", "[cpu][checkpoint][strict]") {
  // Eight 4 MiB parameters (32 MiB): the old loader held the file two or three times over
  // (a stringstream, its copy and the tensors: 96 MiB or more); reading one tensor at a time
  // needs one more tensor (4 MiB) and a 1 MiB piece besides the model. The bound leaves room
  // for AddressSanitizer, whose quarantine keeps each freed piece (make sanitize).
  struct Big : Module {
    Big() {
      for (int i = 0; i < 8; ++i)
        register_parameter("p" + std::to_string(i), Tensor::full({1 << 20}, float(i)));
    }
    Tensor forward(const Tensor& x) override { return x; }
    std::string describe() const override { return "Big"; }
  };
  Big model;
  const fs::path path = temp_path("big.safetensors");
  save_checkpoint(path.string(), model, nullptr, nullptr, {});
  Big other;
  for (auto [name, t] : other.named_parameters()) t.fill_(0.f);
  auto kib = [](const char* field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::strlen(field)));
    }
    return -1LL;
  };
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // resets the peak resident size (VmHWM)
  clear.close();
  if (!clear || kib("VmHWM:") < 0 || kib("VmHWM:") > kib("VmRSS:") + 1024) {
    WARN("SKIPPED: cannot reset the peak resident size through /proc/self/clear_refs here");
    return;
  }
  const long long before = kib("VmRSS:");
  load_checkpoint(path.string(), other, nullptr, nullptr);
  const long long growth = kib("VmHWM:") - before;
  INFO("peak resident size grew by " << growth << " KiB while loading a 32 MiB checkpoint");
  CHECK(growth < 24 * 1024);
  CHECK(other.named_parameters()[7].second.to_vector()[12345] == 7.f);
  fs::remove(path);
}

TEST_CASE("the fuzzers' seed corpus and regression inputs end in a clean error or a load",
          "[cpu][checkpoint][strict][fuzz]") {
  // The inputs are replayed through the fuzz targets' own entry points (fuzz/fuzz_entries.h):
  // each must return or throw minidl::Error (UsageError for the parser); a crash or any other
  // exception fails here, without clang.
  const fs::path root = fs::path(MINIDL_SOURCE_DIR) / "fuzz";
  const std::vector<std::pair<std::string, void (*)(const uint8_t*, size_t)>> targets = {
      {"safetensors", fuzz::safetensors_input},
      {"checkpoint", fuzz::checkpoint_input},
      {"cifar10", fuzz::cifar10_input},
      {"train_options", fuzz::train_options_input},
  };
  const std::string rng = default_generator().state();
  int replayed = 0, refused = 0;
  for (const auto& [name, entry] : targets) {
    for (const char* kind : {"corpus", "regressions"}) {
      const fs::path dir = root / kind / name;
      if (!fs::is_directory(dir)) continue;
      for (const auto& file : fs::directory_iterator(dir)) {
        INFO(file.path().string());
        const std::string bytes = read_file(file.path());
        try {
          entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        } catch (const Error&) {
          ++refused;
        } catch (const UsageError&) {
          ++refused;
        }
        ++replayed;
      }
    }
  }
  fs::remove_all(fuzz::scratch_root() / ("minidl_fuzz_" + std::to_string(::getpid())));
  default_generator().set_state(rng);
  INFO(replayed << " inputs replayed, " << refused << " refused");
  CHECK(replayed >= 15);
  CHECK(refused >= 1);
}
