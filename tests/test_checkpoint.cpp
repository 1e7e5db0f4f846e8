// Checkpoints: the safetensors round trip, clear errors on corrupt or mismatched files, atomic
// writes, and the property that matters: resuming from a checkpoint continues the run exactly.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "minidl/core/minidl.h"
#include "minidl/io/checkpoint.h"
#include "minidl/io/safetensors.h"
#include "minidl/layers/layers.h"
#include "minidl/models/resnet.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {
fs::path temp_path(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("minidl_checkpoint_tests_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string with_header(const std::string& json, const std::string& data = "") {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((uint64_t(json.size()) >> (8 * i)) & 0xff);
  return bytes + json + data;
}
}  // namespace

TEST_CASE("safetensors round trip keeps names, shapes, values and metadata", "[cpu][checkpoint]") {
  Generator gen(1);
  const Tensor a = Tensor::normal({2, 3, 4}, 0.f, 1.f, gen), b = Tensor::scalar(7.f);
  const fs::path path = temp_path("roundtrip.safetensors");
  save_safetensors(path.string(), {{"layer.weight", a}, {"count", b}},
                   {{"epoch", "3"}, {"note", "a \"quoted\" value"}});
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));  // the temporary was renamed away
  const TensorFile file = load_safetensors(path.string());
  REQUIRE(file.tensors.size() == 2);
  CHECK(file.tensors[0].first == "layer.weight");
  CHECK(file.get("layer.weight").shape() == a.shape());
  CHECK(file.get("layer.weight").to_vector() == a.to_vector());
  CHECK(file.get("count").shape() == Shape{});
  CHECK(file.get("count").item() == 7.f);
  CHECK(file.metadata.at("note") == "a \"quoted\" value");
  REQUIRE_THROWS_WITH(file.get("missing"), Catch::Contains("no tensor named 'missing'"));
}

TEST_CASE("corrupt safetensors files give errors naming the file and the problem",
          "[cpu][checkpoint]") {
  const fs::path path = temp_path("corrupt.safetensors");
  write_bytes(path, "abc");
  REQUIRE_THROWS_WITH(load_safetensors(path.string()), Catch::Contains("too short"));
  write_bytes(path, with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}")
                        .substr(0, 30));
  REQUIRE_THROWS_WITH(load_safetensors(path.string()),
                      Catch::Contains(path.string()) && Catch::Contains("exceeds the file size"));
  write_bytes(path, with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                                "1234"));
  REQUIRE_THROWS_WITH(load_safetensors(path.string()), Catch::Contains("outside the 4 data bytes"));
  write_bytes(path, with_header("{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                                "1234"));
  REQUIRE_THROWS_WITH(load_safetensors(path.string()), Catch::Contains("only F32"));
  write_bytes(path, with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                                "12345678"));
  REQUIRE_THROWS_WITH(load_safetensors(path.string()),
                      Catch::Contains("needs 12 bytes but spans 8"));
  write_bytes(path, with_header("{\"x\": [1, 2}"));
  REQUIRE_THROWS_WITH(load_safetensors(path.string()), Catch::Contains("malformed header"));
  REQUIRE_THROWS_WITH(load_safetensors(temp_path("absent.safetensors").string()),
                      Catch::Contains("cannot open"));
}

TEST_CASE("a checkpoint of another configuration is refused by tensor name and shape",
          "[cpu][checkpoint]") {
  Linear small(4, 2), other(5, 2);
  const fs::path path = temp_path("mismatch.safetensors");
  save_checkpoint(path.string(), small, nullptr, nullptr, CheckpointState{});
  REQUIRE_THROWS_WITH(
      load_checkpoint(path.string(), other, nullptr, nullptr),
      Catch::Contains("'model.weight' has shape [2, 4] but this run expects [2, 5]"));
  Sequential wrapped;  // same layer, other names: "0.weight"
  wrapped.add(std::make_shared<Linear>(4, 2));
  REQUIRE_THROWS_WITH(load_checkpoint(path.string(), wrapped, nullptr, nullptr),
                      Catch::Contains("no tensor named 'model.0.weight'"));
}

TEST_CASE("a checkpoint saves and loads named tensors without a Module", "[cpu][checkpoint]") {
  Generator gen(3);
  const Tensor w = Tensor::normal({3, 2}, 0.f, 1.f, gen), b = Tensor::normal({3}, 0.f, 1.f, gen);
  const fs::path path = temp_path("named.safetensors");
  save_checkpoint(path.string(), {{"fc.weight", w}, {"fc.bias", b}}, nullptr, nullptr,
                  CheckpointState{2, {}, {}});
  const Tensor w2 = Tensor::zeros({3, 2}), b2 = Tensor::zeros({3});
  CHECK(load_checkpoint(path.string(), {{"fc.weight", w2}, {"fc.bias", b2}}, nullptr, nullptr)
            .epoch == 2);
  CHECK(w2.to_vector() == w.to_vector());
  CHECK(b2.to_vector() == b.to_vector());
  // The same file is what a Module with those names saves: model_tensors() is the bridge.
  Linear fc(2, 3);
  REQUIRE(model_tensors(fc).size() == 2);
  CHECK(model_tensors(fc)[0].first == "weight");
  CHECK(model_tensors(fc)[1].first == "bias");
}

