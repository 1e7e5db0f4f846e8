#include "minidl/layers/summary.h"

#include <iomanip>
#include <string>
#include <vector>

#include "minidl/core/autograd.h"
#include "minidl/layers/layers.h"

namespace minidl {

namespace {
struct Row {
  std::string name, layer, shape;
  int64_t params;
};

// Runs `module` on x, adding rows for it (or for its children when it is a Sequential).
Tensor walk(Module& module, const std::string& name, const Tensor& x, std::vector<Row>& rows) {
  if (dynamic_cast<Sequential*>(&module)) {
    Tensor out = x;
    for (const auto& [child_name, child] : module.children()) {
      out = walk(*child, name.empty() ? child_name : name + "." + child_name, out, rows);
    }
    return out;
  }
  Tensor out = module.forward(x);
  rows.push_back({name, module.describe(), out.shape_str(), module.parameter_count()});
  return out;
}
}  // namespace

void print_summary(Module& model, const Shape& input_shape, std::ostream& out) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();  // no running-statistics update from the dummy batch
  std::vector<Row> rows;
  Tensor x = Tensor::zeros(
      input_shape, model.parameters().empty() ? Device::CPU : model.parameters()[0].device());
  for (const auto& [name, child] : model.children()) x = walk(*child, name, x, rows);
  model.train(was_training);

  size_t name_w = 5, layer_w = 5, shape_w = 12;
  for (const Row& r : rows) {
    name_w = std::max(name_w, r.name.size());
    layer_w = std::max(layer_w, r.layer.size());
    shape_w = std::max(shape_w, r.shape.size());
  }
  out << std::left << std::setw(name_w + 2) << "name" << std::setw(layer_w + 2) << "layer"
      << std::setw(shape_w + 2) << "output shape" << std::right << std::setw(12) << "parameters"
      << '\n'
      << std::string(name_w + layer_w + shape_w + 18, '-') << '\n';
  for (const Row& r : rows) {
    out << std::left << std::setw(name_w + 2) << r.name << std::setw(layer_w + 2) << r.layer
        << std::setw(shape_w + 2) << r.shape << std::right << std::setw(12) << r.params << '\n';
  }
  out << std::string(name_w + layer_w + shape_w + 18, '-') << '\n'
      << "input " << shape_str(input_shape) << ", total trainable parameters "
      << model.parameter_count() << '\n';
}

}  // namespace minidl
