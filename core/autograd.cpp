#include "minidl/core/autograd.h"

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "minidl/core/dispatch.h"
#include "minidl/core/error.h"
#include "minidl/core/profiler.h"
#include "minidl/kernels/elementwise.h"

namespace minidl {

namespace {
thread_local bool g_grad_enabled = true;

// dst += src, in place, on dst's device.
void accumulate_into(const Tensor& dst, const Tensor& src) {
  MINIDL_DISPATCH(dst, "backward (gradient accumulation)",
                  axpy(dst.numel(), 1.f, src.data(), dst.data()));
}

// a + b in a new tensor: the total gradient of an output that several ops consume. Not in
// place, since a backward closure may return the same tensor for several inputs (add's does),
// and not ops::add, which sits a layer above the core.
Tensor sum_of(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty(a.shape(), a.device());
  MINIDL_DISPATCH(out, "backward (gradient accumulation)",
                  add(out.numel(), a.data(), b.data(), out.data()));
  return out;
}

// Nodes reachable from `root`, each after every node that consumes its output. Shared
// pointers, because releasing a node's edges during backward can drop the last other
// reference to a node that has yet to run.
std::vector<std::shared_ptr<Node>> reverse_topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> post_order;
  std::unordered_set<Node*> visited{root.get()};
  // Iterative depth-first search: deep graphs (long chains of ops) must not overflow the stack.
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next_edge] = stack.back();
    if (next_edge < node->edges.size()) {
      const std::shared_ptr<Node>& child = node->edges[next_edge++].producer;
      if (child && visited.insert(child.get()).second) stack.emplace_back(child, 0);
    } else {
      post_order.push_back(node);
      stack.pop_back();
    }
  }
  return {post_order.rbegin(), post_order.rend()};
}

// Where the gradient of `input` goes: nowhere when it needs none, to the node that produced
// an op's result, or into the .grad of a leaf.
Edge edge_to(const Tensor& input) {
  if (!input.requires_grad()) return Edge{};
  Edge edge;
  edge.shape = input.shape();
  edge.device = input.device();
  if (input.is_leaf()) {
    edge.leaf = input;
  } else {
    edge.producer = input.impl()->grad_fn;
  }
  return edge;
}

// Adds `grad` to the .grad of `leaf`. The first gradient is copied: it may share storage with
// another tensor, and later ones are added in place.
void accumulate_leaf_grad(const Tensor& leaf, const Tensor& grad) {
  Tensor& total = leaf.impl()->grad;
  if (!total.defined()) {
    total = grad.clone();
  } else {
    accumulate_into(total, grad);
  }
}

}  // namespace

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

void record(const char* op, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward,
            SavedInputs saved) {
  if (!g_grad_enabled) return;
  bool any_requires_grad = false;
  for (const Tensor& input : inputs) any_requires_grad |= input.requires_grad();
  if (!any_requires_grad) return;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->edges.reserve(inputs.size());
  for (const Tensor& input : inputs) node->edges.push_back(edge_to(input));
  if (saved == SavedInputs::Values) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].defined()) continue;
      node->saved.push_back({inputs[i].impl()->storage, inputs[i].version(), i, inputs[i].shape()});
    }
  }
  node->backward = std::move(backward);
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
}

void run_backward(const Tensor& root) {
  MINIDL_CHECK(root.defined() && root.numel() == 1, "backward",
               "can only start from a one-element tensor (a loss), got shape ", root.shape_str());
  MINIDL_CHECK(root.requires_grad(), "backward",
               "the tensor does not require grad: no input of the ops that made it requires grad "
               "(or it was computed under NoGradGuard)");
  const Tensor seed = Tensor::ones(root.shape(), root.device());
  if (root.is_leaf()) {
    accumulate_leaf_grad(root, seed);
    return;
  }
  const std::shared_ptr<Node>& root_node = root.impl()->grad_fn;
  MINIDL_CHECK(!root_node->released, "backward",
               "the graph was already released by an earlier backward(); run the forward pass "
               "again");

  std::unordered_map<Node*, Tensor> grad_of_output{{root_node.get(), seed}};
  NoGradGuard no_grad;  // gradient computations are not themselves recorded
  const profiler::PhaseScope backward_phase(
      profiler::Phase::Backward);  // kernels count as backward
  const auto order = reverse_topological_order(root_node);
  // Every saved input checked before any closure runs: a refused backward leaves every .grad
  // and the graph as they were.
  for (const std::shared_ptr<Node>& node : order) {
    for (const SavedInput& s : node->saved) {
      const std::shared_ptr<Storage> storage = s.storage.lock();
      MINIDL_CHECK(!storage || storage->version() == s.version, "backward", "input ", s.index,
                   " (shape ", shape_str(s.shape), ") of op '", node->op,
                   "' was written in place after the forward pass saved it (its version is ",
                   storage ? storage->version() : 0, ", was ", s.version,
                   "): an optimizer step, fill_ or copy_ between forward and backward? Call "
                   "backward() first; the gradient would come from values the forward pass "
                   "never saw");
    }
  }
  for (const std::shared_ptr<Node>& node : order) {
    MINIDL_CHECK(!node->released, "backward", "reached the already-released graph of op '",
                 node->op, "'; backward() runs once per forward pass");
    auto found = grad_of_output.find(node.get());
    if (found == grad_of_output.end()) continue;  // no gradient flowed here
    const Tensor grad_output = found->second;
    grad_of_output.erase(found);

    std::vector<Tensor> input_grads = node->backward(grad_output);
    MINIDL_CHECK(input_grads.size() == node->edges.size(), "backward", "op '", node->op,
                 "' returned ", input_grads.size(), " gradients for ", node->edges.size(),
                 " inputs");
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Edge& edge = node->edges[i];
      const Tensor& grad = input_grads[i];
      if (!edge.needs_grad() || !grad.defined()) continue;
      MINIDL_CHECK(grad.shape() == edge.shape, "backward", "op '", node->op,
                   "' produced a gradient of shape ", grad.shape_str(), " for input ", i,
                   " of shape ", shape_str(edge.shape));
      MINIDL_CHECK(grad.device() == edge.device, "backward", "op '", node->op, "' produced a ",
                   device_name(grad.device()), " gradient for a ", device_name(edge.device),
                   (edge.leaf.defined() ? " leaf" : " input"), " of shape ", shape_str(edge.shape));
      if (edge.producer) {
        auto [slot, inserted] = grad_of_output.try_emplace(edge.producer.get(), grad);
        if (!inserted) slot->second = sum_of(slot->second, grad);
      } else {
        accumulate_leaf_grad(edge.leaf, grad);
      }
    }
    // Release what the forward pass kept alive for this node.
    node->edges.clear();
    node->backward = nullptr;
    node->released = true;
  }
}

}  // namespace minidl
