// Training checkpoints: everything needed to continue a run exactly where it stopped, in one
// safetensors file (readable by PyTorch's safetensors.torch.load_file):
//   tensors   "model.<parameter or buffer name>"   weights and BatchNorm statistics
//             "optimizer.<group>.<index>.<kind>"   momentum buffers, Adam moments
//   metadata  "epoch", "optimizer.steps", "scheduler.steps", "rng.default" (the default
//             generator), plus whatever the caller adds (e.g. "best_test_acc")
// Saving is atomic (see save_safetensors). Loading first checks that every tensor the model
// and the optimizer expect is present with the right shape (naming the first that is not) and
// that the metadata is there, and only then copies, so a bad file changes nothing.
#pragma once

#include <map>
#include <string>

#include "layers/module.h"
#include "optim/optimizer.h"
#include "optim/scheduler.h"

namespace minidl {

struct CheckpointState {
  int64_t epoch = 0;                          // epochs completed
  std::map<std::string, std::string> extra;  // caller's own metadata
};

// optimizer and scheduler may be null (e.g. a weights-only export).
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const LRScheduler* scheduler, const CheckpointState& state);

// Loads into existing objects (built with the same configuration) and restores the default
// generator. Tensors are copied into the model's own, on whatever device the model is.
CheckpointState load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer,
                                LRScheduler* scheduler);

}  // namespace minidl
