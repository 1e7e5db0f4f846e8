// Trains the reference ResNet (models/resnet.h) on CIFAR-10 and reports test accuracy after
// every epoch. `train_cifar10 --help` lists the options; the defaults are the recipe recorded
// in docs/results/cifar10_cpu.md.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "examples/flag_hints.h"
#include "examples/progress.h"
#include "examples/run_files.h"
#include "examples/train_options.h"
#include "minidl/core/minidl.h"
#include "minidl/data/batch_upload.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/loader.h"
#include "minidl/io/checkpoint.h"
#include "minidl/layers/inspect.h"
#include "minidl/layers/summary.h"
#include "minidl/models/resnet.h"
#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"

using namespace minidl;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// `total`: the run's steps, from total_train_steps (checked there to be enough for the schedule).
std::shared_ptr<Schedule> make_schedule(const TrainOptions& o, int64_t total) {
  if (o.schedule == "onecycle") return one_cycle(total, o.warmup_fraction, 25.0, 1e4);
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

EpochResult evaluate(ResNet& model, DataLoader& loader, BatchUploader& uploader, Device device) {
  NoGradGuard no_grad;
  model.eval();
  loader.start_epoch(0);
  Batch batch;
  RunningTotals totals(device);
  while (loader.next(batch)) {
    const DeviceBatch on_device = uploader.upload(batch);
    const Tensor logits = model.forward(on_device.inputs);
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

CheckpointState load_resume(const TrainOptions& o, ResNet& model, Optimizer& optimizer,
                            LRScheduler& scheduler) {
  try {
    return load_checkpoint(o.resume, model, &optimizer, &scheduler);
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

int run(const TrainOptions& o) {
  manual_seed(o.seed);
  const Device device = device_of(o);

  ResNetConfig config;
  config.dropout = o.dropout;
  ResNet model(config);
  model.to(device);
  if (o.summary) {
    print_summary(model, {1, 3, 32, 32}, std::cout);
    return 0;
  }

  // The output folder and the checkpoint to resume are checked before the data is loaded,
  // so a mistake there costs seconds, not an epoch.
  const RunFolder out{o.out_dir};
  prepare_output_folder(out.dir, o.resume.empty()
                                     ? (o.overwrite ? ExistingRun::Overwrite : ExistingRun::Refuse)
                                     : ExistingRun::Resume);
  if (!o.resume.empty()) check_resume_file(o.resume);

  const Cifar10 train_set = load_split(o, Split::Train);
  const Cifar10 test_set = load_split(o, Split::Test);
  Cifar10Transform augmented;
  augmented.augment = true;
  augmented.augment_options.cutout_size = o.cutout;
  const Cifar10Dataset train_data(train_set, augmented), test_data(test_set);
  DataLoader train_loader(train_data, LoaderOptions().batch_size(o.batch_size).seed(o.seed));
  DataLoader test_loader(test_data, LoaderOptions().batch_size(500).shuffle(false));

  BatchUploader uploader(device, config.num_classes);
  SGD optimizer(
      decay_groups(model.parameters()),
      SgdOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay).nesterov(o.nesterov));
  LRScheduler scheduler(optimizer, make_schedule(o, total_train_steps(o, train_set.size())));
  // What a checkpoint records of the run's shape: a resume with another batch size or length
  // would silently stretch or shift the learning-rate schedule (it counts steps).
  const RunSettings run_settings{o.batch_size, train_loader.batches_per_epoch(), o.epochs};

  int64_t first_epoch = 0;
  double best_accuracy = 0.0;
  if (!o.resume.empty()) {
    const CheckpointState state = load_resume(o, model, optimizer, scheduler);
    default_generator() = *state.generator;  // draws continue as if the run never stopped
    first_epoch = state.epoch;
    if (state.extra.count("best_test_acc")) {
      best_accuracy = parse_best_accuracy(o.resume, state.extra.at("best_test_acc"));
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
    std::printf("resumed from %s after epoch %lld (best test accuracy so far %.2f%%)\n",
                o.resume.c_str(), (long long)first_epoch, 100 * best_accuracy);
    // Rows the checkpoint does not know about are dropped: the epochs are trained again.
    const MetricsRepair repair = reconcile_metrics(out.metrics(), first_epoch);
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

  std::printf("training ResNet (%lld parameters) on %lld images, testing on %lld, device %s, "
              "%lld epochs of %lld batches\n",
              (long long)model.parameter_count(), (long long)train_set.size(),
              (long long)test_set.size(), device_name(device), (long long)o.epochs,
              (long long)train_loader.batches_per_epoch());
  if (o.profile_steps > 0) profiler::request(o.profile_steps);
  const auto run_start = Clock::now();
  for (int64_t epoch = first_epoch; epoch < o.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    const float epoch_lr = scheduler.lr();
    ProgressBar progress(epoch + 1, o.epochs, train_loader.batches_per_epoch());
    train_loader.start_epoch(epoch);
    Batch batch;
    RunningTotals totals(device);
    double loss_mean = 0.0, accuracy = 0.0;
    int64_t seen = 0, batches = 0;
    while (train_loader.next(batch)) {
      profiler::begin_step(device);
      const DeviceBatch on_device = uploader.upload(batch);
      const Tensor logits = model.forward(on_device.inputs);
      const Tensor loss = ops::softmax_cross_entropy(logits, on_device.labels, o.label_smoothing);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      scheduler.step();
      totals.add(loss, logits, on_device.labels);
      profiler::end_step(device);
      seen += on_device.size();
      ++batches;

      if (batches % kReadEvery != 0 && batches != train_loader.batches_per_epoch()) continue;
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
                     "on the last batch: %s. Nothing of this epoch was saved; lower --lr (now "
                     "%g) or resume from the last checkpoint\n",
                     loss_mean, (long long)(epoch * train_loader.batches_per_epoch() + batches),
                     (long long)batches, (long long)epoch + 1,
                     state.empty() ? "none among the parameters, gradients and buffers"
                                   : state.c_str(),
                     layer.empty() ? "none" : layer.c_str(), o.lr);
        return 1;
      }
      progress.update(batches, seen, loss_mean, accuracy, seconds_since(epoch_start));
    }
    const double train_seconds = seconds_since(epoch_start);
    const EpochResult test = evaluate(model, test_loader, uploader, device);
    const double seconds = seconds_since(epoch_start);
    progress.finish();
    std::printf("epoch %lld/%lld  lr %.4f  train loss %.4f acc %.2f%%  test loss %.4f acc "
                "%.2f%%  %.0f s (%.0f images/s)\n",
                (long long)epoch + 1, (long long)o.epochs, epoch_lr, loss_mean, 100 * accuracy,
                test.loss, 100 * test.accuracy, seconds, seen / train_seconds);
    std::fflush(stdout);

    // The metrics row before the checkpoints: a run killed in between has a row the
    // checkpoint does not know about, which reconcile_metrics drops on --resume and the
    // resumed run writes again. (The other order would lose the row.)
    std::ostringstream row;
    row << epoch + 1 << ',' << epoch_lr << ',' << loss_mean << ',' << accuracy << ',' << test.loss
        << ',' << test.accuracy << ',' << seconds << ',' << seen / train_seconds;
    metrics.append(row.str());

    best_accuracy = std::max(best_accuracy, test.accuracy);
    CheckpointState state;
    state.epoch = epoch + 1;
    state.run = run_settings;
    state.extra["best_test_acc"] = std::to_string(best_accuracy);
    if (test.accuracy >= best_accuracy)
      save_checkpoint(out.best(), model, &optimizer, &scheduler, state);
    save_checkpoint(out.last(), model, &optimizer, &scheduler, state);
  }
  profiler::print_if_pending();  // a run shorter than the profiled steps
  std::printf("done in %.1f min; best test accuracy %.2f%%; checkpoints and metrics.csv in %s\n",
              seconds_since(run_start) / 60.0, 100 * best_accuracy, out.dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
