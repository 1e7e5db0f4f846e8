// Reading safetensors files (the format and the rules: io/safetensors.h; the header's
// parsing and checks: io/safetensors_header.cpp).
#include "minidl/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "minidl/core/error.h"
#include "minidl/io/crc32c.h"
#include "minidl/io/safetensors_header.h"

namespace minidl {

const Tensor& TensorFile::get(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  detail::fail("checkpoint", path, " has no tensor named '", name, "'");
}

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  const char* op = "load_safetensors";
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  MINIDL_CHECK(fd_ >= 0, op, "cannot open ", path, ": ", std::strerror(errno));
  try {
    struct stat info {};
    MINIDL_CHECK(::fstat(fd_, &info) == 0, op, "cannot stat ", path, ": ", std::strerror(errno));
    MINIDL_CHECK(!S_ISDIR(info.st_mode), op, path, " is a directory, not a safetensors file");
    MINIDL_CHECK(S_ISREG(info.st_mode), op, path, " is not a regular file");
    file_size_ = uint64_t(info.st_size);
    MINIDL_CHECK(file_size_ >= 8, op, path, " is ", file_size_,
                 " bytes long, too short for a safetensors file");
    unsigned char length_bytes[8];
    read_bytes(0, length_bytes, 8, "the header length");
    uint64_t header_length = 0;
    for (int i = 0; i < 8; ++i) header_length |= uint64_t(length_bytes[i]) << (8 * i);
    MINIDL_CHECK(header_length <= file_size_ - 8, op, path, ": header length ", header_length,
                 " exceeds the file size ", file_size_, " (truncated file?)");
    MINIDL_CHECK(header_length <= kMaxHeaderBytes, op, path, ": header length ", header_length,
                 " is over safetensors' limit of ", kMaxHeaderBytes,
                 " bytes (not a safetensors file?)");
    std::string header(header_length, '\0');
    read_bytes(8, header.data(), header_length, "the header");
    data_start_ = 8 + header_length;
    const uint64_t data_size = file_size_ - data_start_;

    safetensors_header::Header parsed = safetensors_header::parse(header, path, data_size);
    entries_ = std::move(parsed.entries);
    metadata_ = std::move(parsed.metadata);
    // The checksums are the format's, not the caller's metadata: moved aside, each checked to
    // be 8 hex digits for a tensor the file holds.
    for (auto it = metadata_.begin(); it != metadata_.end();) {
      if (it->first.rfind(kChecksumPrefix, 0) != 0) {
        ++it;
        continue;
      }
      const std::string name = it->first.substr(std::string(kChecksumPrefix).size());
      const std::string& hex = it->second;
      MINIDL_CHECK(find(name) != nullptr, op, path, ": metadata '", it->first,
                   "' is the checksum of a tensor the file does not hold");
      MINIDL_CHECK(hex.size() == 8 &&
                       hex.find_first_not_of("0123456789abcdef") == std::string::npos,
                   op, path, ": metadata '", it->first, "' = '", hex,
                   "' is not a checksum (8 lowercase hex digits)");
      checksums_[name] = uint32_t(std::stoul(hex, nullptr, 16));
      it = metadata_.erase(it);
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

SafetensorsReader::~SafetensorsReader() {
  if (fd_ >= 0) ::close(fd_);
}

const TensorEntry* SafetensorsReader::find(const std::string& name) const {
  for (const TensorEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

void SafetensorsReader::read_bytes(uint64_t offset, void* out, uint64_t size,
                                   const std::string& what) const {
  char* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t got = ::pread(fd_, p, std::min<uint64_t>(size, 1u << 30), off_t(offset));
    if (got < 0 && errno == EINTR) continue;
    MINIDL_CHECK(got >= 0, "load_safetensors", "reading ", what, " of ", path_,
                 " failed: ", std::strerror(errno));
    MINIDL_CHECK(got > 0, "load_safetensors", path_, " ended at byte ", offset, " while reading ",
                 what, ", before the ", file_size_, " bytes it had when opened (did it shrink?)");
    p += got;
    offset += uint64_t(got);
    size -= uint64_t(got);
  }
}

void SafetensorsReader::check_checksum(const TensorEntry& entry, uint32_t computed) const {
  const auto stored = checksums_.find(entry.name);
  if (stored == checksums_.end() || stored->second == computed) return;
  char text[64];
  std::snprintf(text, sizeof text, "(stored crc32c %08x, computed %08x)", unsigned(stored->second),
                unsigned(computed));
  detail::fail("load_safetensors", path_, ": tensor '", entry.name,
               "' does not match its checksum ", text,
               ": the file is damaged, or its tensors were edited or swapped");
}

void SafetensorsReader::read(const TensorEntry& entry, float* out) const {
  const uint64_t bytes = uint64_t(entry.end - entry.begin);
  read_bytes(data_start_ + uint64_t(entry.begin), out, bytes,
             "tensor '" + entry.name + "'");  // x86 is little-endian, as the format
  if (has_checksum(entry)) check_checksum(entry, crc32c(0, out, bytes));
}

Tensor SafetensorsReader::read(const TensorEntry& entry) const {
  Tensor t = Tensor::empty(entry.shape);
  read(entry, t.data());
  return t;
}

int64_t SafetensorsReader::first_non_finite(const TensorEntry& entry, float* value) const {
  constexpr int64_t kPiece = (1 << 20) / 4;
  std::vector<float> piece(size_t(std::min(kPiece, entry.numel())));
  int64_t non_finite = -1;
  uint32_t crc = 0;
  for (int64_t first = 0; first < entry.numel(); first += kPiece) {
    const int64_t count = std::min(kPiece, entry.numel() - first);
    read_bytes(data_start_ + uint64_t(entry.begin + first * 4), piece.data(), uint64_t(count * 4),
               "tensor '" + entry.name + "'");
    crc = crc32c(crc, piece.data(), size_t(count) * 4);
    for (int64_t i = 0; i < count && non_finite < 0; ++i) {
      if (std::isfinite(piece[size_t(i)])) continue;
      if (value) *value = piece[size_t(i)];
      non_finite = first + i;
    }
  }
  // A damaged file is named as such before its values are: a flipped bit can make a NaN.
  check_checksum(entry, crc);
  return non_finite;
}

TensorFile load_safetensors(const std::string& path) {
  const SafetensorsReader reader(path);
  TensorFile file;
  file.path = path;
  file.metadata = reader.metadata();
  for (const TensorEntry& e : reader.entries()) file.tensors.emplace_back(e.name, reader.read(e));
  return file;
}

}  // namespace minidl
