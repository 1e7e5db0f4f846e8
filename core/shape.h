// Shape: the sizes of a tensor's dimensions, outermost first (NCHW for images).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace minidl {

using Shape = std::vector<int64_t>;

// Number of elements; 1 for a rank-0 (scalar) shape. For a shape already checked (a tensor's).
int64_t shape_numel(const Shape& shape);

// The number of elements of a shape that is about to be allocated or adopted, checked as the
// safetensors reader checks a file's header: every dimension >= 0, and the element count and
// its size in bytes (count x element_bytes) fit in int64_t. Without the check a product that
// wraps around would allocate a few bytes for an enormous shape, and the first write would run
// off the end. Errors name `op` and the shape.
int64_t checked_numel(const Shape& shape, const char* op, int64_t element_bytes = 4);

// "[128, 3, 32, 32]": the form every error message uses.
std::string shape_str(const Shape& shape);

}  // namespace minidl
