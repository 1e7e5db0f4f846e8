// train_cifar10's flags for the library's refusals. The library's messages name its own
// arguments and settings (load_cifar10's dir and limit, parse_device's name, a checkpoint's
// momentum or epochs), never this program's flags; the hints here say which flag sets what was
// refused, so that train_cifar10's user reads "--data" where the library says "data directory".
// train_cifar10.cpp catches the library's typed errors (ArgumentError, SettingMismatch) around
// each call and rethrows their message with the hint appended (with_flag_hint).
// Each hint is "" when no flag sets what was refused.
#pragma once

#include <exception>
#include <string>

#include "examples/train_options.h"
#include "minidl/core/error.h"
#include "minidl/data/cifar10.h"
#include "minidl/io/checkpoint.h"

namespace minidl {

// load_cifar10(o.data_dir, split, the split's limit) refused its "dir" or "limit".
std::string data_flag_hint(const ArgumentError& error, const TrainOptions& o, Split split);

// parse_device(o.device) refused its "name".
std::string device_flag_hint(const ArgumentError& error, const TrainOptions& o);

// load_checkpoint or check_run_settings refused to resume o.resume with another setting.
std::string resume_flag_hint(const SettingMismatch& error, const TrainOptions& o);

// The error's message, then "; train_cifar10: " and the hint (the message alone without one).
std::string with_flag_hint(const std::exception& error, const std::string& hint);

}  // namespace minidl
