// minidl::Error: the one exception type the library throws on misuse.
// Every message starts with the op that failed and names the offending shapes or values,
// e.g. "conv2d: input must be rank 4 (N, C, H, W), got shape [2, 3]".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace minidl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Parts>
[[noreturn]] void fail(const char* op, const Parts&... parts) {
  std::ostringstream message;
  message << op << ": ";
  (message << ... << parts);
  throw Error(message.str());
}
}  // namespace detail

}  // namespace minidl

// MINIDL_CHECK(condition, "op", "message parts", value, ...): throws minidl::Error when false.
#define MINIDL_CHECK(condition, op, ...)                       \
  do {                                                         \
    if (!(condition)) ::minidl::detail::fail(op, __VA_ARGS__); \
  } while (0)
