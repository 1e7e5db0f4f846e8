#include "minidl/io/checkpoint.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "minidl/core/autograd.h"
#include "minidl/core/error.h"
#include "minidl/core/float_text.h"
#include "minidl/io/safetensors.h"

namespace minidl {

namespace {

constexpr const char* kLoad = "load_checkpoint";

// Metadata the checkpoint itself writes; a caller's `extra` key must not collide with them.
bool reserved_key(const std::string& key) {
  for (const char* prefix : {"rng.", "optimizer.", "scheduler.", "run."}) {
    if (key.rfind(prefix, 0) == 0) return true;
  }
  return key == "epoch";
}

// A whole number >= minimum written as plain decimal digits: no sign, space or anything after.
bool parse_count(const std::string& text, int64_t minimum, int64_t& value) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value >= minimum;
}

// An accuracy: a finite number in [0, 1], the whole string.
// The metadata keys that hold an accuracy in [0, 1], checked on save and on load.
constexpr const char* kAccuracyKeys[] = {"best_val_acc", "best_test_acc"};

bool parse_accuracy(const std::string& text, double& value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value) && value >= 0.0 && value <= 1.0;
}

class Metadata {
 public:
  explicit Metadata(const SafetensorsReader& file) : file_(file) {}

  const std::string* find(const std::string& key) const {
    const auto found = file_.metadata().find(key);
    return found == file_.metadata().end() ? nullptr : &found->second;
  }
  const std::string& require(const std::string& key) const {
    const std::string* value = find(key);
    MINIDL_CHECK(value, kLoad, file_.path(), " has no metadata '", key,
                 "' (not a minidl training checkpoint?)");
    return *value;
  }
  // A whole number >= minimum; `fallback` when absent and not required.
  int64_t count(const std::string& key, int64_t minimum, bool required,
                int64_t fallback = 0) const {
    const std::string* text = required ? &require(key) : find(key);
    if (!text) return fallback;
    int64_t value = 0;
    MINIDL_CHECK(parse_count(*text, minimum, value), kLoad, file_.path(), ": metadata '", key,
                 "' = '", *text, "' is not a whole number >= ", minimum,
                 " (a damaged or edited checkpoint?)");
    return value;
  }

 private:
  const SafetensorsReader& file_;
};

// Throws a SettingMismatch: the message from `parts`, the setting and its two values as fields.
template <typename... Parts>
[[noreturn]] void fail_setting(const std::string& setting, const std::string& saved,
                               const std::string& now, const char* op, const Parts&... parts) {
  throw SettingMismatch(detail::message(op, parts...), setting, saved, now);
}

// This run's optimizer and scheduler settings under their metadata keys, in the order they
// are compared ("optimizer.type" first).
std::vector<std::pair<std::string, std::string>> settings_metadata(const Optimizer* optimizer,
                                                                   const LRScheduler* scheduler) {
  std::vector<std::pair<std::string, std::string>> out;
  if (optimizer) {
    for (const auto& [name, value] : optimizer->settings())
      out.emplace_back("optimizer." + name, value);
    out.emplace_back("optimizer.groups", std::to_string(optimizer->groups().size()));
    for (size_t g = 0; g < optimizer->groups().size(); ++g) {
      out.emplace_back("optimizer.group" + std::to_string(g) + ".weight_decay",
                       float_text(*optimizer->groups()[g].weight_decay));
    }
    if (scheduler) {
      for (size_t g = 0; g < optimizer->groups().size(); ++g) {
        out.emplace_back("scheduler.base_lr" + std::to_string(g),
                         float_text(scheduler->base_lr(g)));
      }
    }
  }
  return out;
}

