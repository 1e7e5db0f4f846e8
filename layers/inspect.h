// Finding where values went non-finite (NaN or infinity): what a training run reports when its
// loss does, instead of only "the loss is nan". Diagnostics, not hot paths: every check reads
// the values back to the host.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/tensor.h"
#include "minidl/layers/module.h"

namespace minidl {

bool all_finite(const Tensor& t);  // true for an undefined tensor

// The first parameter, gradient or buffer of `model` holding a non-finite value, in
// named_parameters() then named_buffers() order, as "parameter stages.3.bn2.weight",
// "gradient of head.2.weight" or "buffer stem.1.running_var"; "" when every one is finite.
std::string first_nonfinite_state(const Module& model);

// Runs `x` through `chain`, modules applied one after another (a Sequential's children; the
// ResNet's stem, stages and head), and names the first whose output has a non-finite value,
// descending into a Sequential to the child that made it: e.g. "stages.2" or "stem.1". "" when
// every output is finite; "input" when x itself is not. Runs the modules as they are (call it
// under NoGradGuard; in training mode batch norm updates its running statistics).
std::string first_nonfinite_output(
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& chain, const Tensor& x);

}  // namespace minidl
