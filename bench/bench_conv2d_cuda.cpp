// minidl's CUDA convolution against cuDNN's at the reference ResNet's shapes (docs/design.md,
// sections 2 and 5: the reference model, the performance protocol): the 11 distinct
// convolutions, batch 128 and 512, forward, backward-data and backward-weight. For each row
// both libraries run alternately on the same inputs, each call timed with CUDA events after a
// warm-up and with the L2 cache flushed before it, so neither finds in cache what the other
// left there. The time is the median of the repeats.
//
//   build/bench/bench_conv2d_cuda                           every row, then the model sums
//   build/bench/bench_conv2d_cuda --batch 128 --layer b1_3x3_64,b4b_3x3_512 --csv conv.csv
//   build/bench/bench_conv2d_cuda --sweep --csv sweep.csv   minidl under every tiling
//   build/bench/bench_conv2d_cuda --versions --batch 128    the teaching path: v0 direct,
//                                                            v1 tiled and fast beside cuDNN
//
// cuDNN runs in fp32 with CUDNN_FMA_MATH (plain fp32 fused multiply-adds, the arithmetic
// minidl does; CUDNN_DEFAULT_MATH would let it use TF32 tensor cores on sm_80 and newer) and
// with the algorithm its own search measures fastest (cudnnFind*AlgorithmEx runs them all), as
// PyTorch does with torch.backends.cudnn.benchmark = True and TF32 off; the search's best three
// are timed again and the fastest kept, because one search sometimes ranks a 2x slower one
// first.
//
// CSV (--csv FILE or $MINIDL_BENCH_CSV), after a "# device ..." line:
//   conv,<layer>,<pass>,<batch>,<minidl_ms>,<cudnn_ms>,<ratio>,<tile_m>x<tile_n>x<slices>[w]
//     (a trailing w: Winograd; without it, the implicit GEMM)
//   sum,<model|selected>,<pass>,<batch>,<minidl_ms>,<cudnn_ms>,<ratio>,
//   sweep,<layer>,<pass>,<batch>,<tile_m>,<tile_n>,<slices>,<ms>,<gemm|winograd>  (--sweep)
//   auto,<layer>,<pass>,<batch>,<tile_m>,<tile_n>,<slices>,<ms>,<gemm|winograd>
//     (--sweep: the automatic choice)
//   version,<layer>,<pass>,<batch>,<v0_direct_ms>,<v1_tiled_ms>,<fast_ms>,<cudnn_ms>  (--versions)
//   version_sum,model,<pass>,<batch>,<v0_direct_ms>,<v1_tiled_ms>,<fast_ms>,<cudnn_ms>
// ratio = cudnn_ms / minidl_ms: above 1 means minidl is faster.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "minidl/kernels/conv2d.h"
#include "minidl/kernels/conv2d_direct.h"
#include "minidl/kernels/conv2d_tiled.h"

namespace {

using minidl::kernels::Conv2dAlgorithm;
using minidl::kernels::Conv2dPass;
using minidl::kernels::Conv2dPlan;
using minidl::kernels::Conv2dShape;
namespace conv = minidl::kernels::cuda;

// ---- what is measured ---------------------------------------------------------------------

struct Layer {
  const char* name;
  int in_channels, in_hw, out_channels, kernel, stride, pad;
};

// Every distinct convolution of the reference model (input 32x32), named as in the baseline
// files of ../shared/gpu/ and in torch_peer_bench.py.
const Layer kLayers[] = {
    {"stem7x7s2", 3, 32, 64, 7, 2, 3},      {"b1_3x3_64", 64, 16, 64, 3, 1, 1},
    {"b2a_3x3s2", 64, 16, 128, 3, 2, 1},    {"b2b_3x3_128", 128, 8, 128, 3, 1, 1},
    {"b2proj_1x1s2", 64, 16, 128, 1, 2, 0}, {"b3a_3x3s2", 128, 8, 256, 3, 2, 1},
    {"b3b_3x3_256", 256, 4, 256, 3, 1, 1},  {"b3proj_1x1s2", 128, 8, 256, 1, 2, 0},
    {"b4a_3x3s2", 256, 4, 512, 3, 2, 1},    {"b4b_3x3_512", 512, 2, 512, 3, 1, 1},
    {"b4proj_1x1s2", 256, 4, 512, 1, 2, 0},
};
constexpr int kLayerCount = sizeof(kLayers) / sizeof(kLayers[0]);
// Training never needs the gradient of the input image, so the stem's backward-data pass
// never runs in a training step; the model sums are given with and without it.
const std::string kStem = "stem7x7s2";

const Conv2dPass kPasses[] = {Conv2dPass::Forward, Conv2dPass::BackwardData,
                              Conv2dPass::BackwardWeight};

const char* pass_name(Conv2dPass pass) {
  switch (pass) {
    case Conv2dPass::Forward: return "fwd";
    case Conv2dPass::BackwardData: return "bwd_data";
    case Conv2dPass::BackwardWeight: return "bwd_weight";
  }
  return "?";
}

Conv2dShape shape_of(const Layer& l, int batch) {
  Conv2dShape s;
  s.batch = batch;
  s.in_channels = l.in_channels;
  s.in_h = s.in_w = l.in_hw;
  s.out_channels = l.out_channels;
  s.kernel_h = s.kernel_w = l.kernel;
  s.stride_h = s.stride_w = l.stride;
  s.pad_h = s.pad_w = l.pad;
  return s;
}

// How many of a kernel's taps along one axis reach one input position, at most: with stride
// s only every s-th tap lands on an output position.
int taps_reaching_input(int kernel, int stride, int pad) {
  int most = 0;
  for (int residue = 0; residue < stride; ++residue) {
    int taps = 0;
    for (int r = 0; r < kernel; ++r) taps += (residue + pad - r) % stride == 0;
    most = std::max(most, taps);
  }
  return most;
}

// The length of the longest sum an element of the pass's GEMM is (its "K"): what a split-K
// tiling divides into slices. Winograd's 16 GEMMs reduce over channels, or over 2x2 tiles.
int64_t reduction_length(const Conv2dShape& s, Conv2dPass pass, Conv2dAlgorithm algorithm) {
  const bool winograd = algorithm == Conv2dAlgorithm::Winograd;
  switch (pass) {
    case Conv2dPass::Forward:
      return winograd ? s.in_channels : int64_t(s.in_channels) * s.kernel_h * s.kernel_w;
    case Conv2dPass::BackwardData:
      return winograd
                 ? s.out_channels
                 : int64_t(s.out_channels) * taps_reaching_input(s.kernel_h, s.stride_h, s.pad_h) *
                       taps_reaching_input(s.kernel_w, s.stride_w, s.pad_w);
    case Conv2dPass::BackwardWeight:
      return winograd ? int64_t(s.batch) * ((s.out_h() + 1) / 2) * ((s.out_w() + 1) / 2)
                      : int64_t(s.batch) * s.out_h() * s.out_w();
  }
  return 0;
}

const char* algorithm_name(Conv2dAlgorithm a) {
  return a == Conv2dAlgorithm::Winograd ? "winograd" : "gemm";
}

std::string tiling_str(const Conv2dPlan& t) {
  return std::to_string(t.tile_m) + "x" + std::to_string(t.tile_n) + "x" +
         std::to_string(t.slices) + (t.algorithm == Conv2dAlgorithm::Winograd ? "w" : "");
}

bool same_tiling(const Conv2dPlan& a, const Conv2dPlan& b) {
  return a.tile_m == b.tile_m && a.tile_n == b.tile_n && a.slices == b.slices &&
         a.algorithm == b.algorithm;
}

// Above this relative error a row is reported as a mismatch: both sides compute the same
// fp32 sums in different orders (or, for cuDNN's FFT and Winograd algorithms, by other
// formulas), which differ by about 1e-6..1e-4, never by 1e-3.
constexpr double kMaxRelativeError = 1e-3;

// ---- options ------------------------------------------------------------------------------

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  bool help = false;
  bool sweep = false;
  bool versions = false;
  std::string csv_path;
  std::vector<int> batches{128, 512};
  std::vector<const Layer*> layers;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

const Layer* find_layer(const std::string& name) {
  for (const Layer& l : kLayers) {
    if (name == l.name) return &l;
  }
  std::string known;
  for (const Layer& l : kLayers) known += std::string(" ") + l.name;
  throw UsageError("unknown layer '" + name + "'; the layers are" + known);
}

int parse_batch(const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < 1 || value > 65536) {
    throw UsageError("--batch expects positive integers, got '" + text + "'");
  }
  return int(value);
}

