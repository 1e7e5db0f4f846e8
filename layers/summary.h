// print_summary: a per-layer table of a model (name, layer, output shape, parameters) and the
// total, found by running one forward pass on zeros of `input_shape` through the model's
// children in order (so it suits models whose forward is that chain). Sequential containers
// are opened up; other modules (a BasicBlock, say) are one row each.
#pragma once

#include <ostream>

#include "minidl/layers/module.h"

namespace minidl {

void print_summary(Module& model, const Shape& input_shape, std::ostream& out);

}  // namespace minidl
