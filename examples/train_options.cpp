#include "examples/train_options.h"

#include <cstdlib>
#include <sstream>

#include "core/profiler.h"

namespace minidl {

namespace {

template <typename T>
T parse_number(const std::string& flag, const std::string& text) {
  std::istringstream in(text);
  T value{};
  in >> value;
  if (in.fail() || !in.eof()) throw UsageError(flag + " expects a number, got '" + text + "'");
  return value;
}

template <typename T>
void require(bool ok, const std::string& flag, T value, const char* rule) {
  if (!ok) {
    std::ostringstream message;
    message << flag << " " << value << ": " << rule;
    throw UsageError(message.str());
  }
}

}  // namespace

std::string train_usage(const char* program) {
  const TrainOptions d;
  std::ostringstream u;
  u << "usage: " << program << " [options]\n"
    << "Trains the reference ResNet on CIFAR-10 (binary version) and reports test accuracy.\n\n"
    << "  --data DIR              dataset directory (default $CIFAR10_DIR, else data/cifar10)\n"
    << "  --epochs N              epochs to train (default " << d.epochs << ")\n"
    << "  --batch-size N          images per step (default " << d.batch_size << ")\n"
    << "  --lr X                  peak learning rate (default " << d.lr << ")\n"
    << "  --momentum X            SGD momentum (default " << d.momentum << ")\n"
    << "  --no-nesterov           plain momentum instead of Nesterov\n"
    << "  --weight-decay X        L2 decay on conv/linear weights, not on BN or biases (default "
    << d.weight_decay << ")\n"
    << "  --schedule S            cosine | step | onecycle, stepped per batch (default "
    << d.schedule << ")\n"
    << "  --warmup X              share of steps rising to the peak lr (default "
    << d.warmup_fraction << ")\n"
    << "  --label-smoothing X     (default " << d.label_smoothing << ")\n"
    << "  --cutout N              side of the cutout square, 0 = off (default " << d.cutout << ")\n"
    << "  --dropout X             dropout before the classifier (default " << d.dropout << ")\n"
    << "  --device D              auto | cpu | cuda (default " << d.device << ")\n"
    << "  --seed N                seed for weights, order and augmentation (default " << d.seed
    << ")\n"
    << "  --out DIR               metrics.csv, last and best checkpoints (default " << d.out_dir
    << ")\n"
    << "  --resume PATH           continue from a checkpoint (e.g. DIR/last.safetensors)\n"
    << "  --limit-train N         use only the first N training images\n"
    << "  --limit-test N          use only the first N test images\n"
    << "  --profile N             after " << profiler::kWarmupSteps << " warm-up steps, time every op of N training\n"
    << "                          steps and print the table (as MINIDL_PROFILE=1)\n"
    << "  --summary               print the model's layers, output shapes and parameters; exit\n"
    << "  --help                  this text\n";
  return u.str();
}

TrainOptions parse_train_options(int argc, char** argv) {
  TrainOptions o;
  const char* env_dir = std::getenv("CIFAR10_DIR");
  o.data_dir = env_dir && *env_dir ? env_dir : "data/cifar10";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") o.help = true;
    else if (flag == "--summary") o.summary = true;
    else if (flag == "--no-nesterov") o.nesterov = false;
    else if (flag == "--data") o.data_dir = value();
    else if (flag == "--epochs") o.epochs = parse_number<int64_t>(flag, value());
    else if (flag == "--batch-size") o.batch_size = parse_number<int>(flag, value());
    else if (flag == "--lr") o.lr = parse_number<float>(flag, value());
    else if (flag == "--momentum") o.momentum = parse_number<float>(flag, value());
    else if (flag == "--weight-decay") o.weight_decay = parse_number<float>(flag, value());
    else if (flag == "--schedule") o.schedule = value();
    else if (flag == "--warmup") o.warmup_fraction = parse_number<float>(flag, value());
    else if (flag == "--label-smoothing") o.label_smoothing = parse_number<float>(flag, value());
    else if (flag == "--cutout") o.cutout = parse_number<int>(flag, value());
    else if (flag == "--dropout") o.dropout = parse_number<float>(flag, value());
    else if (flag == "--device") o.device = value();
    else if (flag == "--seed") o.seed = parse_number<uint64_t>(flag, value());
    else if (flag == "--out") o.out_dir = value();
    else if (flag == "--resume") o.resume = value();
    else if (flag == "--limit-train") o.limit_train = parse_number<int64_t>(flag, value());
    else if (flag == "--limit-test") o.limit_test = parse_number<int64_t>(flag, value());
    else if (flag == "--profile") o.profile_steps = parse_number<int>(flag, value());
    else throw UsageError("unknown option '" + flag + "'");
  }
  require(o.epochs >= 1, "--epochs", o.epochs, "must be at least 1");
  require(o.batch_size >= 2, "--batch-size", o.batch_size, "must be at least 2 (batch norm)");
  require(o.lr > 0.f, "--lr", o.lr, "must be positive");
  require(o.momentum >= 0.f && o.momentum < 1.f, "--momentum", o.momentum, "must be in [0, 1)");
  require(o.nesterov == false || o.momentum > 0.f, "--momentum", o.momentum,
          "Nesterov needs momentum > 0 (or pass --no-nesterov)");
  require(o.weight_decay >= 0.f, "--weight-decay", o.weight_decay, "must be >= 0");
  require(o.schedule == "cosine" || o.schedule == "step" || o.schedule == "onecycle",
          "--schedule", o.schedule, "must be cosine, step or onecycle");
  require(o.warmup_fraction > 0.f && o.warmup_fraction < 1.f, "--warmup", o.warmup_fraction,
          "must be in (0, 1)");
  require(o.label_smoothing >= 0.f && o.label_smoothing < 1.f, "--label-smoothing",
          o.label_smoothing, "must be in [0, 1)");
  require(o.cutout >= 0 && o.cutout <= 32, "--cutout", o.cutout, "must be in [0, 32]");
  require(o.dropout >= 0.f && o.dropout < 1.f, "--dropout", o.dropout, "must be in [0, 1)");
  require(o.device == "auto" || o.device == "cpu" || o.device == "cuda", "--device", o.device,
          "must be auto, cpu or cuda");
  require(o.limit_train != 0 && o.limit_train >= -1, "--limit-train", o.limit_train,
          "must be positive");
  require(o.limit_test != 0 && o.limit_test >= -1, "--limit-test", o.limit_test,
          "must be positive");
  require(o.profile_steps >= 0 && o.profile_steps <= 1000000, "--profile", o.profile_steps,
          "must be in [0, 1000000]");
  return o;
}

}  // namespace minidl