// A checkpoint that records its optimizer's settings must have been saved with this run's.
// (A checkpoint from before settings were recorded is compared by its tensors alone.)
void check_settings(const SafetensorsReader& file, const Optimizer* optimizer,
                    const LRScheduler* scheduler) {
  const Metadata metadata(file);
  if (!optimizer || !metadata.find("optimizer.type")) return;
  for (const auto& [key, now] : settings_metadata(optimizer, scheduler)) {
    const std::string* saved = metadata.find(key);
    if (!saved && key.rfind("scheduler.", 0) == 0) continue;  // saved without a scheduler
    const std::string setting = key.substr(key.find('.') + 1);
    if (key == "optimizer.type") {
      if (*saved != now) {
        fail_setting(setting, *saved, now, kLoad, file.path(), " was saved by the ", *saved,
                     " optimizer (metadata 'optimizer.type') but this run uses ", now,
                     ": resume with the optimizer the checkpoint was saved with, or start a "
                     "new run");
      }
      continue;
    }
    MINIDL_CHECK(saved, kLoad, file.path(), " has no metadata '", key, "' although it records its ",
                 "optimizer's settings (a damaged or edited checkpoint?)");
    if (*saved != now) {
      fail_setting(setting, *saved, now, kLoad, file.path(),
                   " was saved with the optimizer setting ", setting, " = ", *saved, " (metadata '",
                   key, "') but this run has ", setting, " = ", now,
                   ": resume with the settings the checkpoint was saved with (", setting, " = ",
                   *saved, "), or start a new run");
    }
  }
}

bool is_momentum_buffer(const std::string& name) {
  return name.size() >= 16 && name.compare(name.size() - 16, 16, ".momentum_buffer") == 0;
}

// The optimizer state tensors a run's settings imply, for a missing or unexpected one.
std::string optimizer_state_hint(const std::string& name) {
  if (is_momentum_buffer(name)) {
    return " (SGD keeps a momentum_buffer only with momentum > 0: the optimizer setting "
           "momentum differs from the checkpoint's)";
  }
  return " (the optimizer or its settings differ from the checkpoint's: resume with the "
         "optimizer it was saved with)";
}

// Refuses optimizer state tensor `name` that is missing (`present` false) from the checkpoint
// or that this run's optimizer does not keep. A momentum buffer is the momentum setting, from
// a checkpoint that does not record its settings: a SettingMismatch whose saved value is "".
[[noreturn]] void fail_optimizer_state(const std::string& path, const std::string& name,
                                       bool present, const Optimizer& optimizer) {
  const std::string message =
      present
          ? detail::message(kLoad, path, " has optimizer state '", name,
                            "' that this run's optimizer does not keep", optimizer_state_hint(name))
          : detail::message(kLoad, path, " has no tensor named '", name,
                            "', state this run's optimizer keeps", optimizer_state_hint(name));
  if (!is_momentum_buffer(name)) throw Error(message);
  std::string momentum;
  for (const auto& [setting, value] : optimizer.settings()) {
    if (setting == "momentum") momentum = value;
  }
  throw SettingMismatch(message, "momentum", "", momentum);
}

}  // namespace

NamedTensors model_tensors(const Module& model) {
  NamedTensors tensors = model.named_parameters();
  for (auto& named : model.named_buffers()) tensors.push_back(std::move(named));
  return tensors;
}

