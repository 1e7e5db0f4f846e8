// The reference ResNet's training step end to end (docs/design.md, section 5, the performance
// protocol): what a user of minidl waits for per batch, timed step by step.
// bench/compare_pytorch.py runs it next to PyTorch's same model and step on the same machine
// and prints the ratios.
//
//   build/bench/bench_train_step                                  CPU, batch 128, training
//   build/bench/bench_train_step --threads 1 --steps 8 --warmup 2
//   build/bench/bench_train_step --device cuda --batch 128,512 --mode both --csv step.csv
//   build/bench/bench_train_step --model fastnet --batch 512   the fast presets' network
//
// The step is examples/train_cifar10.cpp's: the batch uploaded to the device (BatchUploader:
// pinned staging and an asynchronous copy, as PyTorch's pin_memory + non_blocking), forward,
// softmax cross-entropy with label smoothing 0.1, zero_grad, backward, SGD (Nesterov momentum
// 0.9, weight decay 5e-4 on conv and linear weights, none on batch norm), and the loss read
// back with item() every step, which waits for the device, as torch_peer_bench.py's
// loss.item() does (the example itself reads it back only every 20 steps). The learning rate stays
// at 0.05 (a schedule only changes a float between steps). The data is synthetic (normal images
// from a fixed seed, labels i % 10): a step's cost does not depend on the values. Inference (--mode
// infer): eval(), the forward pass under NoGradGuard, and one device synchronisation at the end of
// each step.
//
// Each batch size and mode gets a freshly built model. Every step is timed on its own; the
// report gives the median, min and max over the timed steps (after --warmup untimed ones),
// images/s from the median, and peak memory: the allocator's peak bytes in use while the
// model was built and run (for CUDA the device allocator's, comparable to
// torch.cuda.max_memory_allocated) and the process's peak resident set (getrusage). The
// latter is a high-water mark of the whole process, so with several batch sizes in one run
// it is the largest so far: compare_pytorch.py runs one batch size per process on the CPU.
//
// CSV (--csv FILE): "# device ..." and "# model ..." lines, a header, then one row per
// batch size and mode:
//   device,mode,batch,threads,steps,median_ms,min_ms,max_ms,images_per_s,allocator_peak_mib,
//   peak_rss_mib,last_loss        (last_loss is empty for inference)
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "minidl/core/allocator.h"
#include "minidl/core/minidl.h"
#include "minidl/data/batch_upload.h"
#include "minidl/models/fast_net.h"
#include "minidl/models/resnet.h"
#include "minidl/optim/optimizer.h"

#if MINIDL_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

using namespace minidl;

namespace {

// The step's hyperparameters, as in examples/train_cifar10.cpp (and torch_peer_bench.py's lr).
constexpr float kLearningRate = 0.05f;
constexpr float kMomentum = 0.9f;
constexpr float kWeightDecay = 5e-4f;
constexpr float kLabelSmoothing = 0.1f;
constexpr uint64_t kModelSeed = 1;
constexpr uint64_t kDataSeed = 2;

// ---- options ------------------------------------------------------------------------------

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string device = "cpu";
  std::string model = "resnet";  // or "fastnet" (models/fast_net.h; its stem not frozen here)
  std::vector<int> batches{128};
  int steps = 20;
  int warmup = 3;
  int threads = 0;  // 0: OpenMP's default (OMP_NUM_THREADS, else one per core)
  bool train = true, infer = false;
  std::string csv_path;
  bool help = false;
};

std::string usage() {
  return "usage: bench_train_step [options]\n"
         "Times the reference ResNet's training step (or inference) on synthetic data.\n\n"
         "  --device cpu|cuda     where to run (default cpu)\n"
         "  --model resnet|fastnet   the reference ResNet (default) or the presets' FastNet\n"
         "  --batch N[,N...]      batch sizes (default 128)\n"
         "  --steps N             timed steps per batch size (default 20)\n"
         "  --warmup N            untimed steps before them (default 3)\n"
         "  --threads N           OpenMP threads for the CPU kernels (default: OpenMP's)\n"
         "  --mode train|infer|both   what to time (default train)\n"
         "  --csv FILE            also write the results as CSV\n"
         "  --help                this text\n";
}

int parse_int(const std::string& flag, const std::string& text, int low, int high) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < low || value > high) {
    throw UsageError(flag + " expects an integer from " + std::to_string(low) + " to " +
                     std::to_string(high) + ", got '" + text + "'");
  }
  return int(value);
}

