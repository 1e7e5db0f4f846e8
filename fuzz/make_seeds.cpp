// Writes the seed corpus of every fuzz target into <dir>/<target>/ (fuzz/corpus/ holds the
// output, committed): valid inputs and near misses, each a few kilobytes at most.
#include <cstring>
#include <fstream>
#include <iostream>

#include "fuzz/fuzz_entries.h"

namespace fs = std::filesystem;
using namespace minidl;

namespace {
void put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}
std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
std::string with_header(const std::string& json, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((uint64_t(json.size()) >> (8 * i)) & 0xff);
  return bytes + json + data;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <corpus dir>\n";
    return 2;
  }
  const fs::path out = argv[1];
  // checkpoint: a valid one of the fuzzers' TinyRun, and one without optimizer state
  const fs::path checkpoint = out / "checkpoint" / "valid.safetensors";
  fs::create_directories(checkpoint.parent_path());
  fuzz::write_checkpoint_seed(checkpoint.string());
  {
    fuzz::TinyModel model;
    save_checkpoint((out / "checkpoint" / "weights_only.safetensors").string(), model, nullptr,
                    nullptr, CheckpointState{1, {}, {}});
  }
  // safetensors: small files of each shape the format allows
  const fs::path st = out / "safetensors";
  put(st, "empty_header", with_header("{}", ""));
  put(st, "metadata_only", with_header("{\"__metadata__\":{\"a\":\"b\\u0001\\\"\"}}", ""));
  put(st, "two_tensors",
      with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]},"
                  "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,12]}}",
                  std::string(12, '\0')));
  put(st, "scalar",
      with_header("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}  ",
                  std::string("\x00\x00\xc0\x7f", 4)));
  put(st, "tiny_checkpoint", read(out / "checkpoint" / "weights_only.safetensors"));
  // cifar10: a complete 2-record file, one record, a bad label
  std::string record(Cifar10::kRecordBytes, '\x10');
  record[0] = 3;
  put(out / "cifar10", "two_records", record + record);
  put(out / "cifar10", "one_record", record);
  std::string bad = record;
  bad[0] = 12;
  put(out / "cifar10", "bad_label", record + bad);
  // train_options: arguments separated by NUL bytes
  const fs::path options = out / "train_options";
  auto args = [](std::initializer_list<std::string> list) {
    std::string s;
    for (const std::string& a : list) s += a + std::string(1, '\0');
    return s;
  };
  put(options, "defaults", "");
  put(options, "typical",
      args({"--epochs", "5", "--limit-train", "10000", "--batch-size", "256", "--lr", "0.2",
            "--schedule", "cosine", "--device", "cpu"}));
  put(options, "resume",
      args({"--resume", "runs/x/last.safetensors", "--out", "runs/x", "--seed", "7"}));
  put(options, "numbers",
      args({"--momentum", "0.8", "--no-nesterov", "--weight-decay", "1e-4", "--warmup", "0.2",
            "--label-smoothing", "0", "--cutout", "0", "--dropout", "0.1", "--limit-test", "500",
            "--profile", "3"}));
  put(options, "bad", args({"--epochs", "-1", "--batch-size", "1", "--overwrite", "--help"}));
  std::cout << "seeds written to " << out << "\n";
  return 0;
}
