// The header of a safetensors file, parsed and checked (an implementation detail of
// SafetensorsReader, io/safetensors_read.cpp): every rule of io/safetensors.h that can be
// checked without reading the data, so that a malformed file is refused before anything is
// allocated for its tensors.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "minidl/io/safetensors.h"

namespace minidl::safetensors_header {

struct Header {
  std::vector<TensorEntry> entries;  // in header order
  std::map<std::string, std::string> metadata;
};

// `text`: the JSON header of the file at `path`, whose data section is `data_size` bytes.
// Errors start "load_safetensors: <path>" and name the problem.
Header parse(const std::string& text, const std::string& path, uint64_t data_size);

}  // namespace minidl::safetensors_header
