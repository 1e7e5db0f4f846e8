// Reading and writing the safetensors format (https://github.com/huggingface/safetensors), so
// that checkpoints open in PyTorch with `safetensors.torch.load_file`:
//   8 bytes   little-endian u64 N, the length of the header
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//                    ..., "__metadata__": {"<key>": "<string value>", ...}}
//   the rest  raw little-endian data; offsets are relative to the end of the header
// Only float32 tensors are written or read (that is all minidl has).
//
// Reading is strict, as the reference implementation's (safetensors' own validation): the
// header is at most 100,000,000 bytes, every name, field and metadata key appears once, and
// the tensors' byte ranges cover the data section exactly (no gap, no overlap, no trailing
// bytes). All of it is checked against the file's size before anything is allocated, and the
// tensors are then read one at a time, so reading never needs memory for the whole file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/tensor.h"

namespace minidl {

// Every file minidl writes holds a CRC-32C of each tensor's bytes (io/crc32c.h) in its
// metadata, under this prefix and the tensor's name ("crc32c.model.fc.weight": 8 hex digits).
// Reading checks them: a flipped bit, a torn write, or two tensors of one shape swapped are
// refused by the tensor's name. Files without them (PyTorch's, or older ones) still load.
// The keys are the format's own: SafetensorsReader::metadata() leaves them out, and
// save_safetensors refuses a caller's key with the prefix.
constexpr const char* kChecksumPrefix = "crc32c.";

struct TensorFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in header order, on the CPU
  std::map<std::string, std::string> metadata;

  // The tensor called `name`; a minidl::Error naming the file's path when absent.
  const Tensor& get(const std::string& name) const;
  std::string path;
};

// Writes atomically: to "<path>.tmp" first, fsync'ed, then renamed over `path` (and the
// directory fsync'ed), so a kill or a power loss during the save leaves either the old file or
// the complete new one, never a torn one. On failure the temporary is removed. A tensor
// holding a NaN or an infinity is refused (naming it and the first such element) and nothing
// is written: a checkpoint never records a diverged state. So are, before the file is
// touched, two tensors of one name and a metadata key that starts with kChecksumPrefix.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// One tensor's entry in a safetensors header.
struct TensorEntry {
  std::string name;
  Shape shape;
  int64_t begin = 0, end = 0;  // byte range in the data section
  int64_t numel() const { return (end - begin) / 4; }
};

// A safetensors file opened for reading: the constructor reads and checks the header (every
// rule above, against the file's size), then tensors are read on request, one at a time.
// Every malformed input is a minidl::Error starting "load_safetensors: <path>" and naming the
// problem (and the tensor, field or key when there is one).
class SafetensorsReader {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100000000;  // safetensors' own limit

  explicit SafetensorsReader(const std::string& path);
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorEntry>& entries() const { return entries_; }  // header order
  const TensorEntry* find(const std::string& name) const;               // null when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Reads the tensor's values into out[0 .. entry.numel()). A failed or short read (the file
  // shrank since it was opened) and values that do not match the tensor's checksum are errors
  // naming the tensor.
  void read(const TensorEntry& entry, float* out) const;
  Tensor read(const TensorEntry& entry) const;  // into a new CPU tensor
  // The index of the first NaN or infinity among the tensor's values (its value in *value), or
  // -1 when all are finite; and, when the file holds the tensor's checksum, an error naming
  // the tensor if its bytes do not match it. Reads the tensor in pieces of 1 MiB, allocating
  // nothing more: load_checkpoint checks every tensor this way before it copies any.
  int64_t first_non_finite(const TensorEntry& entry, float* value) const;
  bool has_checksum(const TensorEntry& entry) const { return checksums_.count(entry.name) > 0; }

 private:
  void read_bytes(uint64_t offset, void* out, uint64_t size, const std::string& what) const;
  // An error naming the tensor when `computed` differs from its stored checksum (if any).
  void check_checksum(const TensorEntry& entry, uint32_t computed) const;
  std::string path_;
  std::map<std::string, uint32_t> checksums_;  // by tensor name, from the metadata
  int fd_ = -1;
  uint64_t file_size_ = 0, data_start_ = 0;
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// The whole file through SafetensorsReader: memory for the tensors, no copy of the file.
TensorFile load_safetensors(const std::string& path);

}  // namespace minidl