TEST_CASE("a checkpoint records the run's generator, and loading returns it without using it",
          "[cpu][checkpoint]") {
  const Tensor w = Tensor::ones({2});
  const fs::path path = temp_path("generator.safetensors");
  Generator run_gen(77);
  run_gen.next_u64();
  CheckpointState saved{1};
  saved.generator = run_gen;  // not the default generator
  save_checkpoint(path.string(), {{"w", w}}, nullptr, nullptr, saved);
  manual_seed(5);
  const std::string default_before = default_generator().state();
  const CheckpointState loaded = load_checkpoint(path.string(), {{"w", w}}, nullptr, nullptr);
  REQUIRE(loaded.generator.has_value());
  CHECK(loaded.generator->state() == run_gen.state());
  CHECK(default_generator().state() == default_before);
  // Without one, save records the default generator.
  save_checkpoint(path.string(), {{"w", w}}, nullptr, nullptr, CheckpointState{1});
  CHECK(load_checkpoint(path.string(), {{"w", w}}, nullptr, nullptr).generator->state() ==
        default_before);
  fs::remove(path);
}

TEST_CASE("a failed save leaves the previous checkpoint intact", "[cpu][checkpoint]") {
  const fs::path dir = temp_path("readonly_target");
  fs::create_directories(dir / "last.safetensors.tmp");  // the temporary cannot be created
  Linear model(3, 1);
  write_bytes(dir / "last.safetensors", "previous");
  REQUIRE_THROWS_AS(
      save_checkpoint((dir / "last.safetensors").string(), model, nullptr, nullptr, {}), Error);
  std::ifstream in(dir / "last.safetensors");
  std::string content;
  in >> content;
  CHECK(content == "previous");
  fs::remove_all(dir);
}

TEST_CASE("resuming from a checkpoint reproduces the uninterrupted run's losses",
          "[cpu][checkpoint]") {
  // A small ResNet variant with dropout (so the generator state matters), SGD with Nesterov
  // momentum and a one-cycle schedule: k steps, save, m more; then load and run the m again.
  ResNetConfig config;
  config.widths = {8, 16};
  config.blocks = {1, 1};
  config.stem = "3x3";
  config.dropout = 0.3f;
  Generator data_gen(9);
  const Tensor images = Tensor::normal({8, 3, 16, 16}, 0.f, 1.f, data_gen);
  const std::vector<int> labels = {0, 1, 2, 3, 4, 5, 6, 7};

  auto train_steps = [&](ResNet& model, SGD& sgd, LRScheduler& scheduler, int steps) {
    std::vector<float> losses;
    for (int i = 0; i < steps; ++i) {
      const Tensor loss = ops::softmax_cross_entropy(model.forward(images), labels, 0.1f);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      scheduler.step();
      losses.push_back(loss.item());
    }
    return losses;
  };
  auto make = [&](std::unique_ptr<ResNet>& model, std::unique_ptr<SGD>& sgd,
                  std::unique_ptr<LRScheduler>& scheduler) {
    model = std::make_unique<ResNet>(config);
    sgd =
        std::make_unique<SGD>(decay_groups(model->parameters()),
                              SgdOptions(0.05f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));
    scheduler = std::make_unique<LRScheduler>(*sgd, one_cycle(12, 0.3));
  };

  manual_seed(21);
  std::unique_ptr<ResNet> model;
  std::unique_ptr<SGD> sgd;
  std::unique_ptr<LRScheduler> scheduler;
  make(model, sgd, scheduler);
  train_steps(*model, *sgd, *scheduler, 4);
  const fs::path path = temp_path("resume.safetensors");
  save_checkpoint(path.string(), *model, sgd.get(), scheduler.get(),
                  CheckpointState{4, {{"best", "0.5"}}});
  const std::vector<float> uninterrupted = train_steps(*model, *sgd, *scheduler, 5);

  manual_seed(999);  // a different seed: everything must come from the checkpoint
  std::unique_ptr<ResNet> model2;
  std::unique_ptr<SGD> sgd2;
  std::unique_ptr<LRScheduler> scheduler2;
  make(model2, sgd2, scheduler2);
  const std::string drawn_before = default_generator().state();
  const CheckpointState state =
      load_checkpoint(path.string(), *model2, sgd2.get(), scheduler2.get());
  // Loading leaves the process's generator alone; the run restores the saved one itself.
  CHECK(default_generator().state() == drawn_before);
  REQUIRE(state.generator.has_value());
  default_generator() = *state.generator;
  CHECK(state.epoch == 4);
  CHECK(state.extra.at("best") == "0.5");
  CHECK(sgd2->steps_taken() == 4);
  CHECK(scheduler2->steps_taken() == 4);
  const std::vector<float> resumed = train_steps(*model2, *sgd2, *scheduler2, 5);
  CHECK(resumed == uninterrupted);
}
