#include "optim/checkpoint.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace minidl {

namespace {
const char* const kMetaKeys[] = {"epoch", "optimizer.steps", "scheduler.steps", "rng.default"};

// The file's tensor for `name`, checked against the shape of its destination.
const Tensor& matching(const TensorFile& file, const std::string& name, const Tensor& destination) {
  const Tensor& source = file.get(name);
  MINIDL_CHECK(source.shape() == destination.shape(), "load_checkpoint", file.path, ": '", name,
               "' has shape ", source.shape_str(), " but this run expects ",
               destination.shape_str(), " (a checkpoint of a different configuration?)");
  return source;
}

int64_t metadata_int(const TensorFile& file, const std::string& key) {
  const auto found = file.metadata.find(key);
  MINIDL_CHECK(found != file.metadata.end(), "load_checkpoint", file.path,
               " has no metadata '", key, "' (not a minidl training checkpoint?)");
  try {
    return std::stoll(found->second);
  } catch (const std::exception&) {
    detail::fail("load_checkpoint", file.path, ": metadata '", key, "' = '", found->second,
                 "' is not an integer");
  }
}
}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const LRScheduler* scheduler, const CheckpointState& state) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : model.named_parameters()) tensors.emplace_back("model." + name, t);
  for (const auto& [name, t] : model.named_buffers()) tensors.emplace_back("model." + name, t);
  std::map<std::string, std::string> metadata = state.extra;
  metadata["epoch"] = std::to_string(state.epoch);
  metadata["rng.default"] = default_generator().state();
  if (optimizer) {
    for (const auto& [name, t] : optimizer->state()) tensors.emplace_back("optimizer." + name, t);
    metadata["optimizer.steps"] = std::to_string(optimizer->steps_taken());
  }
  if (scheduler) metadata["scheduler.steps"] = std::to_string(scheduler->steps_taken());
  save_safetensors(path, tensors, metadata);
}

CheckpointState load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer,
                                LRScheduler* scheduler) {
  const TensorFile file = load_safetensors(path);
  // Everything is checked before anything is copied, so a bad file leaves the run untouched.
  std::vector<std::pair<const Tensor*, Tensor>> copies;  // (source, destination)
  for (const auto& [name, t] : model.named_parameters()) copies.emplace_back(&matching(file, "model." + name, t), t);
  for (const auto& [name, t] : model.named_buffers()) copies.emplace_back(&matching(file, "model." + name, t), t);
  int64_t optimizer_steps = 0, scheduler_steps = 0;
  if (optimizer) {
    for (const auto& [name, t] : optimizer->state()) copies.emplace_back(&matching(file, "optimizer." + name, t), t);
    optimizer_steps = metadata_int(file, "optimizer.steps");
  }
  if (scheduler) scheduler_steps = metadata_int(file, "scheduler.steps");
  CheckpointState state;
  state.epoch = metadata_int(file, "epoch");

  NoGradGuard no_grad;
  for (auto& [source, destination] : copies) destination.copy_(*source);
  if (optimizer) optimizer->set_steps_taken(optimizer_steps);
  if (scheduler) scheduler->set_steps_taken(scheduler_steps);
  const auto rng = file.metadata.find("rng.default");
  if (rng != file.metadata.end()) default_generator().set_state(rng->second);
  for (const auto& [key, value] : file.metadata) {
    if (std::find(std::begin(kMetaKeys), std::end(kMetaKeys), key) == std::end(kMetaKeys)) {
      state.extra[key] = value;
    }
  }
  return state;
}

}  // namespace minidl