std::vector<int> parse_batches(const std::string& text) {
  std::vector<int> batches;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    batches.push_back(parse_int("--batch", item, 1, 65536));
  }
  if (batches.empty()) throw UsageError("--batch needs at least one batch size");
  return batches;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    // "--flag VALUE" or "--flag=VALUE"
    auto value_of = [&](const std::string& flag, std::string* value) {
      if (arg == flag) {
        if (i + 1 >= argc) throw UsageError(flag + " needs a value");
        *value = argv[++i];
        return true;
      }
      if (arg.rfind(flag + "=", 0) == 0) {
        *value = arg.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    std::string value;
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (value_of("--device", &value)) {
      if (value != "cpu" && value != "cuda") {
        throw UsageError("--device expects cpu or cuda, got '" + value + "'");
      }
      o.device = value;
    } else if (value_of("--model", &value)) {
      if (value != "resnet" && value != "fastnet")
        throw UsageError("--model expects resnet or fastnet, got '" + value + "'");
      o.model = value;
    } else if (value_of("--batch", &value)) {
      o.batches = parse_batches(value);
    } else if (value_of("--steps", &value)) {
      o.steps = parse_int("--steps", value, 1, 1000000);
    } else if (value_of("--warmup", &value)) {
      o.warmup = parse_int("--warmup", value, 0, 1000000);
    } else if (value_of("--threads", &value)) {
      o.threads = parse_int("--threads", value, 1, 1024);
    } else if (value_of("--mode", &value)) {
      if (value != "train" && value != "infer" && value != "both") {
        throw UsageError("--mode expects train, infer or both, got '" + value + "'");
      }
      o.train = value != "infer";
      o.infer = value != "train";
    } else if (value_of("--csv", &value)) {
      o.csv_path = value;
    } else {
      throw UsageError("unknown option '" + arg + "'");
    }
  }
  return o;
}

// ---- the machine --------------------------------------------------------------------------

// "AMD EPYC 9R14" from /proc/cpuinfo's first "model name" line.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::string device_description(Device device) {
  const std::string threads = std::to_string(omp_get_max_threads()) + " OpenMP threads";
  if (device == Device::CUDA) {
    return "cuda, " + cuda_status() + "; host " + cpu_model() + ", " + threads;
  }
  return "cpu, " + cpu_model() + ", " + threads;
}

// Waits for the work queued on the device. minidl's CUDA ops return once their kernels are
// launched, so without this an inference step would be timed by its launches alone.
void synchronize(Device device) {
#if MINIDL_WITH_CUDA
  if (device == Device::CUDA) {
    const cudaError_t status = cudaDeviceSynchronize();
    if (status != cudaSuccess) {
      throw std::runtime_error(std::string("cudaDeviceSynchronize: ") + cudaGetErrorString(status));
    }
  }
#else
  (void)device;  // a CPU op has finished when it returns
#endif
}

double mib(size_t bytes) { return double(bytes) / (1 << 20); }

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024;  // Linux reports KiB
}

// ---- one measurement ----------------------------------------------------------------------

struct Result {
  const char* mode;
  int batch;
  std::vector<double> step_ms;  // sorted
  double allocator_peak_mib, peak_rss_mib;
  double last_loss;  // NaN for inference

  double median_ms() const {
    const size_t n = step_ms.size();
    return n % 2 ? step_ms[n / 2] : 0.5 * (step_ms[n / 2 - 1] + step_ms[n / 2]);
  }
  double images_per_second() const { return batch * 1000.0 / median_ms(); }
};