void save_checkpoint(const std::string& path, const NamedTensors& model, const Optimizer* optimizer,
                     const LRScheduler* scheduler, const CheckpointState& state) {
  const char* op = "save_checkpoint";
  MINIDL_CHECK(state.epoch >= 0, op, path, ": epoch ", state.epoch, " is negative");
  MINIDL_CHECK(state.run.batch_size >= 0 && state.run.steps_per_epoch >= 0 && state.run.epochs >= 0,
               op, path, ": run settings must not be negative (batch_size ", state.run.batch_size,
               ", steps_per_epoch ", state.run.steps_per_epoch, ", epochs ", state.run.epochs, ")");
  for (const auto& [key, value] : state.extra) {
    MINIDL_CHECK(
        !reserved_key(key), op, path, ": the caller's metadata key '", key,
        "' is one the checkpoint itself writes (epoch, rng.*, optimizer.*, scheduler.*, run.*)");
  }
  for (const char* key : kAccuracyKeys) {
    const auto best = state.extra.find(key);
    double accuracy = 0.0;
    MINIDL_CHECK(best == state.extra.end() || parse_accuracy(best->second, accuracy), op, path,
                 ": ", key, " = '", best->second,
                 "' is not an accuracy between 0 and 1; not saved");
  }

  NamedTensors tensors;
  for (const auto& [name, t] : model) tensors.emplace_back("model." + name, t);
  std::map<std::string, std::string> metadata = state.extra;
  metadata["epoch"] = std::to_string(state.epoch);
  metadata["rng.default"] = (state.generator ? *state.generator : default_generator()).state();
  if (optimizer) {
    for (const auto& [name, t] : optimizer->state()) tensors.emplace_back("optimizer." + name, t);
    metadata["optimizer.steps"] = std::to_string(optimizer->steps_taken());
  }
  if (scheduler) metadata["scheduler.steps"] = std::to_string(scheduler->steps_taken());
  for (const auto& [key, value] : settings_metadata(optimizer, scheduler)) metadata[key] = value;
  if (state.run.batch_size > 0) metadata["run.batch_size"] = std::to_string(state.run.batch_size);
  if (state.run.steps_per_epoch > 0)
    metadata["run.steps_per_epoch"] = std::to_string(state.run.steps_per_epoch);
  if (state.run.epochs > 0) metadata["run.epochs"] = std::to_string(state.run.epochs);
  save_safetensors(path, tensors, metadata);
}

void check_run_settings(const std::string& path, const RunSettings& saved, const RunSettings& now) {
  const char* op = "resume";
  auto differ = [](int64_t a, int64_t b) { return a > 0 && b > 0 && a != b; };
  if (differ(saved.batch_size, now.batch_size)) {
    fail_setting("batch_size", std::to_string(saved.batch_size), std::to_string(now.batch_size), op,
                 path, " was saved by a run with batch_size = ", saved.batch_size,
                 " (metadata 'run.batch_size') but this run has batch_size = ", now.batch_size,
                 ": the learning-rate schedule counts optimizer steps, so another batch size ",
                 "would shift it; resume with batch_size = ", saved.batch_size,
                 ", or start a new run");
  }
  if (differ(saved.steps_per_epoch, now.steps_per_epoch)) {
    fail_setting("steps_per_epoch", std::to_string(saved.steps_per_epoch),
                 std::to_string(now.steps_per_epoch), op, path, " was saved by a run of ",
                 saved.steps_per_epoch,
                 " steps per epoch (metadata 'run.steps_per_epoch') but this run has ",
                 now.steps_per_epoch, " (batch_size = ", now.batch_size,
                 " over another number of training images): the learning-rate schedule counts "
                 "optimizer steps, so it would shift; resume with the same training images and "
                 "batch size, or start a new run");
  }
  if (differ(saved.epochs, now.epochs)) {
    fail_setting("epochs", std::to_string(saved.epochs), std::to_string(now.epochs), op, path,
                 " belongs to a run of ", saved.epochs, " epochs (metadata 'run.epochs') but ",
                 "this run has epochs = ", now.epochs, ": the learning-rate schedule spans all ",
                 "the epochs, so another number of epochs changes the rate of every remaining ",
                 "step; resume with epochs = ", saved.epochs, ", or start a new run of ",
                 now.epochs, " epochs");
  }
}

