// Reading and writing the safetensors format (https://github.com/huggingface/safetensors), so
// that checkpoints open in PyTorch with `safetensors.torch.load_file`:
//   8 bytes   little-endian u64 N, the length of the header
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//                    ..., "__metadata__": {"<key>": "<string value>", ...}}
//   the rest  raw little-endian data; offsets are relative to the end of the header
// Only float32 tensors are written or read (that is all minidl has).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace minidl {

struct TensorFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order, on the CPU
  std::map<std::string, std::string> metadata;

  // The tensor called `name`; a minidl::Error naming the file's path when absent.
  const Tensor& get(const std::string& name) const;
  std::string path;
};

// Writes atomically: to "<path>.tmp" first, fsync'ed, then renamed over `path` (and the
// directory fsync'ed), so a kill or a power loss during the save leaves either the old file or
// the complete new one, never a torn one. On failure the temporary is removed.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Every malformed input (short file, bad header length, invalid JSON, unsupported dtype,
// offsets outside the data, shape not matching the byte count) is a minidl::Error naming the
// file and the problem.
TensorFile load_safetensors(const std::string& path);

}  // namespace minidl
