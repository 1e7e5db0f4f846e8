// Reverse-mode automatic differentiation, micrograd style.
//
// Each differentiable op that runs while gradients are enabled creates a Node and hangs it on
// its output (TensorImpl::grad_fn). The node keeps one Edge per input, saying where that
// input's gradient goes (the node that produced the input, or the leaf whose .grad collects
// it, or nowhere), and a closure that maps the gradient of the output to one gradient per
// input; the closure holds whatever values that needs (e.g. relu keeps its output, conv2d
// its input and weight). backward() orders the nodes reachable from the root so that every
// node runs after all nodes that consume its output (reverse topological order), sums the
// gradients a tensor receives from several consumers, and stores the result in the .grad of
// leaf tensors that require it. Each node releases its edges and closure once it has run, so
// the memory of the forward pass is freed by backward().
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "minidl/core/device.h"
#include "minidl/core/shape.h"
#include "minidl/core/tensor.h"

namespace minidl {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

// Where the gradient of one input of a node goes. Of an op's result it keeps only the node
// that produced it, not its data, so the result's memory is freed as soon as the forward pass
// is done with it (a backward closure keeps the values it needs); a leaf is kept itself, since
// backward writes its .grad.
struct Edge {
  std::shared_ptr<Node> producer;  // the node that made the input (an op's result)
  Tensor leaf;                     // or the leaf whose .grad collects the gradient
  Shape shape;                     // the input's shape and device: its gradient must match
  Device device = Device::CPU;

  // False for an input that needs no gradient (neither producer nor leaf).
  bool needs_grad() const { return producer != nullptr || leaf.defined(); }
};

// An input whose values the backward closure reads, and its storage's version when the op
// ran: backward refuses to run the closure if the storage was written in place since (an
// optimizer step between forward and backward, say), since the gradient would be computed from
// values the forward pass never saw. A weak pointer: it keeps no memory alive.
struct SavedInput {
  std::weak_ptr<Storage> storage;
  uint64_t version = 0;
  size_t index = 0;  // the input's position, for the message
  Shape shape;
};

struct Node {
  std::string op;           // name of the op that made the output, for messages
  std::vector<Edge> edges;  // one per input, in the op's order; empty once backward has run
  BackwardFn backward;      // returns one gradient per input (undefined: no gradient)
  std::vector<SavedInput> saved;
  bool released = false;
};

// Whether an op's backward reads its inputs' values (conv2d, mul, matmul: Values) or only their
// shapes (add, reshape, cat, sums: ShapesOnly). Only the first are version-checked.
enum class SavedInputs { Values, ShapesOnly };

// True unless a NoGradGuard is alive on this thread.
bool grad_enabled();

// Disables graph recording in its scope (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Called by every differentiable op after computing `output`: when grad is enabled and some
// input requires grad, attaches a node to `output` (one Edge per input, in order: the
// closure returns its gradients in the same order) and marks `output` as requiring grad.
// The closure must not capture `output` itself (that would be a reference cycle); capture
// output.detach() when the backward needs the output's values.
// Errors at backward time, naming the op and the input: an input of a Values op written in
// place since the op ran (its storage's version changed). NoGradGuard does not exempt a write.
void record(const char* op, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward,
            SavedInputs saved = SavedInputs::Values);

// The engine behind Tensor::backward(). `root` must be a one-element tensor.
void run_backward(const Tensor& root);

}  // namespace minidl