std::string usage() {
  return "usage: bench_conv2d_cuda [options] [--benchmark_* flags of Google Benchmark]\n"
         "Times minidl's CUDA convolution against cuDNN's (fp32, no TF32) at the reference\n"
         "ResNet's 11 convolutions, each pass, side by side.\n\n"
         "  --batch N[,N...]     batch sizes (default 128,512)\n"
         "  --layer L[,L...]     only these layers (e.g. stem7x7s2,b1_3x3_64)\n"
         "  --csv FILE           also write the rows as CSV (default $MINIDL_BENCH_CSV)\n"
         "  --sweep              time minidl under every tiling instead (no cuDNN)\n"
         "  --versions           time the teaching path instead: v0 direct, v1 tiled, fast\n"
         "                       and cuDNN, each pass of each layer\n"
         "  --help               this text\n";
}

// Our flags are taken out of argv; what is left (--benchmark_*) is for Google Benchmark.
Options parse_options(int& argc, char** argv) {
  Options o;
  if (const char* csv = std::getenv("MINIDL_BENCH_CSV")) o.csv_path = csv;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    // "--flag VALUE" or "--flag=VALUE"
    auto value_of = [&](const std::string& flag) -> std::optional<std::string> {
      if (arg == flag) {
        if (i + 1 >= argc) throw UsageError(flag + " needs a value");
        return std::string(argv[++i]);
      }
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--sweep") {
      o.sweep = true;
    } else if (arg == "--versions") {
      o.versions = true;
    } else if (auto csv = value_of("--csv")) {
      o.csv_path = *csv;
    } else if (auto batches = value_of("--batch")) {
      o.batches.clear();
      for (const std::string& b : split_commas(*batches)) o.batches.push_back(parse_batch(b));
      if (o.batches.empty()) throw UsageError("--batch needs at least one batch size");
    } else if (auto layers = value_of("--layer")) {
      for (const std::string& name : split_commas(*layers)) o.layers.push_back(find_layer(name));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (o.layers.empty()) {
    for (const Layer& l : kLayers) o.layers.push_back(&l);
  }
  return o;
}

// ---- CUDA and cuDNN plumbing --------------------------------------------------------------

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

void check_cudnn(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) {
    throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(status));
  }
}

struct CudaFree {
  void operator()(float* p) const { cudaFree(p); }
};
using DeviceFloats = std::unique_ptr<float, CudaFree>;

DeviceFloats device_floats(size_t count) {
  float* p = nullptr;
  if (count > 0) check_cuda(cudaMalloc(&p, count * sizeof(float)), "cudaMalloc");
  return DeviceFloats(p);
}

DeviceFloats random_device_floats(size_t count, unsigned seed) {
  std::minstd_rand gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> host(count);
  for (float& v : host) v = dist(gen);
  DeviceFloats d = device_floats(count);
  check_cuda(cudaMemcpy(d.get(), host.data(), count * sizeof(float), cudaMemcpyHostToDevice),
             "cudaMemcpy");
  return d;
}

