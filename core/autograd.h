// Reverse-mode automatic differentiation, micrograd style.
//
// Each differentiable op that runs while gradients are enabled creates a Node and hangs it on
// its output (Tensor::grad_fn). The node keeps one edge per input (the leaf itself, or a
// data-less handle to the node that produced it; nothing for inputs that need no gradient)
// and a closure that maps the gradient of the output to one gradient per input; the closure
// holds whatever values that needs (e.g. relu keeps its output, conv2d its input and weight). backward() orders the
// nodes reachable from the root so that every node runs after all nodes that consume its output
// (reverse topological order), sums the gradients a tensor receives from several consumers, and
// stores the result in the .grad of leaf tensors that require it. Each node releases its inputs
// and closure once it has run, so the memory of the forward pass is freed by backward().
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string op;              // name of the op that made the output, for messages
  std::vector<Tensor> inputs;  // one edge per input (see record()); empty once backward has run
  BackwardFn backward;         // returns one gradient per input (undefined: no gradient)
  bool released = false;
};

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
// input requires grad, attaches a node to `output` and marks it as requiring grad.
// The closure must not capture `output` itself (that would be a reference cycle); capture
// output.detach() when the backward needs the output's values.
void record(const char* op, Tensor& output, std::vector<Tensor> inputs, BackwardFn backward);

// The engine behind Tensor::backward(). `root` must be a one-element tensor.
void run_backward(const Tensor& root);

}  // namespace minidl
