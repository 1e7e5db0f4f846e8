// Trains a preset on CIFAR-10 and reports test accuracy after every epoch: the reference
// ResNet (models/resnet.h; the default, with the recipe recorded in docs/results/
// cifar10_cpu.md) or FastNet (models/fast_net.h) with airbench's recipe (--preset fast94,
// fast95; examples/train_options.cpp says what each sets). `train_cifar10 --help` lists the
// options.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "examples/flag_hints.h"
#include "examples/progress.h"
#include "examples/resume_settings.h"
#include "examples/run_files.h"
#include "examples/train_options.h"
#include "minidl/core/minidl.h"
#include "minidl/data/batch_upload.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/loader.h"
#include "minidl/data/resident_loader.h"
#include "minidl/io/checkpoint.h"
#include "minidl/io/safetensors.h"
#include "minidl/layers/inspect.h"
#include "minidl/layers/summary.h"
#include "minidl/layers/test_time_augmentation.h"
#include "minidl/models/fast_net.h"
#include "minidl/models/resnet.h"
#include "minidl/optim/moving_average.h"
#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"

using namespace minidl;

namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point process_start = Clock::now();  // for the process's wall time

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// `total`: the run's steps, from total_train_steps (checked there to be enough for the schedule).
std::shared_ptr<Schedule> make_schedule(const TrainOptions& o, int64_t total) {
  if (o.schedule == "onecycle") return one_cycle(total, o.warmup_fraction, 25.0, 1e4);
  if (o.schedule == "triangle") {
    // The fast presets' (airbench94's): linearly up from 0.2 of the peak, then down to 0.07 at
    // the last step; ending above 0 keeps the last steps moving the Lookahead average.
    const int64_t warmup = std::max<int64_t>(1, int64_t(o.warmup_fraction * total));
    return sequential(
        {linear_schedule(warmup, 0.2, 1.0), linear_schedule(total - warmup, 1.0, 0.07)}, {warmup});
  }
  if (o.schedule == "step") {
    // x0.1 at 50% and 75% of training, the classic ResNet recipe.
    return multistep_schedule({total / 2, total * 3 / 4}, 0.1);
  }
  // cosine, after a linear warmup over warmup_fraction of the steps
  const int64_t warmup = std::max<int64_t>(1, int64_t(o.warmup_fraction * total));
  return sequential({linear_warmup(warmup, 0.1), cosine_schedule(total - warmup)}, {warmup});
}

struct EpochResult {
  double loss = 0.0, accuracy = 0.0;
};

// The running loss (times batch size) and number of correct predictions of an epoch, kept on
// the device: adding to them queues two small kernels, so a training step never waits for
// the GPU. They are read back (a wait) only every kReadEvery batches and at the end.
constexpr int64_t kReadEvery = 20;

struct RunningTotals {
  Tensor loss_sum, correct;  // rank 0, on the device

  explicit RunningTotals(Device device)
      : loss_sum(Tensor::zeros({}, device)), correct(Tensor::zeros({}, device)) {}
  void add(const Tensor& loss, const Tensor& logits, const ops::Labels& labels) {
    NoGradGuard no_grad;
    loss_sum = ops::add(loss_sum, ops::scale(loss.detach(), float(labels.count())));
    correct = ops::add(correct, ops::count_correct(logits.detach(), labels));
  }
};

// tta 0: the model's logits; 1: averaged with the mirrored images'; 2: and with the images
// shifted by one pixel both ways (tta_logits).
EpochResult evaluate(Module& model, DataLoader& loader, BatchUploader& uploader, Device device,
                     int tta) {
  NoGradGuard no_grad;
  model.eval();
  loader.start_epoch(0);
  Batch batch;
  RunningTotals totals(device);
  while (loader.next(batch)) {
    const DeviceBatch on_device = uploader.upload(batch);
    const Tensor logits = tta == 0 ? model.forward(on_device.inputs)
                                   : tta_logits(model, on_device.inputs, TtaOptions{true, tta - 1});
    totals.add(ops::softmax_cross_entropy(logits, on_device.labels), logits, on_device.labels);
  }
  model.train();
  const double n = double(loader.size());
  return {totals.loss_sum.item() / n, totals.correct.item() / n};
}

