#include "examples/resume_settings.h"

#include <cstdio>
#include <stdexcept>

#include "minidl/core/float_text.h"

namespace minidl {

namespace {

// FNV-1a, 64 bits: enough to tell two datasets apart, not a cryptographic check.
uint64_t fnv1a(uint64_t hash, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ULL;
  return hash;
}

uint64_t hash_set(uint64_t hash, const Cifar10& set) {
  const int64_t n = set.size();
  hash = fnv1a(hash, &n, sizeof n);
  if (n == 0) return hash;
  hash = fnv1a(hash, set.labels.data(), set.labels.size() * sizeof(int));
  hash = fnv1a(hash, set.image(0), Cifar10::kImageBytes);
  return fnv1a(hash, set.image(n - 1), Cifar10::kImageBytes);
}

}  // namespace

std::vector<RecordedSetting> recorded_settings(const TrainOptions& o, bool resident) {
  const auto limit = [](int64_t value) { return value > 0 ? std::to_string(value) : ""; };
  return {
      {"preset", o.preset, "resnet", "another model and recipe"},
      {"schedule", o.schedule, "", "the learning-rate schedule"},
      {"warmup", float_text(o.warmup_fraction), "", "the learning-rate schedule"},
      {"seed", std::to_string(o.seed), "", "the order and augmentation of every later epoch"},
      {"label-smoothing", float_text(o.label_smoothing), "", "the loss"},
      {"cutout", std::to_string(o.cutout), "", "the augmentation"},
      {"translate", std::to_string(o.translate), "", "the augmentation"},
      {"dropout", float_text(o.dropout), "", "the model"},
      {"tta", std::to_string(o.tta), "", "the final evaluation"},
      {"limit-train", limit(o.limit_train), "", "the training images"},
      {"limit-test", limit(o.limit_test), "", "the test images"},
      {"validation", std::to_string(o.validation), "0", "other images held out"},
      {"loader", resident ? "resident" : "host", "host", "other random shifts and flips"},
  };
}

void record_settings(const std::vector<RecordedSetting>& settings,
                     std::map<std::string, std::string>& metadata) {
  for (const RecordedSetting& s : settings) metadata[s.key()] = s.value;
}

void check_recorded_settings(const std::string& checkpoint,
                             const std::map<std::string, std::string>& metadata,
                             const std::vector<RecordedSetting>& settings) {
  for (const RecordedSetting& s : settings) {
    auto saved = metadata.find(s.key());
    // The first version with a validation split wrote it as "validation".
    if (saved == metadata.end() && s.flag == "validation") saved = metadata.find("validation");
    if (saved == metadata.end() && s.absent.empty()) continue;  // an older checkpoint: unknown
    const std::string& was = saved == metadata.end() ? s.absent : saved->second;
    if (was == s.value) continue;
    const std::string then = was.empty() ? "without --" + s.flag : "with --" + s.flag + " " + was;
    const std::string now = s.value.empty() ? "no --" + s.flag : "--" + s.flag + " " + s.value;
    throw std::runtime_error(now + ", but " + checkpoint + " was trained " + then + " (" + s.why +
                             "): resume " + then);
  }
}

std::string data_fingerprint(const Cifar10& train, const Cifar10& validation, const Cifar10& test) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a's offset basis
  for (const Cifar10* set : {&train, &validation, &test}) hash = hash_set(hash, *set);
  char text[160];  // room for four 20-digit numbers and the words
  std::snprintf(text, sizeof text, "train %lld validation %lld test %lld hash %016llx",
                (long long)train.size(), (long long)validation.size(), (long long)test.size(),
                (unsigned long long)hash);
  return text;
}

void check_data_fingerprint(const std::string& checkpoint,
                            const std::map<std::string, std::string>& metadata,
                            const std::string& now) {
  const auto saved = metadata.find("train.data");
  if (saved == metadata.end() || saved->second == now) return;
  throw std::runtime_error("the data differs from the run that wrote " + checkpoint +
                           " (then: " + saved->second + "; now: " + now +
                           "): resume with that run's --data, --limit-train and --limit-test");
}

void check_counters(const std::string& checkpoint, int64_t epoch, int64_t run_epochs,
                    int64_t steps_per_epoch, int64_t optimizer_steps, int64_t scheduler_steps) {
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error("checkpoint " + checkpoint + ": its counters disagree: " + what +
                             " (was the file edited?); nothing was changed");
  };
  if (run_epochs > 0 && epoch > run_epochs) {
    fail("'epoch' = " + std::to_string(epoch) + " is beyond the run's " +
         std::to_string(run_epochs) + " epochs ('run.epochs')");
  }
  if (steps_per_epoch <= 0) return;  // an older checkpoint: no run shape to compare with
  const int64_t steps = epoch * steps_per_epoch;
  const std::string expected =
      std::to_string(epoch) + " epochs of " + std::to_string(steps_per_epoch) +
      " steps ('run.steps_per_epoch') are " + std::to_string(steps) + " steps";
  if (scheduler_steps != steps) {
    fail(expected + ", but 'scheduler.steps' = " + std::to_string(scheduler_steps));
  }
  if (optimizer_steps != steps) {
    fail(expected + ", but 'optimizer.steps' = " + std::to_string(optimizer_steps));
  }
}

}  // namespace minidl
