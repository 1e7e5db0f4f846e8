#include "layers/module.h"

#include "core/error.h"

namespace minidl {

Tensor Module::register_parameter(const std::string& name, Tensor tensor) {
  MINIDL_CHECK(tensor.defined(), "register_parameter", "parameter '", name, "' is undefined");
  tensor.set_requires_grad(true);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  MINIDL_CHECK(tensor.defined(), "register_buffer", "buffer '", name, "' is undefined");
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
  auto move = [device](const Tensor& t) {
    if (t.device() == device) return;
    // Swap the storage under the existing TensorImpl so every handle follows the move.
    const Tensor moved = t.detach().to(device);
    t.impl()->storage = moved.impl()->storage;
    t.impl()->grad = Tensor();
  };
  for (auto& [name, p] : named_parameters()) move(p);
  for (auto& [name, b] : named_buffers()) move(b);
}

void Module::zero_grad() {
  for (Tensor p : parameters()) p.zero_grad();
}

}  // namespace minidl