// Calls step() o.warmup times untimed, then o.steps times timing each call; the milliseconds,
// sorted.
std::vector<double> time_steps(const Options& o, const std::function<void()>& step) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < o.warmup; ++i) step();
  std::vector<double> ms;
  for (int i = 0; i < o.steps; ++i) {
    const auto start = Clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

// On the host: each step uploads it to the device, as training does.
Batch synthetic_batch(int batch) {
  Generator gen(kDataSeed);
  Batch b;
  b.inputs = Tensor::normal({batch, 3, 32, 32}, 0.f, 1.f, gen);
  for (int i = 0; i < batch; ++i) b.labels.push_back(i % 10);
  return b;
}

// The model of --model, freshly initialized from kModelSeed.
std::unique_ptr<Module> make_model(const Options& o) {
  manual_seed(kModelSeed);
  if (o.model == "fastnet") return std::make_unique<FastNet>();
  return std::make_unique<ResNet>();
}

Result measure_training(const Options& o, Device device, int batch) {
  const Batch data = synthetic_batch(batch);
  BatchUploader uploader(device, 10);
  reset_peak_memory_stats(device);
  const std::unique_ptr<Module> net = make_model(o);
  Module& model = *net;
  model.to(device);
  SGD optimizer(
      decay_groups(model.parameters()),
      SgdOptions(kLearningRate).momentum(kMomentum).weight_decay(kWeightDecay).nesterov(true));
  double last_loss = 0;
  std::vector<double> ms = time_steps(o, [&] {
    profiler::begin_step(device);
    const DeviceBatch on_device = uploader.upload(data);
    const Tensor logits = model.forward(on_device.inputs);
    const Tensor loss = ops::softmax_cross_entropy(logits, on_device.labels, kLabelSmoothing);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    profiler::end_step(device);  // before item(): a profile shows the step without the wait
    last_loss = loss.item();
  });
  const double allocator_peak = mib(allocator_stats(device).peak_bytes_in_use);
  return {"train", batch, std::move(ms), allocator_peak, peak_rss_mib(), last_loss};
}

Result measure_inference(const Options& o, Device device, int batch) {
  const Batch data = synthetic_batch(batch);
  BatchUploader uploader(device, 10);
  reset_peak_memory_stats(device);
  const std::unique_ptr<Module> net = make_model(o);
  Module& model = *net;
  model.to(device);
  model.eval();
  NoGradGuard no_grad;
  std::vector<double> ms = time_steps(o, [&] {
    model.forward(uploader.upload(data).inputs);
    synchronize(device);
  });
  const double allocator_peak = mib(allocator_stats(device).peak_bytes_in_use);
  return {"infer", batch, std::move(ms), allocator_peak, peak_rss_mib(), NAN};
}

// ---- reporting ----------------------------------------------------------------------------

void print_header() {
  std::printf("%-6s %6s %6s %10s %10s %10s %10s %15s %13s\n", "mode", "batch", "steps", "median ms",
              "min ms", "max ms", "images/s", "alloc peak MiB", "peak RSS MiB");
}

void print_row(const Result& r) {
  std::printf("%-6s %6d %6zu %10.2f %10.2f %10.2f %10.1f %15.1f %13.1f\n", r.mode, r.batch,
              r.step_ms.size(), r.median_ms(), r.step_ms.front(), r.step_ms.back(),
              r.images_per_second(), r.allocator_peak_mib, r.peak_rss_mib);
  std::fflush(stdout);
}

class CsvFile {
 public:
  CsvFile(const std::string& path, const std::string& device_line, const std::string& model,
          int64_t parameters) {
    if (path.empty()) return;
    out_.open(path);
    if (!out_) throw std::runtime_error("cannot write " + path);
    out_ << "# device: " << device_line << "\n# model: " << model << " " << parameters
         << " parameters\n"
         << "device,mode,batch,threads,steps,median_ms,min_ms,max_ms,images_per_s,"
            "allocator_peak_mib,peak_rss_mib,last_loss\n";
  }

  void row(const char* device, const Result& r) {
    if (!out_.is_open()) return;
    char line[512];
    std::snprintf(line, sizeof line, "%s,%s,%d,%d,%zu,%.4f,%.4f,%.4f,%.2f,%.2f,%.2f,", device,
                  r.mode, r.batch, omp_get_max_threads(), r.step_ms.size(), r.median_ms(),
                  r.step_ms.front(), r.step_ms.back(), r.images_per_second(), r.allocator_peak_mib,
                  r.peak_rss_mib);
    out_ << line;
    if (!std::isnan(r.last_loss)) out_ << r.last_loss;
    out_ << std::endl;  // flushed: a run cut short keeps the rows it measured
  }

 private:
  std::ofstream out_;
};

int run(const Options& o) {
  if (o.device == "cuda" && !cuda_available()) {
    std::string reason = cuda_status();  // "no usable GPU: <why>" or "built without CUDA"
    const std::string prefix = "no usable GPU: ";
    if (reason.rfind(prefix, 0) == 0) reason.erase(0, prefix.size());
    std::printf("bench_train_step: no usable GPU for --device cuda (%s); nothing measured\n",
                reason.c_str());
    return 0;
  }
  const Device device = parse_device(o.device);
  if (o.threads > 0) omp_set_num_threads(o.threads);

  const int64_t parameters = make_model(o)->parameter_count();
  const std::string model_name = o.model == "fastnet" ? "FastNet" : "ResNet";
  const std::string device_line = device_description(device);
  std::printf("bench_train_step: %s (%lld parameters), synthetic 3x32x32 "
              "images, %d warm-up and %d timed steps per row\n",
              model_name.c_str(), (long long)parameters, o.warmup, o.steps);
  std::printf("device: %s\n\n", device_line.c_str());
  CsvFile csv(o.csv_path, device_line, model_name, parameters);
  print_header();
  for (int batch : o.batches) {
    if (o.train) {
      const Result r = measure_training(o, device, batch);
      print_row(r);
      csv.row(o.device.c_str(), r);
    }
    if (o.infer) {
      const Result r = measure_inference(o, device, batch);
      print_row(r);
      csv.row(o.device.c_str(), r);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), usage().c_str());
    return 2;
  }
  if (options.help) {
    std::printf("%s", usage().c_str());
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