// The library's calls whose refusals name an argument or setting that a flag sets: each
// rethrows the library's message with the flag appended (examples/flag_hints.h).
Device device_of(const TrainOptions& o) {
  try {
    return parse_device(o.device);
  } catch (const ArgumentError& e) {
    throw std::runtime_error(with_flag_hint(e, device_flag_hint(e, o)));
  }
}

Cifar10 load_split(const TrainOptions& o, Split split) {
  try {
    return load_cifar10(o.data_dir, split, split == Split::Train ? o.limit_train : o.limit_test);
  } catch (const ArgumentError& e) {
    throw std::runtime_error(with_flag_hint(e, data_flag_hint(e, o, split)));
  }
}

CheckpointState load_resume(const TrainOptions& o, const NamedTensors& tensors,
                            Optimizer& optimizer, LRScheduler& scheduler) {
  try {
    return load_checkpoint(o.resume, tensors, &optimizer, &scheduler);
  } catch (const SettingMismatch& e) {
    throw std::runtime_error(with_flag_hint(e, resume_flag_hint(e, o)));
  }
}

void check_resume_settings(const TrainOptions& o, const RunSettings& saved,
                           const RunSettings& now) {
  try {
    check_run_settings(o.resume, saved, now);
  } catch (const SettingMismatch& e) {
    throw std::runtime_error(with_flag_hint(e, resume_flag_hint(e, o)));
  }
}

// The preset's network: the reference ResNet, or FastNet (fast95: widths 128, 384, 384; 4.6M
// parameters) with its 3x3 convolutions starting as identities.
std::unique_ptr<Module> make_model(const TrainOptions& o) {
  if (o.preset == "resnet") {
    ResNetConfig config;
    config.dropout = o.dropout;
    return std::make_unique<ResNet>(config);
  }
  FastNetConfig config;
  if (o.preset == "fast95") config.widths = {128, 384, 384};
  auto net = std::make_unique<FastNet>(config);
  net->init_dirac();
  return net;
}

// The optimizer's groups. Without a bias multiplier, decay_groups: no decay on BatchNorm
// parameters and biases. With one (the fast presets, as airbench), everything decays, and the
// BatchNorm biases take bias_lr_scale times the rate and 1 / bias_lr_scale the decay, so that
// their decay per step (lr * wd) is everyone's. Frozen parameters are left out.
std::vector<ParamGroup> parameter_groups(const Module& model, const TrainOptions& o) {
  if (o.bias_lr_scale == 1.f) return decay_groups(model.parameters());
  ParamGroup others, norm_biases;
  norm_biases.lr_scale = o.bias_lr_scale;
  norm_biases.weight_decay = o.weight_decay / o.bias_lr_scale;
  for (const auto& [name, p] : model.named_parameters()) {
    if (!p.requires_grad()) continue;
    const bool norm_bias = p.dim() == 1 && name != "whiten.bias";
    (norm_bias ? norm_biases : others).params.push_back(p);
  }
  return {others, norm_biases};
}

// The first `count` training images, normalized and not augmented: FastNet's whitening data.
Tensor whitening_images(const Cifar10& train_set, int64_t count) {
  const Cifar10Dataset plain(train_set);
  DataLoader loader(
      plain,
      LoaderOptions().batch_size(int(std::min<int64_t>(count, train_set.size()))).shuffle(false));
  loader.start_epoch(0);
  Batch batch;
  loader.next(batch);
  return batch.inputs;
}

// --loader auto: the resident loader on a GPU (its batches are made there), the host loader
// with its prefetch thread on the CPU.
bool resident_loader_chosen(const TrainOptions& o, Device device) {
  return o.loader == "resident" || (o.loader == "auto" && device == Device::CUDA);
}

// The epoch of the checkpoint's best_val_acc, from 1 to its own epoch.
int64_t parse_best_epoch(const std::string& checkpoint, const CheckpointState& state) {
  const auto saved = state.extra.find("best_val_epoch");
  char* end = nullptr;
  const long long epoch =
      saved == state.extra.end() ? 0 : std::strtoll(saved->second.c_str(), &end, 10);
  if (saved == state.extra.end() || *end != '\0' || epoch < 1 || epoch > state.epoch) {
    throw std::runtime_error("checkpoint " + checkpoint +
                             ": metadata best_val_epoch is missing or not an epoch from 1 to " +
                             std::to_string(state.epoch) + " (was the file edited?)");
  }
  return epoch;
}

