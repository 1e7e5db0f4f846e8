// Training checkpoints: everything needed to continue a run exactly where it stopped, in one
// safetensors file (readable by PyTorch's safetensors.torch.load_file):
//   tensors   "model.<parameter or buffer name>"   weights and BatchNorm statistics
//             "optimizer.<group>.<index>.<kind>"   momentum buffers, Adam moments
//   metadata  "epoch"                  epochs completed (a whole number >= 0)
//             "rng.default"            the default generator's state (or
//                                      CheckpointState::generator's)
//             "optimizer.steps"        with an optimizer: its step count
//             "optimizer.type", "optimizer.<setting>"   its settings (Optimizer::settings(),
//                                      e.g. optimizer.momentum), "optimizer.groups" and
//                                      "optimizer.group<g>.weight_decay"
//             "scheduler.steps"        with a scheduler: its step count, and
//                                      "scheduler.base_lr<g>" each group's base learning rate
//             "run.batch_size", "run.steps_per_epoch", "run.epochs"   the run's shape
//                                      (RunSettings), when the caller gives them
//             "best_val_acc"           when the caller gives it: an accuracy in [0, 1]
//             ("best_test_acc", written by older versions, is checked the same way)
//             anything else            the caller's own (CheckpointState::extra)
//
// Saving is atomic and refuses anything non-finite (a tensor, best_val_acc).
// Loading is strict and changes nothing until everything is checked: the file's structure
// (SafetensorsReader), every metadata value (whole numbers >= 0, a valid generator state, an
// accuracy in [0, 1]), the optimizer's settings against the checkpoint's (a different
// momentum, Nesterov, learning rate, weight decay or optimizer type is refused by name), every
// tensor the model and the optimizer expect present with the right shape, no tensor the run
// would not use, and every value finite. Then the tensors are read and copied one at a time,
// so loading needs memory for the model and one tensor, not for the file.
// Every problem is a minidl::Error naming the file and the key, tensor or setting; a resume
// with another setting is a SettingMismatch (below), which says which one in fields too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/error.h"
#include "minidl/core/random.h"
#include "minidl/core/tensor.h"
#include "minidl/layers/module.h"
#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"

namespace minidl {

// The shape of a training run that a resume must keep: the learning-rate schedule is counted
// in optimizer steps over all the epochs, so a resume with another batch size, training-set
// size or number of epochs would silently move it. 0 means "not recorded" (not saved, not
// compared).
struct RunSettings {
  int64_t batch_size = 0;       // images per optimizer step
  int64_t steps_per_epoch = 0;  // optimizer steps per epoch (training images over batch_size)
  int64_t epochs = 0;           // epochs the run plans, the schedule's length
};

// A resume refused because it would change a setting the checkpoint records. what() says it
// all in the library's terms; the fields say it to a program, which can then name its own
// option for the setting (train_cifar10: examples/flag_hints.h).
//   setting  an optimizer setting, as its metadata key after "optimizer." or "scheduler."
//            ("type", "momentum", "nesterov", "group0.weight_decay", "base_lr0", ...), or a
//            RunSettings field ("batch_size", "steps_per_epoch", "epochs")
//   saved    the checkpoint's value as its metadata has it ("" when it records none)
//   now      this run's value
class SettingMismatch : public Error {
 public:
  SettingMismatch(const std::string& message, std::string setting, std::string saved,
                  std::string now)
      : Error(message),
        setting_(std::move(setting)),
        saved_(std::move(saved)),
        now_(std::move(now)) {}
  const std::string& setting() const { return setting_; }
  const std::string& saved() const { return saved_; }
  const std::string& now() const { return now_; }

 private:
  std::string setting_, saved_, now_;
};

struct CheckpointState {
  int64_t epoch = 0;                           // epochs completed
  std::map<std::string, std::string> extra{};  // caller's own metadata (e.g. "best_val_acc")
  RunSettings run{};                           // the run's shape, when the caller records it
  // The random generator of the run. Saving records this one when set, default_generator()
  // otherwise (what training draws from). Loading fills it in with the saved one and leaves
  // the process's generators alone, so loading weights never changes what a program draws
  // next; a resume that continues bit for bit restores it: default_generator() =
  // *state.generator.
  std::optional<Generator> generator{};
};

// A model as a checkpoint sees it: its tensors by name, saved as "model.<name>". Any list
// works (a model written with ops alone has no Module); for a Module, model_tensors() below.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A Module's parameters, then its buffers (BatchNorm's running statistics), by their dotted
// names: what a checkpoint of the module holds.
NamedTensors model_tensors(const Module& model);

// optimizer and scheduler may be null (e.g. a weights-only export). Refuses a negative epoch or
// run setting, a best_val_acc or best_test_acc that is not an accuracy in [0, 1], an `extra` key
// that the checkpoint itself uses (epoch, rng.*, optimizer.*, scheduler.*, run.*), and non-finite
// tensors.
void save_checkpoint(const std::string& path, const NamedTensors& model, const Optimizer* optimizer,
                     const LRScheduler* scheduler, const CheckpointState& state);

// Loads into existing tensors (of a model built with the same configuration), and returns the
// saved generator in CheckpointState::generator without restoring it. Values are copied into
// the model's own tensors, on whatever device they are. With `expected`, the run's shape is checked
// too (check_run_settings) before anything changes. Optimizer state in the file is ignored when
// `optimizer` is null.
CheckpointState load_checkpoint(const std::string& path, const NamedTensors& model,
                                Optimizer* optimizer, LRScheduler* scheduler,
                                const RunSettings* expected = nullptr);

// The same for a Module, through model_tensors(model).
inline void save_checkpoint(const std::string& path, const Module& model,
                            const Optimizer* optimizer, const LRScheduler* scheduler,
                            const CheckpointState& state) {
  save_checkpoint(path, model_tensors(model), optimizer, scheduler, state);
}
inline CheckpointState load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer,
                                       LRScheduler* scheduler,
                                       const RunSettings* expected = nullptr) {
  return load_checkpoint(path, model_tensors(model), optimizer, scheduler, expected);
}

// Refuses a resume whose batch size, steps per epoch or epochs differ from those `saved` in
// the checkpoint at `path` (each compared only when both are recorded): a SettingMismatch
// naming the RunSettings field and both values.
void check_run_settings(const std::string& path, const RunSettings& saved, const RunSettings& now);

}  // namespace minidl