std::vector<float> to_host(const float* d, size_t count) {
  std::vector<float> host(count);
  check_cuda(cudaMemcpy(host.data(), d, count * sizeof(float), cudaMemcpyDeviceToHost),
             "cudaMemcpy");
  return host;
}

// ||got - want|| / ||want||, in double. NaN when got has an unwritten (NaN) element.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = double(got[i]) - want[i];
    diff += d * d;
    norm += double(want[i]) * want[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

double median(std::vector<float> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// Times one call on the default stream (the one minidl and our cuDNN handle use) with CUDA
// events. Before each call it overwrites a buffer twice the size of the L2 cache, so every
// call starts with a cold cache, as it does inside a training step, where other layers'
// tensors have passed through L2 in between.
class ColdCacheTimer {
 public:
  ColdCacheTimer() {
    int device = 0, l2_bytes = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device), "L2 size");
    flush_bytes_ = 2 * size_t(std::max(l2_bytes, 1 << 20));
    flush_ = device_floats(flush_bytes_ / sizeof(float));
    check_cuda(cudaEventCreate(&start_), "cudaEventCreate");
    check_cuda(cudaEventCreate(&stop_), "cudaEventCreate");
  }
  ~ColdCacheTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  ColdCacheTimer(const ColdCacheTimer&) = delete;
  ColdCacheTimer& operator=(const ColdCacheTimer&) = delete;

  template <typename Call>
  float milliseconds(Call&& call) {
    check_cuda(cudaMemsetAsync(flush_.get(), 0, flush_bytes_), "L2 flush");
    check_cuda(cudaEventRecord(start_), "cudaEventRecord");
    call();
    check_cuda(cudaEventRecord(stop_), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop_), "the timed call");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
    return ms;
  }

 private:
  size_t flush_bytes_ = 0;
  DeviceFloats flush_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// ---- one row: a layer, a batch and a pass -------------------------------------------------

// The operands of one pass. x, w and dy are all filled with random values (the pass reads
// two of them); the pass's output (y, dx or dw) has one buffer per library so they can be
// compared.
struct Operands {
  Conv2dShape s;
  Conv2dPass pass;
  size_t x_size, w_size, y_size, out_size;
  DeviceFloats x, w, dy, out_minidl, out_cudnn;

