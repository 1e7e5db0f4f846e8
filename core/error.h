// minidl::Error: the one exception type the library throws on misuse.
// Every message starts with the op that failed and names the offending shapes or values,
// e.g. "conv2d: input must be rank 4 (N, C, H, W), got shape [2, 3]". Messages speak of the
// library's own arguments, never of a program's command-line flags: a program that wants to
// name its flags catches the error and adds them (examples/flag_hints.h for train_cifar10).
#pragma once

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace minidl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An Error that one argument of the failed call is to blame for, named as in the function's
// declaration (load_cifar10's "dir" or "limit"), so that a program can tell its user which of
// its own options to change without parsing the message.
class ArgumentError : public Error {
 public:
  ArgumentError(const std::string& message, std::string argument)
      : Error(message), argument_(std::move(argument)) {}
  const std::string& argument() const { return argument_; }

 private:
  std::string argument_;
};

// An allocation the device could not satisfy, with the same message wherever it fails:
// "<device> allocator: out of memory: <bytes> bytes asked for, <in use> bytes in use by minidl,
// its cache given back (<cause>)". A program adds the setting that lowers it (train_cifar10:
// --batch-size).
class OutOfMemory : public Error {
 public:
  OutOfMemory(const std::string& message, size_t bytes) : Error(message), bytes_(bytes) {}
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
};

namespace detail {
template <typename... Parts>
std::string message(const char* op, const Parts&... parts) {
  std::ostringstream text;
  text << op << ": ";
  (text << ... << parts);
  return text.str();
}

template <typename... Parts>
[[noreturn]] void fail(const char* op, const Parts&... parts) {
  throw Error(message(op, parts...));
}

// fail(), blaming the call's argument `argument`.
template <typename... Parts>
[[noreturn]] void fail_argument(const char* argument, const char* op, const Parts&... parts) {
  throw ArgumentError(message(op, parts...), argument);
}
}  // namespace detail

}  // namespace minidl

// MINIDL_CHECK(condition, "op", "message parts", value, ...): throws minidl::Error when false.
#define MINIDL_CHECK(condition, op, ...)                       \
  do {                                                         \
    if (!(condition)) ::minidl::detail::fail(op, __VA_ARGS__); \
  } while (0)

// MINIDL_CHECK_ARGUMENT(condition, "argument", "op", ...): the same, throwing an ArgumentError
// that blames `argument`.
#define MINIDL_CHECK_ARGUMENT(condition, argument, op, ...)                       \
  do {                                                                            \
    if (!(condition)) ::minidl::detail::fail_argument(argument, op, __VA_ARGS__); \
  } while (0)
