#include "examples/train_options.h"

#include <cctype>
#include <cerrno>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include "minidl/core/profiler.h"

namespace minidl {

namespace {

// A real number; "nan", "inf" and out-of-range values are refused here so that the range
// checks below only ever compare finite numbers.
float parse_real(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const float value = std::strtof(text.c_str(), &end);
  const bool whole = !text.empty() && end == text.c_str() + text.size() &&
                     !std::isspace(static_cast<unsigned char>(text[0])) &&
                     text.find_first_of("xX") == std::string::npos;  // no hexadecimal floats
  if (!whole || std::isnan(value) || (std::isinf(value) && errno != ERANGE)) {
    throw UsageError(flag + " expects a number, got '" + text + "'");
  }
  // Out of a float's range: said with the value as typed, not as the 0 or infinity it became.
  if (errno == ERANGE && std::isinf(value)) {
    throw UsageError(flag + " " + text + ": too large for a float (at most about 3.4e+38)");
  }
  if (errno == ERANGE && value != 0.f && std::fabs(value) >= FLT_MIN) errno = 0;
  if (errno == ERANGE) {
    throw UsageError(flag + " " + text +
                     ": too small for a float (the smallest normal one is about 1.2e-38)");
  }
  return value;
}

// A whole number in [low, high]. from_chars refuses a sign on unsigned types, so "--seed -1"
// is an error instead of wrapping around to 2^64 - 1, and it reports overflow instead of
// saturating, so "--epochs 9223372036854775808" is an error too.
template <typename T>
T parse_whole(const std::string& flag, const std::string& text, T low, T high) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  const bool number = !text.empty() && stop == end;
  if (error == std::errc::invalid_argument || (error == std::errc() && !number)) {
    std::ostringstream message;
    message << flag << " expects a whole number from " << low << " to " << high << ", got '" << text
            << "'";
    throw UsageError(message.str());
  }
  if (error == std::errc::result_out_of_range || value < low || value > high) {
    std::ostringstream message;
    message << flag << " " << text << ": must be in [" << low << ", " << high << "]";
    throw UsageError(message.str());
  }
  return value;
}

// A path that must not be empty ("--out ''" would otherwise surface as "Invalid argument []").
std::string parse_path(const std::string& flag, const std::string& text, const char* example) {
  if (text.empty())
    throw UsageError(flag + " needs a path, got an empty one (e.g. " + flag + " " + example + ")");
  return text;
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

TrainOptions preset_options(const std::string& preset) {
  TrainOptions o;
  o.preset = preset;
  if (preset == "resnet") return o;
  if (preset != "fast94" && preset != "fast95") {
    throw UsageError("--preset expects resnet, fast94 or fast95, got '" + preset + "'");
  }
  // airbench94's recipe (KellerJordan/cifar10-airbench), in minidl's terms: its rate 11.5 and
  // weight decay 0.0153 per 1024 examples with a summed loss, momentum 0.85, become a mean
  // loss's lr 1.5 and weight decay 0.0013 (decay per step lr * wd = 0.002 at the peak), with
  // BatchNorm biases at 64x the rate and 1/64 the decay; label smoothing 0.2; a 2-pixel
  // translation (the border reflected) and alternating flips, no cutout; a triangle schedule
  // (from 0.2 up over 23% of the steps, then down to 0.07); Lookahead every 5 steps, its slow
  // weights put back at each epoch's end; the stem's bias frozen after 3 epochs; mirror and
  // shift test-time augmentation.
  o.epochs = 10;
  o.batch_size = 1024;
  o.lr = 1.5f;
  o.momentum = 0.85f;
  o.weight_decay = 0.0013f;
  o.schedule = "triangle";
  o.warmup_fraction = 0.23f;
  o.label_smoothing = 0.2f;
  o.cutout = 0;
  o.translate = 2;
  o.reflect_padding = true;
  o.alternating_flip = true;
  o.tta = 2;
  o.bias_lr_scale = 64.f;
  o.lookahead = 5;
  o.whiten_bias_epochs = 3;
  o.out_dir = "runs/" + preset;
  // fast95 is airbench95's recipe: FastNetConfig widths 128, 384, 384 (make_model), 15 epochs,
  // its rate 10 per 1024 examples (a mean loss's 1.3).
  if (preset == "fast95") {
    o.epochs = 15;
    o.lr = 1.3f;
  }
  return o;
}

std::string train_usage(const char* program) {
  const TrainOptions d;
  std::ostringstream u;
  u << "usage: " << program << " [options]\n"
    << "Trains a model on CIFAR-10 (binary version) and reports test accuracy.\n\n"
    << "  --preset P              resnet (the reference ResNet), fast94 (FastNet, ~2M\n"
    << "                          parameters, airbench94's recipe) or fast95 (a wider FastNet);\n"
    << "                          it sets the defaults below, which other flags override\n"
    << "                          (default " << d.preset << "; the defaults shown are its)\n"
    << "  --data DIR              dataset directory (default $CIFAR10_DIR, else\n"
    << "                          ../shared/data/cifar10 if it holds the files, else "
       "data/cifar10)\n"
    << "  --epochs N              epochs to train, 1.." << kMaxEpochs << " (default " << d.epochs
    << ")\n"
    << "  --batch-size N          images per step (default " << d.batch_size << ")\n"
    << "  --lr X                  peak learning rate (default " << d.lr << ")\n"
    << "  --momentum X            SGD momentum (default " << d.momentum << ")\n"
    << "  --no-nesterov           plain momentum instead of Nesterov\n"
    << "  --weight-decay X        L2 decay on conv/linear weights, not on BN or biases (default "
    << d.weight_decay << ")\n"
    << "  --schedule S            cosine | step | onecycle | triangle, per batch (default "
    << d.schedule << ")\n"
    << "  --warmup X              share of steps rising to the peak lr (default "
    << d.warmup_fraction << ")\n"
    << "  --label-smoothing X     (default " << d.label_smoothing << ")\n"
    << "  --cutout N              side of the cutout square, 0 = off (default " << d.cutout << ")\n"
    << "  --dropout X             dropout before the classifier (ResNet; default " << d.dropout
    << ")\n"
    << "  --translate N           random-crop padding in pixels, 0 = off (default " << d.translate
    << ")\n"
    << "  --tta N                 test-time views at the final epoch: 0 none, 1 mirror, 2 mirror\n"
    << "                          and 1-pixel shifts (default " << d.tta << ")\n"
    << "  --device D              auto | cpu | cuda (default " << d.device << ")\n"
    << "  --loader L              host (assembled by a CPU thread, uploaded), resident (the\n"
    << "                          images kept on the device, each batch made there by one\n"
    << "                          kernel) or auto: resident on a GPU, host on the CPU (default\n"
    << "                          " << d.loader << ")\n"
    << "  --seed N                seed for weights, order and augmentation (default " << d.seed
    << ")\n"
    << "  --out DIR               metrics.csv and checkpoints (default " << d.out_dir << ")\n"
    << "  --resume PATH           continue from a checkpoint (e.g. DIR/last.safetensors); the\n"
    << "                          rows of metrics.csv after its epoch are dropped and retrained\n"
    << "  --overwrite             replace a run already in --out (without it, or --resume, a\n"
    << "                          folder that holds a run is refused)\n"
    << "  --limit-train N         use only the first N training images (1.." << kTrainImages
    << ")\n"
    << "  --limit-test N          use only the first N test images (1.." << kTestImages << ")\n"
    << "  --validation N          hold out the last N training images, evaluate them every\n"
    << "                          epoch and keep best.safetensors, the epoch of highest\n"
    << "                          validation accuracy (default 0: no best checkpoint; the\n"
    << "                          test set never chooses an epoch)\n"
    << "  --profile N             after " << profiler::kWarmupSteps
    << " warm-up steps, time every op of N training\n"
    << "                          steps and print the table (as MINIDL_PROFILE=1)\n"
    << "  --summary               print the model's layers, output shapes and parameters; exit\n"
    << "  --help                  this text\n";
  return u.str();
}

// The dataset folder when --data is not given, by the Makefile's rule (`make train` passes
// what it finds), so that build/train_cifar10 run from the checkout finds the same data:
// $CIFAR10_DIR, else ../shared/data/cifar10 when it holds the test file (the team's machines
// keep one copy beside the checkouts), else data/cifar10 (where scripts/download_cifar10.sh
// puts it).
std::string default_data_dir() {
  const char* env_dir = std::getenv("CIFAR10_DIR");
  if (env_dir && *env_dir) return env_dir;
  std::error_code error;
  if (std::filesystem::is_regular_file("../shared/data/cifar10/test_batch.bin", error)) {
    return "../shared/data/cifar10";
  }
  return "data/cifar10";
}

TrainOptions parse_train_options(int argc, char** argv) {
  // The preset first, wherever it stands: it sets the defaults that the other flags override.
  std::string preset = "resnet";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    // (A flag where the value belongs is left to the main loop, which names it.)
    if (arg == "--preset" && i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      preset = argv[i + 1];
    }
    if (arg.rfind("--preset=", 0) == 0) preset = arg.substr(9);
  }
  TrainOptions o = preset_options(preset);
  o.data_dir = default_data_dir();
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    // --flag=value, as many programs accept, is --flag value.
    std::optional<std::string> attached;
    if (const size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      attached = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (attached) return *std::exchange(attached, std::nullopt);
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      const std::string next = argv[i + 1];
      // A flag where a value belongs: its own value was forgotten, not the next flag's name.
      if (next.size() > 2 && next.rfind("--", 0) == 0 &&
          std::isalpha(static_cast<unsigned char>(next[2]))) {
        throw UsageError(flag + " needs a value, but the next argument is the flag " + next +
                         ": give " + flag + " its value first");
      }
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") o.help = true;
    else if (flag == "--summary") o.summary = true;
    else if (flag == "--no-nesterov") o.nesterov = false;
    else if (flag == "--overwrite") o.overwrite = true;
    else if (flag == "--preset") value();  // read above
    else if (flag == "--data") o.data_dir = parse_path(flag, value(), "data/cifar10");
    else if (flag == "--epochs") o.epochs = parse_whole<int64_t>(flag, value(), 1, kMaxEpochs);
    else if (flag == "--batch-size")
      o.batch_size = int(parse_whole<int64_t>(flag, value(), 2, kMaxBatchSize));
    else if (flag == "--lr") o.lr = parse_real(flag, value());
    else if (flag == "--momentum") o.momentum = parse_real(flag, value());
    else if (flag == "--weight-decay") o.weight_decay = parse_real(flag, value());
    else if (flag == "--schedule") o.schedule = value();
    else if (flag == "--warmup") o.warmup_fraction = parse_real(flag, value());
    else if (flag == "--label-smoothing") o.label_smoothing = parse_real(flag, value());
    else if (flag == "--cutout") o.cutout = int(parse_whole<int64_t>(flag, value(), 0, 32));
    else if (flag == "--dropout") o.dropout = parse_real(flag, value());
    else if (flag == "--translate") o.translate = int(parse_whole<int64_t>(flag, value(), 0, 16));
    else if (flag == "--tta") o.tta = int(parse_whole<int64_t>(flag, value(), 0, 2));
    else if (flag == "--device") o.device = value();
    else if (flag == "--loader") o.loader = value();
    else if (flag == "--seed") {
      o.seed = parse_whole<uint64_t>(flag, value(), 0, std::numeric_limits<uint64_t>::max());
    } else if (flag == "--out") o.out_dir = parse_path(flag, value(), "runs/cifar10");
    else if (flag == "--resume")
      o.resume = parse_path(flag, value(), "runs/cifar10/last.safetensors");
    else if (flag == "--limit-train")
      o.limit_train = parse_whole<int64_t>(flag, value(), 1, kTrainImages);
    else if (flag == "--limit-test")
      o.limit_test = parse_whole<int64_t>(flag, value(), 1, kTestImages);
    else if (flag == "--validation")
      o.validation = parse_whole<int64_t>(flag, value(), 0, kTrainImages - 1);
    else if (flag == "--profile")
      o.profile_steps = int(parse_whole<int64_t>(flag, value(), 0, 1000000));
    else throw UsageError("unknown option '" + flag + "'");
    if (attached) throw UsageError(flag + " takes no value, got '" + argv[i] + "'");
  }
  if (!o.resume.empty() && o.overwrite) {
    throw UsageError("--resume and --overwrite contradict each other: --resume continues the run "
                     "in --out, --overwrite replaces it; pass one");
  }
  require(o.lr > 0.f, "--lr", o.lr, "must be positive");
  require(o.momentum >= 0.f && o.momentum < 1.f, "--momentum", o.momentum, "must be in [0, 1)");
  require(o.nesterov == false || o.momentum > 0.f, "--momentum", o.momentum,
          "Nesterov needs momentum > 0 (or pass --no-nesterov)");
  require(o.weight_decay >= 0.f, "--weight-decay", o.weight_decay, "must be >= 0");
  require(o.schedule == "cosine" || o.schedule == "step" || o.schedule == "onecycle" ||
              o.schedule == "triangle",
          "--schedule", o.schedule, "must be cosine, step, onecycle or triangle");
  require(o.dropout == 0.f || o.preset == "resnet", "--dropout", o.dropout,
          "applies to the resnet preset only (FastNet has no dropout)");
  require(o.warmup_fraction > 0.f && o.warmup_fraction < 1.f, "--warmup", o.warmup_fraction,
          "must be in (0, 1)");
  require(o.label_smoothing >= 0.f && o.label_smoothing < 1.f, "--label-smoothing",
          o.label_smoothing, "must be in [0, 1)");
  require(o.dropout >= 0.f && o.dropout < 1.f, "--dropout", o.dropout, "must be in [0, 1)");
  const int64_t train_images = o.limit_train > 0 ? o.limit_train : kTrainImages;
  require(o.validation<train_images, "--validation", o.validation, o.limit_train> 0
              ? "must be below --limit-train, so that some of its images are left to train on"
              : "must leave some of the 50000 training images to train on");
  require(o.loader == "auto" || o.loader == "host" || o.loader == "resident", "--loader", o.loader,
          "must be auto, host or resident");
  require(o.device == "auto" || o.device == "cpu" || o.device == "cuda", "--device", o.device,
          "must be auto, cpu or cuda");
  return o;
}

std::string divergence_hint(const TrainOptions& o) {
  const double decay_share = double(o.lr) * o.weight_decay / (1.0 - o.momentum);
  std::ostringstream hint;
  if (decay_share >= 1.0) {
    hint << "lower --weight-decay (now " << o.weight_decay << "): each step takes lr x weight "
         << "decay / (1 - momentum) = " << decay_share << " of every weight, so the weights "
         << "flip sign and grow";
  } else {
    hint << "lower --lr (now " << o.lr << ")";
  }
  return hint.str();
}

int64_t total_train_steps(const TrainOptions& o, int64_t train_images) {
  const int64_t per_epoch = (train_images + o.batch_size - 1) / o.batch_size;
  const int64_t needed = o.schedule == "onecycle"                             ? 3
                         : o.schedule == "cosine" || o.schedule == "triangle" ? 2
                                                                              : 1;
  std::ostringstream what;  // how the total came about, for the messages
  what << "--batch-size " << o.batch_size << " with " << train_images << " training images gives "
       << per_epoch << (per_epoch == 1 ? " step" : " steps") << " per epoch";
  // epochs <= kMaxEpochs and per_epoch <= kTrainImages keep this far from overflow, but the
  // bounds may change: check the product rather than trust them.
  if (per_epoch > std::numeric_limits<int64_t>::max() / o.epochs) {
    throw UsageError(what.str() + "; with --epochs " + std::to_string(o.epochs) +
                     " the number of steps overflows: lower --epochs");
  }
  const int64_t total = o.epochs * per_epoch;
  if (total < needed) {
    if (o.epochs > 1) what << ", " << total << " in total over --epochs " << o.epochs;
    what << "; " << o.schedule << " needs at least " << needed << " steps in total: lower "
         << "--batch-size or raise --epochs";
    // More training images help only when the full set would give enough steps.
    const int64_t full_steps = (kTrainImages + o.batch_size - 1) / o.batch_size * o.epochs;
    if (o.limit_train > 0 && o.limit_train < kTrainImages && full_steps >= needed) {
      what << " or --limit-train";
    }
    throw UsageError(what.str());
  }
  return total;
}

}  // namespace minidl