  Operands(const Layer& layer, int batch, Conv2dPass p) : s(shape_of(layer, batch)), pass(p) {
    x_size = size_t(s.batch) * s.in_channels * s.in_h * s.in_w;
    w_size = size_t(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
    y_size = size_t(s.batch) * s.out_channels * s.out_h() * s.out_w();
    out_size = pass == Conv2dPass::Forward        ? y_size
               : pass == Conv2dPass::BackwardData ? x_size
                                                  : w_size;
    x = random_device_floats(x_size, 1);
    w = random_device_floats(w_size, 2);
    dy = random_device_floats(y_size, 3);
    out_minidl = device_floats(out_size);
    out_cudnn = device_floats(out_size);
  }
};

void run_minidl(const Operands& o, float* workspace, const Conv2dPlan& tiling) {
  switch (o.pass) {
    case Conv2dPass::Forward:
      conv::conv2d_forward(o.s, tiling, o.x.get(), o.w.get(), nullptr, o.out_minidl.get(),
                           workspace);
      break;
    case Conv2dPass::BackwardData:
      conv::conv2d_backward_data(o.s, tiling, o.dy.get(), o.w.get(), o.out_minidl.get(), workspace);
      break;
    case Conv2dPass::BackwardWeight:
      conv::conv2d_backward_weight(o.s, tiling, o.x.get(), o.dy.get(), o.out_minidl.get(), nullptr,
                                   workspace);
      break;
  }
}

// cuDNN's side of one row: descriptors for the tensors and the convolution, and the algorithm
// found fastest among the best three of cuDNN's own search that ran in FMA math within the
// workspace.
class CudnnConvolution {
 public:
  CudnnConvolution(cudnnHandle_t handle, const Operands& o, void* workspace, size_t workspace_bytes)
      : handle_(handle), o_(o), workspace_(workspace) {
    const Conv2dShape& s = o.s;
    check_cudnn(cudnnCreateTensorDescriptor(&x_desc_), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&y_desc_), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateFilterDescriptor(&w_desc_), "cudnnCreateFilterDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&conv_desc_), "cudnnCreateConvolutionDescriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.batch,
                                           s.in_channels, s.in_h, s.in_w),
                "x descriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.batch,
                                           s.out_channels, s.out_h(), s.out_w()),
                "y descriptor");
    check_cudnn(cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                           s.out_channels, s.in_channels, s.kernel_h, s.kernel_w),
                "w descriptor");
    check_cudnn(cudnnSetConvolution2dDescriptor(conv_desc_, s.pad_h, s.pad_w, s.stride_h,
                                                s.stride_w, 1, 1, CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT),
                "convolution descriptor");
    check_cudnn(cudnnSetConvolutionMathType(conv_desc_, CUDNN_FMA_MATH), "math type");
    find_fastest(workspace_bytes);
  }
  ~CudnnConvolution() {
    cudnnDestroyConvolutionDescriptor(conv_desc_);
    cudnnDestroyFilterDescriptor(w_desc_);
    cudnnDestroyTensorDescriptor(y_desc_);
    cudnnDestroyTensorDescriptor(x_desc_);
  }
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  // y = conv(x, w), dx = conv_backward_data(dy, w) or dw = conv_backward_filter(x, dy), into
  // out_cudnn, overwriting it (beta = 0).
  void run() const {
    const float one = 1.f, zero = 0.f;
    float* out = o_.out_cudnn.get();
    switch (o_.pass) {
      case Conv2dPass::Forward:
        check_cudnn(cudnnConvolutionForward(handle_, &one, x_desc_, o_.x.get(), w_desc_, o_.w.get(),
                                            conv_desc_, forward_algo_, workspace_, algo_bytes_,
                                            &zero, y_desc_, out),
                    "cudnnConvolutionForward");
        break;
      case Conv2dPass::BackwardData:
        check_cudnn(cudnnConvolutionBackwardData(handle_, &one, w_desc_, o_.w.get(), y_desc_,
                                                 o_.dy.get(), conv_desc_, data_algo_, workspace_,
                                                 algo_bytes_, &zero, x_desc_, out),
                    "cudnnConvolutionBackwardData");
        break;
      case Conv2dPass::BackwardWeight:
        check_cudnn(cudnnConvolutionBackwardFilter(handle_, &one, x_desc_, o_.x.get(), y_desc_,
                                                   o_.dy.get(), conv_desc_, filter_algo_,
                                                   workspace_, algo_bytes_, &zero, w_desc_, out),
                    "cudnnConvolutionBackwardFilter");
        break;
    }
  }

  // e.g. "implicit_precomp_gemm, 0.1 MiB"
  std::string algorithm() const {
    char text[96];
    std::snprintf(text, sizeof text, "%s, %.1f MiB", algo_name_, algo_bytes_ / 1048576.0);
    return text;
  }

 private:
  // An algorithm cuDNN's search returned: its number (of the pass's enum) and workspace.
  struct Candidate {
    int algo;
    size_t memory;
  };

  // The results that ran in plain fp32 FMA math, fastest first (cuDNN sorts them by time),
  // at most kCandidates of them.
  static constexpr int kCandidates = 3;
  template <typename Perf>
  static std::vector<Candidate> fma_results(const Perf* results, int count, const char* pass) {
    std::vector<Candidate> found;
    for (int i = 0; i < count && int(found.size()) < kCandidates; ++i) {
      if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].mathType == CUDNN_FMA_MATH) {
        found.push_back({int(results[i].algo), results[i].memory});
      }
    }
    if (found.empty())
      throw std::runtime_error(std::string("cuDNN found no fp32 FMA algorithm for ") + pass);
    return found;
  }

  void use(const Candidate& c) {
    forward_algo_ = cudnnConvolutionFwdAlgo_t(c.algo);
    data_algo_ = cudnnConvolutionBwdDataAlgo_t(c.algo);
    filter_algo_ = cudnnConvolutionBwdFilterAlgo_t(c.algo);
    algo_bytes_ = c.memory;
  }

  // cuDNN's search times each algorithm once, so between two visits it sometimes ranks a
  // slower one first (seen: 2x on a layer). Its best few are timed again here, median of
  // several runs each, and the fastest is kept: the comparison is against cuDNN at its best.
  Candidate fastest_of(const std::vector<Candidate>& candidates) {
    Candidate best = candidates[0];
    float best_ms = INFINITY;
    cudaEvent_t start, stop;
    check_cuda(cudaEventCreate(&start), "cudaEventCreate");
    check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
    for (const Candidate& c : candidates) {
      use(c);
      for (int i = 0; i < 3; ++i) run();
      std::vector<float> times;
      for (int i = 0; i < 9; ++i) {
        float ms = 0;
        check_cuda(cudaEventRecord(start), "cudaEventRecord");
        run();
        check_cuda(cudaEventRecord(stop), "cudaEventRecord");
        check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
        check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
        times.push_back(ms);
      }
      const float ms = float(median(times));
      if (ms < best_ms) {
        best_ms = ms;
        best = c;
      }
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return best;
  }

  void find_fastest(size_t workspace_bytes) {
    static const char* const kForwardNames[] = {
        "implicit_gemm", "implicit_precomp_gemm", "gemm", "direct", "fft", "fft_tiling",
        "winograd",      "winograd_nonfused"};
    static const char* const kDataNames[] = {"algo_0",     "algo_1",   "fft",
                                             "fft_tiling", "winograd", "winograd_nonfused"};
    static const char* const kFilterNames[] = {
        "algo_0", "algo_1", "fft", "algo_3", "winograd", "winograd_nonfused", "fft_tiling"};
    int count = 0;
    float* out = o_.out_cudnn.get();
    std::vector<Candidate> candidates;
    const char* const* names = nullptr;
    switch (o_.pass) {
      case Conv2dPass::Forward: {
        cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        check_cudnn(cudnnFindConvolutionForwardAlgorithmEx(handle_, x_desc_, o_.x.get(), w_desc_,
                                                           o_.w.get(), conv_desc_, y_desc_, out,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count,
                                                           results, workspace_, workspace_bytes),
                    "cudnnFindConvolutionForwardAlgorithmEx");
        candidates = fma_results(results, count, "fwd");
        names = kForwardNames;
        break;
      }
      case Conv2dPass::BackwardData: {
        cudnnConvolutionBwdDataAlgoPerf_t results[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        check_cudnn(cudnnFindConvolutionBackwardDataAlgorithmEx(
                        handle_, w_desc_, o_.w.get(), y_desc_, o_.dy.get(), conv_desc_, x_desc_,
                        out, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, results, workspace_,
                        workspace_bytes),
                    "cudnnFindConvolutionBackwardDataAlgorithmEx");
        candidates = fma_results(results, count, "bwd_data");
        names = kDataNames;
        break;
      }
      case Conv2dPass::BackwardWeight: {
        cudnnConvolutionBwdFilterAlgoPerf_t results[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        check_cudnn(cudnnFindConvolutionBackwardFilterAlgorithmEx(
                        handle_, x_desc_, o_.x.get(), y_desc_, o_.dy.get(), conv_desc_, w_desc_,
                        out, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, results, workspace_,
                        workspace_bytes),
                    "cudnnFindConvolutionBackwardFilterAlgorithmEx");
        candidates = fma_results(results, count, "bwd_weight");
        names = kFilterNames;
        break;
      }
    }
    const Candidate best = fastest_of(candidates);
    use(best);
    algo_name_ = names[best.algo];
  }

  cudnnHandle_t handle_;
  const Operands& o_;
  void* workspace_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  cudnnConvolutionFwdAlgo_t forward_algo_{};
  cudnnConvolutionBwdDataAlgo_t data_algo_{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo_{};
  size_t algo_bytes_ = 0;
  const char* algo_name_ = "";
};

// ---- the device and the CSV file ----------------------------------------------------------

// The NVIDIA driver's release (e.g. "580.159"), which the CUDA runtime does not report:
// the first number with a dot on the first line of /proc/driver/nvidia/version.
std::string driver_release() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  std::smatch match;
  if (std::getline(in, line) && std::regex_search(line, match, std::regex(R"(\d+\.\d+(\.\d+)?)"))) {
    return match.str();
  }
  return "unknown";
}

std::string version_str(int encoded_major_minor) {  // CUDA's 13000 -> "13.0"
  return std::to_string(encoded_major_minor / 1000) + "." +
         std::to_string(encoded_major_minor % 1000 / 10);
}

std::string cudnn_version_str(size_t v) {  // cuDNN 9's 91900 -> "9.19.0"
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." +
         std::to_string(v % 100);
}

// One line naming the device, driver and cuDNN: printed first and written atop the CSV file.
std::string device_line() {
  int device = 0, driver = 0, runtime = 0;
  cudaDeviceProp prop{};
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  check_cuda(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  check_cuda(cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
  check_cuda(cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
  char line[512];
  std::snprintf(line, sizeof line,
                "device: %s (compute %d.%d, %d SMs, L2 %d MiB), driver %s (CUDA %s), runtime "
                "CUDA %s, cuDNN %s (built with %s)",
                prop.name, prop.major, prop.minor, prop.multiProcessorCount, prop.l2CacheSize >> 20,
                driver_release().c_str(), version_str(driver).c_str(), version_str(runtime).c_str(),
                cudnn_version_str(cudnnGetVersion()).c_str(),
                cudnn_version_str(CUDNN_VERSION).c_str());
  return line;
}

// The CSV file, when one was asked for; rows are flushed as they come, so a run cut short
// still leaves the rows it measured.
class CsvFile {
 public:
  explicit CsvFile(const std::string& path) {
    if (path.empty()) return;
    out_.open(path);
    if (!out_) throw std::runtime_error("cannot write " + path);
    out_ << "# " << device_line() << '\n';
  }
  bool is_open() const { return out_.is_open(); }
  void row(const std::string& line) {
    if (out_.is_open()) out_ << line << std::endl;
  }

 private:
  std::ofstream out_;
};

std::string formatted(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string formatted(const char* fmt, ...) {
  char text[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  return text;
}

// ---- comparison mode: minidl against cuDNN, one Google Benchmark row each -----------------

constexpr int kWarmupRepeats = 5;
constexpr int kTimedRepeats = 30;
// What cuDNN's search may use as workspace: generous, like PyTorch's benchmark mode, which
// offers the algorithms whatever memory is free.
constexpr size_t kCudnnWorkspaceBytes = size_t(1) << 30;

// Both outputs are filled with NaN first (all bits set), so an element neither library
// wrote shows up as a NaN error.
template <typename Minidl>
double check_once(const Operands& o, Minidl& minidl, const CudnnConvolution& cudnn) {
  const size_t bytes = o.out_size * sizeof(float);
  check_cuda(cudaMemset(o.out_minidl.get(), 0xFF, bytes), "cudaMemset");
  check_cuda(cudaMemset(o.out_cudnn.get(), 0xFF, bytes), "cudaMemset");
  minidl();
  check_cuda(cudaGetLastError(), "minidl's kernel launch");
  cudnn.run();
  check_cuda(cudaDeviceSynchronize(), "the first runs");
  return relative_error(to_host(o.out_minidl.get(), o.out_size),
                        to_host(o.out_cudnn.get(), o.out_size));
}

struct Row {
  std::string layer;
  Conv2dPass pass;
  int batch;
  double minidl_ms, cudnn_ms, flops, error;
  Conv2dPlan tiling;
  double ratio() const { return cudnn_ms / minidl_ms; }
};

class Comparison {
 public:
  explicit Comparison(const Options& o) : options_(o), csv_(o.csv_path) {
    check_cudnn(cudnnCreate(&handle_), "cudnnCreate");
    cudnn_workspace_ = device_floats(kCudnnWorkspaceBytes / sizeof(float));
  }
  ~Comparison() { cudnnDestroy(handle_); }
  Comparison(const Comparison&) = delete;
  Comparison& operator=(const Comparison&) = delete;

  void register_benchmarks() {
    for (int batch : options_.batches) {
      for (const Layer* layer : options_.layers) {
        for (Conv2dPass pass : kPasses) {
          const std::string name = std::string("conv2d_cuda/") + layer->name + "/" +
                                   pass_name(pass) + "/" + std::to_string(batch);
          benchmark::RegisterBenchmark(name.c_str(),
                                       [this, layer, pass, batch](benchmark::State& state) {
                                         measure(state, *layer, pass, batch);
                                       })
              ->Iterations(1)
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }

  // The model sums per batch and pass, the worst row per batch, and the count of mismatches.
  void print_summary() {
    std::printf("\nSums over the %s convolutions, each once (ms; ratio = cuDNN / minidl, above 1 "
                "means minidl is faster):\n",
                selection_name());
    std::printf("%6s  %-17s %10s %10s %8s\n", "batch", "pass", "minidl", "cuDNN", "ratio");
    for (int batch : options_.batches) {
      const Sum fwd = sum(batch, Conv2dPass::Forward, true);
      const Sum data = sum(batch, Conv2dPass::BackwardData, true);
      const Sum data_no_stem = sum(batch, Conv2dPass::BackwardData, false);
      const Sum weight = sum(batch, Conv2dPass::BackwardWeight, true);
      const Sum train{fwd.minidl + data_no_stem.minidl + weight.minidl,
                      fwd.cudnn + data_no_stem.cudnn + weight.cudnn};
      print_sum(batch, "fwd", fwd);
      print_sum(batch, "bwd_data", data);
      print_sum(batch, "bwd_data_no_stem", data_no_stem);
      print_sum(batch, "bwd_weight", weight);
      print_sum(batch, "train", train);
      print_worst_row(batch);
    }
    std::printf("(train = fwd + bwd_data_no_stem + bwd_weight: the convolution work of one "
                "training step)\n");
    const auto mismatches = std::count_if(
        rows_.begin(), rows_.end(), [](const Row& r) { return !(r.error <= kMaxRelativeError); });
    if (mismatches > 0) {
      std::printf("!!! %d row(s) differ from cuDNN by more than %.0e (rows marked MISMATCH)\n",
                  int(mismatches), kMaxRelativeError);
    }
    if (failures_ > 0) std::printf("!!! %d row(s) failed to run (see above)\n", failures_);
  }

  bool all_passed() const {
    return failures_ == 0 && std::all_of(rows_.begin(), rows_.end(),
                                         [](const Row& r) { return r.error <= kMaxRelativeError; });
  }

 private:
  struct Sum {
    double minidl = 0, cudnn = 0;
  };

  void measure(benchmark::State& state, const Layer& layer, Conv2dPass pass, int batch) {
    Row row;
    try {
      row = compare(layer, pass, batch, state);
    } catch (const std::exception& e) {
      ++failures_;
      state.SkipWithError(e.what());
      return;
    }
    for (auto _ : state) state.SetIterationTime(row.minidl_ms * 1e-3);
    rows_.push_back(row);
    csv_.row(formatted("conv,%s,%s,%d,%.4f,%.4f,%.3f,%s", row.layer.c_str(), pass_name(pass), batch,
                       row.minidl_ms, row.cudnn_ms, row.ratio(), tiling_str(row.tiling).c_str()));
  }

  // Everything happens here, before Google Benchmark's loop: it only reports minidl's median
  // as the row's time, and the label carries the rest.
  Row compare(const Layer& layer, Conv2dPass pass, int batch, benchmark::State& state) {
    const Operands o(layer, batch, pass);
    const Conv2dPlan tiling = conv::conv2d_plan(o.s, pass);
    const DeviceFloats workspace = device_floats(size_t(tiling.workspace));  // before any timing
    const CudnnConvolution cudnn(handle_, o, cudnn_workspace_.get(), kCudnnWorkspaceBytes);
    auto minidl = [&] { run_minidl(o, workspace.get(), tiling); };

    const double error = check_once(o, minidl, cudnn);
    for (int i = 0; i < kWarmupRepeats; ++i) {
      minidl();
      cudnn.run();
    }
    std::vector<float> minidl_ms, cudnn_ms;
    for (int i = 0; i < kTimedRepeats; ++i) {
      minidl_ms.push_back(timer_.milliseconds(minidl));
      cudnn_ms.push_back(timer_.milliseconds([&] { cudnn.run(); }));
    }
    check_cuda(cudaGetLastError(), "minidl's kernels");

    const Row row{layer.name,       pass,        batch, median(minidl_ms),
                  median(cudnn_ms), o.s.flops(), error, tiling};
    const bool mismatch = !(error <= kMaxRelativeError);
    if (mismatch) {
      std::fprintf(stderr, "!!! MISMATCH %s %s batch %d: relative error %.3g against cuDNN\n",
                   layer.name, pass_name(pass), batch, error);
    }
    state.SetLabel(formatted("%scuDNN %.4f ms | TFLOP/s %.2f vs %.2f | ratio %.2f | tiling %s | "
                             "cuDNN %s | err %.1e",
                             mismatch ? "MISMATCH! " : "", row.cudnn_ms,
                             row.flops / row.minidl_ms * 1e-9, row.flops / row.cudnn_ms * 1e-9,
                             row.ratio(), tiling_str(tiling).c_str(), cudnn.algorithm().c_str(),
                             error));
    return row;
  }

  Sum sum(int batch, Conv2dPass pass, bool with_stem) const {
    Sum s;
    for (const Row& r : rows_) {
      if (r.batch == batch && r.pass == pass && (with_stem || r.layer != kStem)) {
        s.minidl += r.minidl_ms;
        s.cudnn += r.cudnn_ms;
      }
    }
    return s;
  }

  void print_sum(int batch, const char* pass, const Sum& s) {
    const double ratio = s.cudnn / s.minidl;
    std::printf("%6d  %-17s %10.3f %10.3f %7.2fx\n", batch, pass, s.minidl, s.cudnn, ratio);
    csv_.row(formatted("sum,%s,%s,%d,%.4f,%.4f,%.3f,", selection_name(), pass, batch, s.minidl,
                       s.cudnn, ratio));
  }

  void print_worst_row(int batch) const {
    const Row* worst = nullptr;
    for (const Row& r : rows_) {
      if (r.batch == batch && (!worst || r.ratio() < worst->ratio())) worst = &r;
    }
    if (worst) {
      std::printf("%6d  worst row: %s %s, minidl %.3f ms, cuDNN %.3f ms (%.3fx), tiling %s\n",
                  batch, worst->layer.c_str(), pass_name(worst->pass), worst->minidl_ms,
                  worst->cudnn_ms, worst->ratio(), tiling_str(worst->tiling).c_str());
    }
  }

  const char* selection_name() const {
    return options_.layers.size() == size_t(kLayerCount) ? "model" : "selected";
  }

  const Options& options_;
  CsvFile csv_;
  cudnnHandle_t handle_ = nullptr;
  DeviceFloats cudnn_workspace_;
  ColdCacheTimer timer_;
  std::vector<Row> rows_;
  int failures_ = 0;
};

int run_comparison(const Options& options, int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  Comparison comparison(options);
  comparison.register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  comparison.print_summary();
  return comparison.all_passed() ? 0 : 1;
}

// ---- sweep mode: minidl under every tiling, to tune the automatic choice ------------------

constexpr int kSweepWarmupRepeats = 5;
constexpr int kSweepTimedRepeats = 10;
const int kTileSizes[] = {64, 128};
const int kSliceCounts[] = {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};

void add_once(std::vector<Conv2dPlan>& tilings, const Conv2dPlan& t) {
  const bool seen = std::any_of(tilings.begin(), tilings.end(),
                                [&](const Conv2dPlan& u) { return same_tiling(t, u); });
  if (!seen) tilings.push_back(t);
}

// The tilings to time for a pass: each algorithm the shape allows, with every tile size and
// every slice count that leaves each slice at least 64 terms of the reduction, then the
// automatic choice. Requests the kernel maps to the same tiling are timed once.
std::vector<Conv2dPlan> sweep_tilings(const Conv2dShape& s, Conv2dPass pass) {
  std::vector<Conv2dPlan> tilings;
  for (Conv2dAlgorithm algorithm : {Conv2dAlgorithm::Gemm, Conv2dAlgorithm::Winograd}) {
    const int64_t max_slices = std::max<int64_t>(1, reduction_length(s, pass, algorithm) / 64);
    for (int tile_m : kTileSizes) {
      for (int tile_n : kTileSizes) {
        for (int slices : kSliceCounts) {
          if (slices > max_slices) break;
          try {
            Conv2dPlan requested;
            requested.algorithm = algorithm;
            requested.tile_m = tile_m;
            requested.tile_n = tile_n;
            requested.slices = slices;
            add_once(tilings, conv::conv2d_plan(s, pass, requested));
          } catch (const std::invalid_argument&) {
            break;  // Winograd does not apply to this shape
          }
        }
      }
    }
  }
  add_once(tilings, conv::conv2d_plan(s, pass));
  return tilings;
}

double time_minidl(ColdCacheTimer& timer, const Operands& o, float* workspace,
                   const Conv2dPlan& tiling) {
  auto call = [&] { run_minidl(o, workspace, tiling); };
  for (int i = 0; i < kSweepWarmupRepeats; ++i) call();
  std::vector<float> ms;
  for (int i = 0; i < kSweepTimedRepeats; ++i) ms.push_back(timer.milliseconds(call));
  check_cuda(cudaGetLastError(), "minidl's kernels");
  return median(ms);
}

// One row of the sweep: every tiling's time as a `sweep` row, then the automatic choice's
// as an `auto` row, and a line naming the fastest.
void sweep_row(ColdCacheTimer& timer, CsvFile& csv, const Layer& layer, Conv2dPass pass,
               int batch) {
  const Operands o(layer, batch, pass);
  const std::vector<Conv2dPlan> tilings = sweep_tilings(o.s, pass);
  int64_t workspace_floats = 0;
  for (const Conv2dPlan& t : tilings) {
    workspace_floats = std::max(workspace_floats, t.workspace);
  }
  const DeviceFloats workspace = device_floats(size_t(workspace_floats));

  auto emit = [&](const char* kind, const Conv2dPlan& t, double ms) {
    const std::string line =
        formatted("%s,%s,%s,%d,%d,%d,%d,%.4f,%s", kind, layer.name, pass_name(pass), batch,
                  t.tile_m, t.tile_n, t.slices, ms, algorithm_name(t.algorithm));
    if (csv.is_open()) {
      csv.row(line);
    } else {
      std::printf("%s\n", line.c_str());
    }
  };
  const Conv2dPlan automatic = conv::conv2d_plan(o.s, pass);
  double auto_ms = 0, best_ms = INFINITY;
  Conv2dPlan best;
  for (const Conv2dPlan& t : tilings) {
    const double ms = time_minidl(timer, o, workspace.get(), t);
    emit("sweep", t, ms);
    if (same_tiling(t, automatic)) auto_ms = ms;
    if (ms < best_ms) {
      best = t;
      best_ms = ms;
    }
  }
  emit("auto", automatic, auto_ms);
  std::printf("%-13s %-10s %4d: auto %-9s %8.4f ms, best %-9s %8.4f ms (%.2fx), %zu tilings\n",
              layer.name, pass_name(pass), batch, tiling_str(automatic).c_str(), auto_ms,
              tiling_str(best).c_str(), best_ms, auto_ms / best_ms, tilings.size());
  std::fflush(stdout);
}

int run_sweep(const Options& options) {
  CsvFile csv(options.csv_path);
  ColdCacheTimer timer;
  for (int batch : options.batches) {
    for (const Layer* layer : options.layers) {
      for (Conv2dPass pass : kPasses) sweep_row(timer, csv, *layer, pass, batch);
    }
  }
  return 0;
}

// ---- versions mode: the teaching path beside the fast kernels and cuDNN --------------------

// v0 takes tens of milliseconds on the large layers: fewer repeats than the comparison.
constexpr int kVersionWarmupRepeats = 2;
constexpr int kVersionTimedRepeats = 7;
const char* const kVersionNames[] = {"v0 direct", "v1 tiled", "fast"};

// Runs version 0, 1 or 2 (fast: the library's kernels with their automatic tiling) of the
// pass into out_minidl. `workspace` holds what v1's backward-weight and the fast pass need.
void run_version(int version, const Operands& o, float* workspace, const Conv2dPlan& tiling) {
  const Conv2dShape& s = o.s;
  float* out = o.out_minidl.get();
  if (version == 2) return run_minidl(o, workspace, tiling);
  switch (o.pass) {
    case Conv2dPass::Forward:
      if (version == 0) conv::conv2d_forward_direct(s, o.x.get(), o.w.get(), nullptr, out);
      if (version == 1) conv::conv2d_forward_tiled(s, o.x.get(), o.w.get(), nullptr, out);
      break;
    case Conv2dPass::BackwardData:
      if (version == 0) conv::conv2d_backward_data_direct(s, o.dy.get(), o.w.get(), out);
      if (version == 1) conv::conv2d_backward_data_tiled(s, o.dy.get(), o.w.get(), out);
      break;
    case Conv2dPass::BackwardWeight:
      if (version == 0) conv::conv2d_backward_weight_direct(s, o.x.get(), o.dy.get(), out, nullptr);
      if (version == 1) {
        conv::conv2d_backward_weight_tiled(s, o.x.get(), o.dy.get(), out, nullptr, workspace);
      }
      break;
  }
}

// Every version of every pass of every layer, each checked against cuDNN once (outputs
// poisoned with NaN first) and then timed alternately with it; a row per pass and layer, and
// the sums over the model. Returns 1 when a version disagrees with cuDNN.
int run_versions(const Options& options) {
  CsvFile csv(options.csv_path);
  ColdCacheTimer timer;
  cudnnHandle_t handle = nullptr;
  check_cudnn(cudnnCreate(&handle), "cudnnCreate");
  const DeviceFloats cudnn_workspace = device_floats(kCudnnWorkspaceBytes / sizeof(float));
  int mismatches = 0;
  std::printf("%-13s %-10s %5s %12s %12s %12s %12s  (ms, medians of %d; cuDNN of all %d)\n",
              "layer", "pass", "batch", kVersionNames[0], kVersionNames[1], kVersionNames[2],
              "cuDNN", kVersionTimedRepeats, 3 * kVersionTimedRepeats);
  for (int batch : options.batches) {
    for (Conv2dPass pass : kPasses) {
      double sums[4] = {0, 0, 0, 0};
      for (const Layer* layer : options.layers) {
        const Operands o(*layer, batch, pass);
        const Conv2dPlan tiling = conv::conv2d_plan(o.s, pass);
        const int64_t tiled_floats = pass == Conv2dPass::BackwardWeight
                                         ? conv::conv2d_backward_weight_tiled_workspace(o.s)
                                         : 0;
        const DeviceFloats workspace =
            device_floats(size_t(std::max(tiled_floats, tiling.workspace)));
        const CudnnConvolution cudnn(handle, o, cudnn_workspace.get(), kCudnnWorkspaceBytes);
        double ms[4];
        std::vector<float> cudnn_times;  // alternated with every version, all kept
        for (int version = 0; version < 3; ++version) {
          auto call = [&] { run_version(version, o, workspace.get(), tiling); };
          const double error = check_once(o, call, cudnn);
          if (!(error <= kMaxRelativeError)) {
            ++mismatches;
            std::fprintf(stderr, "!!! MISMATCH %s %s %s batch %d: relative error %.3g\n",
                         kVersionNames[version], layer->name, pass_name(pass), batch, error);
          }
          for (int i = 0; i < kVersionWarmupRepeats; ++i) call();
          std::vector<float> times;
          for (int i = 0; i < kVersionTimedRepeats; ++i) {
            times.push_back(timer.milliseconds(call));
            cudnn_times.push_back(timer.milliseconds([&] { cudnn.run(); }));
          }
          ms[version] = median(times);
        }
        ms[3] = median(cudnn_times);
        check_cuda(cudaGetLastError(), "minidl's kernels");
        for (int i = 0; i < 4; ++i) sums[i] += ms[i];
        std::printf("%-13s %-10s %5d %12.3f %12.3f %12.3f %12.3f\n", layer->name, pass_name(pass),
                    batch, ms[0], ms[1], ms[2], ms[3]);
        std::fflush(stdout);
        csv.row(formatted("version,%s,%s,%d,%.4f,%.4f,%.4f,%.4f", layer->name, pass_name(pass),
                          batch, ms[0], ms[1], ms[2], ms[3]));
      }
      std::printf("%-13s %-10s %5d %12.3f %12.3f %12.3f %12.3f\n", "sum", pass_name(pass), batch,
                  sums[0], sums[1], sums[2], sums[3]);
      csv.row(formatted("version_sum,model,%s,%d,%.4f,%.4f,%.4f,%.4f", pass_name(pass), batch,
                        sums[0], sums[1], sums[2], sums[3]));
    }
  }
  cudnnDestroy(handle);
  if (mismatches > 0) std::printf("!!! %d version row(s) differ from cuDNN\n", mismatches);
  return mismatches > 0 ? 1 : 0;
}

// Why no GPU can be used, or nothing when one can.
std::optional<std::string> no_gpu_reason() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) return std::string(cudaGetErrorString(status));
  if (count == 0) return std::string("no CUDA device");
  return std::nullopt;
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
  if (const auto reason = no_gpu_reason()) {
    std::printf("bench_conv2d_cuda: no usable GPU (%s); nothing to measure\n", reason->c_str());
    return 0;
  }
  try {
    std::printf("%s\n", device_line().c_str());
    std::fflush(stdout);
    if (options.versions) return run_versions(options);
    return options.sweep ? run_sweep(options) : run_comparison(options, argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_conv2d_cuda: %s\n", e.what());
    return 1;
  }
}