CheckpointState load_checkpoint(const std::string& path, const NamedTensors& model,
                                Optimizer* optimizer, LRScheduler* scheduler,
                                const RunSettings* expected) {
  const SafetensorsReader file(path);  // the header, checked against the file's size
  const Metadata metadata(file);

  // 1. Metadata, strictly.
  CheckpointState state;
  state.epoch = metadata.count("epoch", 0, true);
  Generator generator;
  const std::string& rng = metadata.require("rng.default");
  try {
    generator.set_state(rng);
  } catch (const Error& e) {
    detail::fail(kLoad, path, ": metadata 'rng.default' is not a saved generator state (", e.what(),
                 "): a damaged or edited checkpoint?");
  }
  const int64_t optimizer_steps = optimizer ? metadata.count("optimizer.steps", 0, true) : 0;
  const int64_t scheduler_steps = scheduler ? metadata.count("scheduler.steps", 0, true) : 0;
  state.run.batch_size = metadata.count("run.batch_size", 1, false);
  state.run.steps_per_epoch = metadata.count("run.steps_per_epoch", 1, false);
  state.run.epochs = metadata.count("run.epochs", 1, false);
  for (const char* key : kAccuracyKeys) {
    if (const std::string* best = metadata.find(key)) {
      double accuracy = 0.0;
      MINIDL_CHECK(parse_accuracy(*best, accuracy), kLoad, path, ": metadata '", key, "' = '",
                   *best, "' is not an accuracy between 0 and 1 (a damaged or edited checkpoint?)");
    }
  }
  for (const auto& [key, value] : file.metadata()) {
    if (!reserved_key(key)) state.extra[key] = value;
  }
  if (expected) check_run_settings(path, state.run, *expected);

  // 2. The optimizer's settings, before its tensors: a different momentum is named as such.
  check_settings(file, optimizer, scheduler);

  // 3. Tensors: exactly the ones this run uses, each of the right shape.
  std::vector<std::pair<const TensorEntry*, Tensor>> copies;  // (source, destination)
  std::map<std::string, bool> wanted;
  auto expect = [&](const std::string& name, const Tensor& destination) {
    const TensorEntry* source = file.find(name);
    if (!source && optimizer && name.rfind("optimizer.", 0) == 0)
      fail_optimizer_state(path, name, false, *optimizer);
    MINIDL_CHECK(source, kLoad, path, " has no tensor named '", name,
                 "' (a checkpoint of a different configuration?)");
    MINIDL_CHECK(source->shape == destination.shape(), kLoad, path, ": '", name, "' has shape ",
                 shape_str(source->shape), " but this run expects ", destination.shape_str(),
                 " (a checkpoint of a different configuration?)");
    copies.emplace_back(source, destination);
    wanted[name] = true;
  };
  for (const auto& [name, t] : model) expect("model." + name, t);
  if (optimizer) {
    for (const auto& [name, t] : optimizer->state()) expect("optimizer." + name, t);
  }
  for (const TensorEntry& e : file.entries()) {
    if (wanted.count(e.name)) continue;
    if (e.name.rfind("optimizer.", 0) == 0) {
      if (!optimizer) continue;  // a weights-only load
      fail_optimizer_state(path, e.name, true, *optimizer);
    }
    MINIDL_CHECK(e.name.rfind("model.", 0) != 0, kLoad, path, " has tensor '", e.name,
                 "' that this model does not have (a checkpoint of a different configuration?)");
    detail::fail(kLoad, path, " has tensor '", e.name, "', which is not part of a minidl ",
                 "checkpoint (names start with 'model.' or 'optimizer.')");
  }

  // 4. Every value finite, read in pieces (nothing is allocated for the file).
  for (const auto& [source, destination] : copies) {
    float value = 0.f;
    const int64_t at = file.first_non_finite(*source, &value);
    MINIDL_CHECK(at < 0, kLoad, path, ": tensor '", source->name, "' of shape ",
                 shape_str(source->shape), " holds ", value, " at element ", at,
                 ": saved from a diverged run, or damaged; nothing was loaded (resume from the "
                 "folder's other checkpoint)");
  }

  // 5. Copy, one tensor at a time: memory for the model and one tensor.
  NoGradGuard no_grad;
  for (auto& [source, destination] : copies) {
    const Tensor values = file.read(*source);
    const float* v = values.data();
    for (int64_t i = 0; i < values.numel(); ++i) {  // the file changed since step 4?
      MINIDL_CHECK(std::isfinite(v[i]), kLoad, path, ": tensor '", source->name, "' holds ", v[i],
                   " at element ", i, " (the file changed while it was being loaded)");
    }
    destination.copy_(values);
  }
  if (optimizer) optimizer->set_steps_taken(optimizer_steps);
  if (scheduler) scheduler->set_steps_taken(scheduler_steps);
  state.generator = generator;
  return state;
}

}  // namespace minidl
