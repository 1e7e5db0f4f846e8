#include "minidl/layers/module.h"

#include "minidl/core/error.h"

namespace minidl {

Tensor Module::forward(const Tensor& x) {
  detail::fail("Module::forward", describe(), " was called with one input (", x.shape_str(),
               ") but has no one-input forward: call the forward it defines with all of its "
               "inputs (a module of several inputs cannot be a step of a Sequential)");
}

void Module::require_new_name(const std::string& name, const char* op, bool defined) const {
  MINIDL_CHECK(defined, op, "'", name, "' is ",
               std::string(op) == "register_module" ? "null" : "undefined");
  MINIDL_CHECK(!name.empty() && name.find('.') == std::string::npos, op, "the name '", name,
               "' must be non-empty and without '.' (the separator of parameter paths)");
  const auto taken = [&](const auto& entries) {
    for (const auto& entry : entries) {
      if (entry.first == name) return true;
    }
    return false;
  };
  const char* by = taken(parameters_) ? "a parameter"
                   : taken(buffers_)  ? "a buffer"
                   : taken(children_) ? "a child module"
                                      : nullptr;
  MINIDL_CHECK(by == nullptr, op, "the name '", name, "' is already taken by ", by ? by : "",
               " of this module: names must be unique within a module");
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor) {
  require_new_name(name, "register_parameter", tensor.defined());
  tensor.set_requires_grad(true);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  require_new_name(name, "register_buffer", tensor.defined());
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::collect(const std::string& prefix, bool buffers,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, tensor] : buffers ? buffers_ : parameters_) {
    out.emplace_back(prefix + name, tensor);
  }
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", false, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect("", true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t total = 0;
  for (const Tensor& p : parameters()) total += p.numel();
  return total;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device device) {
  // In place, so that every handle to a parameter (an optimizer's, the user's) follows.
  for (auto& [name, p] : named_parameters()) p.move_to_(device);
  for (auto& [name, b] : named_buffers()) b.move_to_(device);
}

void Module::zero_grad() {
  for (Tensor p : parameters()) p.zero_grad();
}

}  // namespace minidl
