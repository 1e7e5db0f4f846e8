// Command-line options of train_cifar10: parsing, validation and the usage text.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace minidl {

struct TrainOptions {
  // --preset: a model and its recipe, which sets every default below; flags override them.
  //   resnet  the reference ResNet (models/resnet.h) and the recipe of docs/results/
  //   fast94  FastNet (models/fast_net.h), about 2M parameters: airbench94's recipe
  //   fast95  a wider FastNet (4.6M parameters) for 95%, trained longer
  std::string preset = "resnet";
  std::string data_dir;  // --data; default: $CIFAR10_DIR, ../shared/data/cifar10, data/cifar10
  int64_t epochs = 40;
  int batch_size = 128;
  float lr = 0.1f;
  float momentum = 0.9f;
  bool nesterov = true;
  float weight_decay = 5e-4f;
  std::string schedule = "onecycle";  // cosine | step | onecycle | triangle
  float warmup_fraction = 0.15f;      // onecycle pct_start, or cosine warmup share
  float label_smoothing = 0.1f;
  int cutout = 8;
  float dropout = 0.f;
  int translate = 4;              // --translate: random-crop padding, the pixels an image may shift
  bool alternating_flip = false;  // mirrored in alternate epochs (else at random, half the time)
  int tta = 0;                    // --tta: 0 none, 1 mirror, 2 mirror and 1-pixel shifts
  // The recipe's parts without a flag of their own (the fast presets'):
  float bias_lr_scale = 1.f;       // BatchNorm biases' lr multiplier (weight decay / it)
  int lookahead = 0;               // optimizer steps between Lookahead pull-backs; 0 = off
  int64_t whiten_bias_epochs = 0;  // FastNet: its stem's bias trains for these epochs only
  bool reflect_padding = false;    // --translate fills the border by reflection, not black
  std::string device = "auto";
  std::string loader = "auto";  // --loader: host | resident | auto (resident on a GPU)
  uint64_t seed = 1;
  std::string out_dir = "runs/cifar10";
  std::string resume;      // --resume PATH: continue that checkpoint's run in out_dir
  bool overwrite = false;  // --overwrite: replace a run already in out_dir
  int64_t limit_train = -1, limit_test = -1;
  // --validation N: the last N training images (after --limit-train) are held out and
  // evaluated every epoch; best.safetensors is the epoch of highest validation accuracy. 0: no
  // validation split and no best.safetensors (choosing an epoch by its test accuracy would be
  // selection on the test set).
  int64_t validation = 0;
  int profile_steps = 0;  // --profile N: per-op table of N steps (core/profiler.h); 0 off
  bool summary = false, help = false;
};

// Thrown for anything wrong on the command line; main() prints it with the usage text.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bounds of the numeric flags, in the usage text and the messages.
constexpr int64_t kMaxEpochs = 1000000;
constexpr int64_t kMaxBatchSize = 1000000000;
constexpr int64_t kTrainImages = 50000, kTestImages = 10000;  // CIFAR-10's splits

TrainOptions parse_train_options(int argc, char** argv);
// The defaults of a preset (UsageError naming --preset for an unknown one).
TrainOptions preset_options(const std::string& preset);
std::string train_usage(const char* program);

// After the loss became NaN or infinite: the flag to lower. The weight decay when its share
// of each weight removed per step, lr x weight decay / (1 - momentum) with momentum's gain,
// reaches 1 (the weights then flip sign and grow every step); else the learning rate.
std::string divergence_hint(const TrainOptions& options);

// The optimizer steps of the whole run (epochs x steps per epoch) for `train_images` loaded
// images, checked against what the learning-rate schedule needs (onecycle at least 3 steps,
// cosine at least 2). Throws UsageError naming --batch-size, --epochs and --limit-train.
int64_t total_train_steps(const TrainOptions& options, int64_t train_images);

}  // namespace minidl
