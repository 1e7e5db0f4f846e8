#include "examples/flag_hints.h"

namespace minidl {

std::string data_flag_hint(const ArgumentError& error, const TrainOptions& o, Split split) {
  if (error.argument() == "dir") {
    return "point --data or CIFAR10_DIR at the folder that holds the dataset (now '" + o.data_dir +
           "')";
  }
  if (error.argument() == "limit") {
    const bool train = split == Split::Train;
    const std::string flag = train ? "--limit-train" : "--limit-test";
    const int64_t limit = train ? o.limit_train : o.limit_test;
    return limit >= 0 ? "the limit is " + flag + " " + std::to_string(limit)
                      : flag + " sets the limit (none was given)";
  }
  return "";
}

std::string device_flag_hint(const ArgumentError& error, const TrainOptions& o) {
  if (error.argument() != "name" || o.device != "cuda") return "";
  return "--device cuda needs a usable GPU; --device auto or --device cpu runs on the CPU";
}

std::string resume_flag_hint(const SettingMismatch& error, const TrainOptions& o) {
  const std::string& setting = error.setting();
  const std::string& saved = error.saved();
  if (setting == "momentum") {
    return saved.empty() ? "the setting momentum is --momentum (now " + error.now() + ")"
                         : "resume with --momentum " + saved;
  }
  if (setting == "nesterov")
    return saved == "1" ? "resume without --no-nesterov" : "resume with --no-nesterov";
  if (setting == "group0.weight_decay") return "resume with --weight-decay " + saved;
  if (setting.rfind("base_lr", 0) == 0) return "resume with --lr " + saved;
  if (setting == "batch_size") return "resume with --batch-size " + saved;
  if (setting == "steps_per_epoch") {
    return "resume with the --batch-size, --limit-train and data of the run that wrote " +
           o.resume + " (now --batch-size " + std::to_string(o.batch_size) + ")";
  }
  if (setting == "epochs") {
    return "resume with --epochs " + saved + ", or start a new run with --epochs " + error.now();
  }
  return "";
}

std::string with_flag_hint(const std::exception& error, const std::string& hint) {
  return hint.empty() ? error.what() : std::string(error.what()) + "; train_cifar10: " + hint;
}

}  // namespace minidl
