// A float as text that reads back as exactly the same float, as short as %g allows from 6
// significant digits up (0.9f is "0.9", not "0.899999976"): how settings are recorded in
// checkpoints and named in messages, so that equal values always give equal text.
#pragma once

#include <string>

namespace minidl {

std::string float_text(float value);

}  // namespace minidl
