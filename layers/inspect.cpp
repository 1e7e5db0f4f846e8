#include "minidl/layers/inspect.h"

#include <cmath>

#include "minidl/layers/layers.h"

namespace minidl {

bool all_finite(const Tensor& t) {
  if (!t.defined()) return true;
  for (float v : t.to_vector()) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

std::string first_nonfinite_state(const Module& model) {
  for (const auto& [name, p] : model.named_parameters()) {
    if (!all_finite(p)) return "parameter " + name;
    if (!all_finite(p.grad())) return "gradient of " + name;
  }
  for (const auto& [name, b] : model.named_buffers()) {
    if (!all_finite(b)) return "buffer " + name;
  }
  return "";
}

namespace {
// Applies the chain to x in place; on the first non-finite output, names that module (inside
// a Sequential, its child, which is why a Sequential is walked rather than called). `prefix`
// is the chain's own name ("" at the top).
std::string walk(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& chain,
                 Tensor& x, const std::string& prefix) {
  for (const auto& [name, module] : chain) {
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    if (const auto* sequential = dynamic_cast<const Sequential*>(module.get())) {
      const std::string inside = walk(sequential->children(), x, path);
      if (!inside.empty()) return inside;
      continue;
    }
    x = module->forward(x);
    if (!all_finite(x)) return path;
  }
  return "";
}
}  // namespace

std::string first_nonfinite_output(
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& chain, const Tensor& x) {
  if (!all_finite(x)) return "input";
  Tensor value = x;
  return walk(chain, value, "");
}

}  // namespace minidl
