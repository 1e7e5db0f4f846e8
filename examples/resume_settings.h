// What a run's continuation depends on, recorded in every checkpoint of train_cifar10 and
// compared on --resume, so that a resume continues the run that wrote the checkpoint or is
// refused by the flag that differs. load_checkpoint already compares the optimizer's settings
// (--lr, --momentum, --weight-decay, Nesterov) and the run's shape (--batch-size, --epochs,
// steps per epoch); these are the rest: the preset, the schedule and its warmup, the seed, the
// loss's label smoothing, the augmentation, the test-time views, the data's subsets, the
// validation split and the loader. A checkpoint from an older version lacks some of them: a
// setting that had one possible value then (no validation split, the host loader) is compared
// with that value, the others are not compared.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "examples/train_options.h"
#include "minidl/data/cifar10.h"

namespace minidl {

struct RecordedSetting {
  std::string flag;    // without the dashes: "warmup" for --warmup
  std::string value;   // as the flag is written ("0.15"); "" for a flag not given
  std::string absent;  // what an older checkpoint without it had; "" = unknown, not compared
  std::string why;     // what another value would change, for the message
  std::string key() const { return flag == "preset" ? "preset" : "train." + flag; }
};

// The settings of run `o`; `resident`: whether it trains on the resident loader.
std::vector<RecordedSetting> recorded_settings(const TrainOptions& o, bool resident);

// Writes each setting into a checkpoint's metadata (its key()).
void record_settings(const std::vector<RecordedSetting>& settings,
                     std::map<std::string, std::string>& metadata);

// The checkpoint's metadata against this run's settings: throws std::runtime_error for the
// first that differs, e.g. "--warmup 0.2, but c.safetensors was trained with --warmup 0.15
// (the learning-rate schedule): resume with --warmup 0.15".
void check_recorded_settings(const std::string& checkpoint,
                             const std::map<std::string, std::string>& metadata,
                             const std::vector<RecordedSetting>& settings);

// A fingerprint of the images a run trains, validates and tests on: the sizes and a hash of
// the labels and of the first and last images of each set. Recorded as "train.data"; a resume
// whose data differs is refused, naming --data, --limit-train and --limit-test.
std::string data_fingerprint(const Cifar10& train, const Cifar10& validation, const Cifar10& test);
void check_data_fingerprint(const std::string& checkpoint,
                            const std::map<std::string, std::string>& metadata,
                            const std::string& now);

// The checkpoint's counters against each other: its epoch within the run's epochs, and the
// optimizer's and the schedule's steps equal to epoch x steps per epoch (train_cifar10 steps
// both once per batch). Throws std::runtime_error naming the counter that is off.
void check_counters(const std::string& checkpoint, int64_t epoch, int64_t run_epochs,
                    int64_t steps_per_epoch, int64_t optimizer_steps, int64_t scheduler_steps);

}  // namespace minidl
