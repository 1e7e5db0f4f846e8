// softmax_cross_entropy and the metrics that read logits (argmax, accuracy).
#include <algorithm>

#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/core/profiler.h"
#include "minidl/kernels/softmax_cross_entropy.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

namespace {
void check_logits_and_labels(const char* op, const Tensor& logits, const std::vector<int>& labels) {
  checks::rank(op, "logits", logits, 2, "[N, classes]");
  MINIDL_CHECK(static_cast<int64_t>(labels.size()) == logits.size(0), op, "got ", labels.size(),
               " labels for logits ", logits.shape_str());
  const int64_t classes = logits.size(1);
  for (size_t n = 0; n < labels.size(); ++n) {
    MINIDL_CHECK(labels[n] >= 0 && labels[n] < classes, op, "label ", labels[n], " at index ", n,
                 " is outside [0, ", classes, ") for logits ", logits.shape_str());
  }
}
}  // namespace

namespace {
void check_labels_for(const char* op, const Tensor& logits, const Labels& labels) {
  checks::rank(op, "logits", logits, 2, "[N, classes]");
  MINIDL_CHECK(!labels.empty(), op, "the labels are empty (not made by make_labels?)");
  MINIDL_CHECK(labels.count() == logits.size(0), op, "got ", labels.count(), " labels for logits ",
               logits.shape_str());
  MINIDL_CHECK(labels.device() == logits.device(), op, "labels on ", device_name(labels.device()),
               " but logits on ", device_name(logits.device()));
}
}  // namespace

Labels Labels::wrap(std::shared_ptr<Storage> storage, int64_t count) {
  MINIDL_CHECK(storage != nullptr || count == 0, "Labels::wrap", "no storage for ", count,
               " labels");
  MINIDL_CHECK(count >= 0 && (!storage || uint64_t(count) <= storage->bytes() / sizeof(int32_t)),
               "Labels::wrap", "count ", count, " does not fit the storage's ",
               storage ? storage->bytes() : 0, " bytes (", sizeof(int32_t), " per label)");
  Labels labels;
  labels.storage_ = std::move(storage);
  labels.count_ = count;
  return labels;
}

Labels make_labels(const std::vector<int>& values, int classes, Device device) {
  for (size_t n = 0; n < values.size(); ++n) {
    MINIDL_CHECK(values[n] >= 0 && values[n] < classes, "make_labels", "label ", values[n],
                 " at index ", n, " is outside [0, ", classes, ")");
  }
  const std::vector<int32_t> host(values.begin(), values.end());
  return Labels::wrap(storage_from_host(host.data(), host.size() * sizeof(int32_t), device),
                      int64_t(values.size()));
}

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<int>& labels,
                             float label_smoothing) {
  check_logits_and_labels("softmax_cross_entropy", logits, labels);
  return softmax_cross_entropy(logits, make_labels(labels, int(logits.size(1)), logits.device()),
                               label_smoothing);
}

Tensor softmax_cross_entropy(const Tensor& logits, const Labels& labels, float label_smoothing) {
  check_labels_for("softmax_cross_entropy", logits, labels);
  MINIDL_CHECK(label_smoothing >= 0.f && label_smoothing < 1.f, "softmax_cross_entropy",
               "label_smoothing must be in [0, 1), got ", label_smoothing);
  const int batch = int(logits.size(0)), classes = int(logits.size(1));
  const Device device = logits.device();
  Tensor probs = Tensor::empty(logits.shape(), device);
  Tensor row_loss = Tensor::empty({batch}, device);
  Tensor out = Tensor::empty({}, device);
  MINIDL_DISPATCH(logits, "softmax_cross_entropy",
                  softmax_cross_entropy_forward(batch, classes, logits.data(), labels.data(),
                                                label_smoothing, probs.data(), row_loss.data(),
                                                out.data()));
  // The node keeps the labels' storage alive: the backward pass reads them on the device too.
  record("softmax_cross_entropy", out, {logits},
         [batch, classes, probs, labels, label_smoothing](const Tensor& g) {
           Tensor dlogits = Tensor::empty(probs.shape(), probs.device());
           MINIDL_DISPATCH(g, "softmax_cross_entropy backward",
                           softmax_cross_entropy_backward(batch, classes, probs.data(),
                                                          labels.data(), label_smoothing, g.data(),
                                                          dlogits.data()));
           return std::vector<Tensor>{dlogits};
         });
  return out;
}

Tensor count_correct(const Tensor& logits, const Labels& labels) {
  const profiler::PhaseScope phase(profiler::Phase::Metrics);  // a measurement, not training
  check_labels_for("count_correct", logits, labels);
  Tensor out = Tensor::empty({}, logits.device());
  MINIDL_DISPATCH(logits, "count_correct",
                  count_correct(int(logits.size(0)), int(logits.size(1)), logits.data(),
                                labels.data(), out.data()));
  return out;
}

std::vector<int> argmax(const Tensor& logits) {
  checks::rank("argmax", "logits", logits, 2, "[N, classes]");
  const std::vector<float> values = logits.to_vector();
  const int64_t classes = logits.size(1);
  std::vector<int> best(logits.size(0));
  for (size_t n = 0; n < best.size(); ++n) {
    const auto row = values.begin() + int64_t(n) * classes;
    best[n] = static_cast<int>(std::max_element(row, row + classes) - row);
  }
  return best;
}

float accuracy(const Tensor& logits, const std::vector<int>& labels) {
  check_logits_and_labels("accuracy", logits, labels);
  const std::vector<int> predicted = argmax(logits);
  int64_t correct = 0;
  for (size_t n = 0; n < labels.size(); ++n) correct += predicted[n] == labels[n];
  return static_cast<float>(correct) / static_cast<float>(labels.size());
}

}  // namespace minidl::ops
