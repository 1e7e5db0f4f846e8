// Shape: the sizes of a tensor's dimensions, outermost first (NCHW for images).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace minidl {

using Shape = std::vector<int64_t>;

// Number of elements; 1 for a rank-0 (scalar) shape.
int64_t shape_numel(const Shape& shape);

// "[128, 3, 32, 32]": the form every error message uses.
std::string shape_str(const Shape& shape);

}  // namespace minidl