int run(const TrainOptions& o) {
  manual_seed(o.seed);
  const Device device = device_of(o);

  const std::unique_ptr<Module> net = make_model(o);
  Module& model = *net;
  FastNet* fast_net = dynamic_cast<FastNet*>(net.get());
  model.to(device);
  if (o.summary) {
    print_summary(model, {1, 3, 32, 32}, std::cout);
    return 0;
  }

  // The output folder and the checkpoint to resume are checked before the data is loaded,
  // so a mistake there costs seconds, not an epoch.
  const RunFolder out{o.out_dir};
  const RunLock lock = prepare_output_folder(
      out.dir, o.resume.empty() ? (o.overwrite ? ExistingRun::Overwrite : ExistingRun::Refuse)
                                : ExistingRun::Resume);
  // What the continuation depends on, recorded in every checkpoint: a resume under other
  // settings is refused by the flag, before the data is loaded (examples/resume_settings.h).
  const std::vector<RecordedSetting> settings =
      recorded_settings(o, resident_loader_chosen(o, device));
  if (!o.resume.empty()) {
    check_resume_file(o.resume);
    check_recorded_settings(o.resume, SafetensorsReader(o.resume).metadata(), settings);
  }

  Cifar10 train_set = load_split(o, Split::Train);
  const Cifar10 test_set = load_split(o, Split::Test);
  // The validation split leaves the training images before anything (whitening included) sees
  // them; it alone chooses best.safetensors.
  const Cifar10 validation_set =
      o.validation > 0 ? split_off_last(train_set, o.validation) : Cifar10{};
  Cifar10Transform augmented;
  augmented.augment = true;
  augmented.augment_options.crop_padding = o.translate;
  augmented.augment_options.padding = o.reflect_padding ? Padding::Reflect : Padding::Zero;
  augmented.augment_options.horizontal_flip = !o.alternating_flip;
  augmented.augment_options.cutout_size = o.cutout;
  const Cifar10Dataset train_data(train_set, augmented), test_data(test_set);
  DataLoader train_loader(
      train_data,
      LoaderOptions().batch_size(o.batch_size).seed(o.seed).alternating_flip(o.alternating_flip));
  DataLoader test_loader(test_data, LoaderOptions().batch_size(500).shuffle(false));
  // The training batches are made on the device by ResidentLoader (--loader resident, the
  // default on a GPU), or assembled on the host by train_loader and uploaded.
  std::unique_ptr<ResidentLoader> resident_loader;
  if (resident_loader_chosen(o, device)) {
    ResidentLoaderOptions r;
    r.batch_size = o.batch_size;
    r.seed = o.seed;
    r.translate = o.translate;
    r.padding = augmented.augment_options.padding;
    r.flip = o.alternating_flip ? kernels::FlipMode::Alternating : kernels::FlipMode::Random;
    r.cutout = o.cutout;
    resident_loader = std::make_unique<ResidentLoader>(train_set, device, r);
  }
  const int64_t steps_per_epoch = train_loader.batches_per_epoch();
  const std::string fingerprint = data_fingerprint(train_set, validation_set, test_set);
  std::unique_ptr<Cifar10Dataset> validation_data;
  std::unique_ptr<DataLoader> validation_loader;
  if (o.validation > 0) {
    validation_data = std::make_unique<Cifar10Dataset>(validation_set);
    validation_loader = std::make_unique<DataLoader>(
        *validation_data, LoaderOptions().batch_size(500).shuffle(false));
  }
  // FastNet's stem whitens 2x2 patches of 5000 training images (airbench's count); it is then
  // frozen, so it is left out of the optimizer. A resume loads the same values back.
  if (fast_net) fast_net->init_whitening(whitening_images(train_set, 5000));

  BatchUploader uploader(device, 10);
  SGD optimizer(
      parameter_groups(model, o),
      SgdOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay).nesterov(o.nesterov));
  const int64_t total_steps = total_train_steps(o, train_set.size());
  LRScheduler scheduler(optimizer, make_schedule(o, total_steps));
  // Lookahead's slow weights cover the parameters and the buffers (BatchNorm's statistics),
  // and are saved with the checkpoints as "lookahead.<name>", so a resume continues exactly.
  NamedTensors saved_tensors = model_tensors(model);
  std::unique_ptr<Lookahead> lookahead;
  if (o.lookahead > 0) {
    std::vector<Tensor> tensors;
    for (const auto& named : saved_tensors) tensors.push_back(named.second);
    lookahead = std::make_unique<Lookahead>(tensors, o.lookahead);
    const NamedTensors model_part = saved_tensors;
    for (size_t i = 0; i < model_part.size(); ++i) {
      saved_tensors.emplace_back("lookahead." + model_part[i].first, lookahead->slow_weights()[i]);
    }
  }
  // What a checkpoint records of the run's shape: a resume with another batch size or length
  // would silently stretch or shift the learning-rate schedule (it counts steps).
  const RunSettings run_settings{o.batch_size, steps_per_epoch, o.epochs};

  int64_t first_epoch = 0;
  // Every row written so far, recorded in the checkpoints: a resume restores rows that
  // metrics.csv lost and decides between two rows for one epoch (reconcile_metrics).
  std::map<int64_t, std::string> recorded_rows;
  double best_accuracy = 0.0;  // on the validation split
  int64_t best_epoch = 0;
  if (!o.resume.empty()) {
    const CheckpointState state = load_resume(o, saved_tensors, optimizer, scheduler);
    default_generator() = *state.generator;  // draws continue as if the run never stopped
    if (lookahead) lookahead->set_steps_taken(optimizer.steps_taken());
    first_epoch = state.epoch;
    check_counters(o.resume, state.epoch, state.run.epochs, state.run.steps_per_epoch,
                   optimizer.steps_taken(), scheduler.steps_taken());
    check_data_fingerprint(o.resume, state.extra, fingerprint);
    if (state.extra.count("best_val_acc")) {
      best_accuracy = parse_best_accuracy(o.resume, "best_val_acc", state.extra.at("best_val_acc"));
      best_epoch = parse_best_epoch(o.resume, state);
    }
    if (first_epoch > o.epochs) {
      // The run's own length when the checkpoint records it (the schedule depends on it).
      const int64_t planned = state.run.epochs > 0 ? state.run.epochs : first_epoch;
      std::fprintf(stderr,
                   "error: --epochs %lld, but %s has already completed %lld epochs: "
                   "resume with --epochs %lld (nothing was changed in %s)\n",
                   (long long)o.epochs, o.resume.c_str(), (long long)first_epoch,
                   (long long)planned, out.dir.c_str());
      return 1;
    }
    check_resume_settings(o, state.run, run_settings);
    std::printf("resumed from %s after epoch %lld", o.resume.c_str(), (long long)first_epoch);
    if (best_epoch > 0) {
      std::printf(" (best validation accuracy so far %.2f%%, epoch %lld)", 100 * best_accuracy,
                  (long long)best_epoch);
    }
    std::printf("\n");
    // Rows the checkpoint does not know about are dropped: the epochs are trained again.
    if (const auto rows = state.extra.find("train.metrics"); rows != state.extra.end()) {
      for (const auto& [epoch, row] : decode_rows(rows->second)) {
        if (epoch <= first_epoch) recorded_rows[epoch] = row;
      }
    }
    const MetricsRepair repair = reconcile_metrics(out.metrics(), first_epoch, recorded_rows);
    // A checkpoint of an older version records no rows: take them from the repaired file, so
    // that later checkpoints record every epoch.
    {
      std::ifstream file(out.metrics());
      std::ostringstream text;
      text << file.rdbuf();
      for (const auto& [epoch, row] : decode_rows(text.str())) {
        if (epoch <= first_epoch) recorded_rows.try_emplace(epoch, row);
      }
    }
    if (!repair.describe().empty()) {
      std::printf("%s: %s\n", out.metrics().c_str(), repair.describe().c_str());
    }
    if (first_epoch == o.epochs) {
      std::printf("nothing to train: %s already completed all %lld epochs of --epochs %lld "
                  "(the schedule has ended; to train longer, start a new run with --overwrite "
                  "or another --out)\n",
                  o.resume.c_str(), (long long)first_epoch, (long long)o.epochs);
      return 0;
    }
  }
  if (o.overwrite) remove_run_files(out.dir);  // only now that everything else checked out
  MetricsLog metrics(out.metrics());           // a new file gets its header here, on disk

  std::printf("training %s (preset %s, %lld parameters) on %lld images, testing on %lld, ",
              model.describe().c_str(), o.preset.c_str(), (long long)model.parameter_count(),
              (long long)train_set.size(), (long long)test_set.size());
  if (o.validation > 0) {
    std::printf("validating on %lld held out of the training set, ",
                (long long)validation_set.size());
  }
  std::printf("device %s, %lld epochs of %lld batches\n", device_name(device), (long long)o.epochs,
              (long long)steps_per_epoch);
  if (o.profile_steps > 0) profiler::request(o.profile_steps);
  const auto run_start = Clock::now();
  double train_seconds_total = 0.0, last_test_seconds = 0.0, final_test_accuracy = 0.0;
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    if (fast_net && o.whiten_bias_epochs > 0 && epoch >= o.whiten_bias_epochs) {
      fast_net->whiten().bias.set_requires_grad(false);  // frozen: the optimizer skips it
    }
    const float epoch_lr = scheduler.lr();
    ProgressBar progress(epoch + 1, o.epochs, steps_per_epoch);
    if (resident_loader) resident_loader->start_epoch(epoch);
    else train_loader.start_epoch(epoch);
    auto next_batch = [&](DeviceBatch& on_device) {
      if (resident_loader) return resident_loader->next(on_device);
      Batch batch;
      if (!train_loader.next(batch)) return false;
      on_device = uploader.upload(batch);
      return true;
    };
    RunningTotals totals(device);
    double loss_mean = 0.0, accuracy = 0.0;
    int64_t seen = 0, batches = 0;
    for (DeviceBatch on_device; next_batch(on_device);) {
      profiler::begin_step(device);
      const Tensor logits = model.forward(on_device.inputs);
      const Tensor loss = ops::softmax_cross_entropy(logits, on_device.labels, o.label_smoothing);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      scheduler.step();
      if (lookahead) {
        // airbench's schedule: the slow weights follow the fast ones fully at first (alpha
        // 1), and by the end keep 0.95^5 of themselves at each pull-back.
        const double progress = double(optimizer.steps_taken()) / double(total_steps);
        lookahead->set_alpha(float(1.0 - std::pow(0.95, 5) * progress * progress * progress));
        lookahead->step();
      }
      totals.add(loss, logits, on_device.labels);
      profiler::end_step(device);
      seen += on_device.size();
      ++batches;

      if (batches % kReadEvery != 0 && batches != steps_per_epoch) continue;
      loss_mean = totals.loss_sum.item() / seen;
      accuracy = totals.correct.item() / seen;
      if (!std::isfinite(loss_mean)) {
        // Stop before anything is saved, and say where the numbers broke: the first
        // parameter, gradient or buffer that is not finite, and the first layer whose output
        // on this batch is not.
        const std::string state = first_nonfinite_state(model);
        std::string layer;
        {
          NoGradGuard no_grad;
          layer = first_nonfinite_output(model.children(), on_device.inputs);
        }
        std::fprintf(stderr,
                     "\nerror: the training loss became %f by step %lld (batch %lld of epoch "
                     "%lld); first non-finite value: %s; first layer with a non-finite output "
                     "on the last batch: %s. Nothing of this epoch was saved; %s, or resume "
                     "from the last checkpoint\n",
                     loss_mean, (long long)(epoch * steps_per_epoch + batches), (long long)batches,
                     (long long)epoch + 1,
                     state.empty() ? "none among the parameters, gradients and buffers"
                                   : state.c_str(),
                     layer.empty() ? "none" : layer.c_str(), divergence_hint(o).c_str());
        return 1;
      }
      progress.update(batches, seen, loss_mean, accuracy, seconds_since(epoch_start));
    }
    // Every epoch ends on Lookahead's slow weights, as airbench's does: they are what is
    // evaluated, saved and trained on from, and the run's result.
    if (lookahead) lookahead->restore_slow_weights();
    const double train_seconds = seconds_since(epoch_start);
    train_seconds_total += train_seconds;
    // Test-time views cost a forward pass each: the final epoch only (6 passes over the test
    // set at --tta 2); the earlier rows of metrics.csv are of the plain model.
    const auto test_start = Clock::now();
    const EpochResult test =
        evaluate(model, test_loader, uploader, device, epoch + 1 == o.epochs ? o.tta : 0);
    last_test_seconds = seconds_since(test_start);
    // The validation split with the plain model every epoch, so that epochs compare alike.
    const EpochResult validation = validation_loader
                                       ? evaluate(model, *validation_loader, uploader, device, 0)
                                       : EpochResult{};
    const double seconds = seconds_since(epoch_start);
    progress.finish();
    std::printf("epoch %lld/%lld  lr %.4f  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%",
                (long long)epoch + 1, (long long)o.epochs, epoch_lr, loss_mean, 100 * accuracy,
                test.loss, 100 * test.accuracy);
    if (validation_loader) std::printf("  val acc %.2f%%", 100 * validation.accuracy);
    std::printf("  %.0f s (%.0f images/s)\n", seconds, seen / train_seconds);
    std::fflush(stdout);

    // The metrics row before the checkpoints: a run killed in between has a row the
    // checkpoint does not know about, which reconcile_metrics drops on --resume and the
    // resumed run writes again. (The other order would lose the row.)
    std::ostringstream row;
    row << epoch + 1 << ',' << epoch_lr << ',' << loss_mean << ',' << accuracy << ',' << test.loss
        << ',' << test.accuracy << ',' << seconds << ',' << seen / train_seconds << ',';
    if (validation_loader) row << validation.loss << ',' << validation.accuracy;
    else row << ',';  // no validation split: the two columns stay empty
    metrics.append(row.str());
    recorded_rows[epoch + 1] = row.str();
    final_test_accuracy = test.accuracy;

    // A tie goes to the later epoch, which has trained longer.
    const bool new_best = validation_loader && validation.accuracy >= best_accuracy;
    if (new_best) {
      best_accuracy = validation.accuracy;
      best_epoch = epoch + 1;
    }
    CheckpointState state;
    state.epoch = epoch + 1;
    state.run = run_settings;
    record_settings(settings, state.extra);
    state.extra["train.data"] = fingerprint;
    state.extra["train.metrics"] = encode_rows(recorded_rows);
    if (o.validation > 0) {
      state.extra["best_val_acc"] = exact_accuracy(best_accuracy);
      state.extra["best_val_epoch"] = std::to_string(best_epoch);
    }
    if (new_best) save_checkpoint(out.best(), saved_tensors, &optimizer, &scheduler, state);
    save_checkpoint(out.last(), saved_tensors, &optimizer, &scheduler, state);
  }
  profiler::print_if_pending();  // a run shorter than the profiled steps
  std::printf("done in %.1f min; final test accuracy %.2f%%", seconds_since(run_start) / 60.0,
              100 * final_test_accuracy);
  if (best_epoch > 0) {
    std::printf("; best validation accuracy %.2f%% at epoch %lld (best.safetensors)",
                100 * best_accuracy, (long long)best_epoch);
  }
  std::printf("; checkpoints and metrics.csv in %s\n", out.dir.c_str());
  // airbench's measure: the training steps and the final evaluation (TTA included), data
  // already in memory; the per-epoch evaluations before the last are left out.
  std::printf("time to the final accuracy: %.1f s (training steps of this process %.1f s + final "
              "evaluation %.1f s); process wall time %.1f s\n",
              train_seconds_total + last_test_seconds, train_seconds_total, last_test_seconds,
              seconds_since(process_start));
  return 0;
}

// The process survives its surroundings: descriptors 0-2 closed by whoever started it get
// /dev/null (else the first file the run opens, the lock or metrics.csv, would become stdout
// and receive the console output); a reader of the log that goes away (a pipe into `head`)
// or a file-size limit must not kill the run with a signal: the writes then fail, and the
// checked writes of metrics.csv and the checkpoints say so.
void survive_surroundings() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      const int opened = ::open("/dev/null", O_RDWR);  // the lowest free descriptor: `fd`
      if (opened > 2) ::close(opened);                 // (cannot happen; never leak one)
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  survive_surroundings();
  TrainOptions options;
  try {
    options = parse_train_options(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), train_usage(argv[0]).c_str());
    return 2;
  }
  if (options.help) {
    std::printf("%s", train_usage(argv[0]).c_str());
    return 0;
  }
  try {
    return run(options);
  } catch (const UsageError& e) {  // a flag that only the data shows wrong (total_train_steps)
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const OutOfMemory& e) {  // the library's message, and the flag that lowers it
    std::fprintf(stderr, "error: %s; lower --batch-size (now %d)\n", e.what(), options.batch_size);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
