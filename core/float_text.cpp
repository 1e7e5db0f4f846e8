#include "minidl/core/float_text.h"

#include <cstdio>
#include <cstdlib>

namespace minidl {

std::string float_text(float value) {
  char text[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, double(value));
    if (std::strtof(text, nullptr) == value) break;
  }
  return text;
}

}  // namespace minidl
