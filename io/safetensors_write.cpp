// Writing safetensors files (the format and the guarantees: io/safetensors.h).
#include "minidl/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "minidl/core/error.h"
#include "minidl/io/crc32c.h"

namespace minidl {

namespace {

static_assert(sizeof(float) == 4, "float32 expected");

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, p, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += written;
    size -= size_t(written);
  }
  return true;
}

// The header: each tensor's dtype, shape and byte range, then the metadata with one
// "crc32c.<name>" checksum per tensor (8 hex digits, so that the header can be written first
// with placeholders and again, the same length, once the data has been checksummed).
std::string make_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata,
                        const std::vector<uint32_t>& checksums) {
  std::string header = "{";
  int64_t offset = 0;
  std::map<std::string, std::string> all = metadata;
  for (size_t t = 0; t < tensors.size(); ++t) {
    const auto& [name, tensor] = tensors[t];
    const int64_t bytes = tensor.numel() * 4;
    header += json_string(name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t d = 0; d < tensor.shape().size(); ++d) {
      header += (d ? "," : "") + std::to_string(tensor.shape()[d]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]},";
    offset += bytes;
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", unsigned(checksums[t]));
    all[kChecksumPrefix + name] = hex;
  }
  header += "\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : all) {
    header += (first ? "" : ",") + json_string(key) + ":" + json_string(value);
    first = false;
  }
  header += "}}";
  header.append((8 - header.size() % 8) % 8, ' ');  // align the data to 8 bytes
  return header;
}

}  // namespace

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Everything that can be refused is refused before the file is touched.
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    MINIDL_CHECK(tensor.defined(), "save_safetensors", "tensor '", name, "' is undefined");
    MINIDL_CHECK(names.insert(name).second, "save_safetensors", "the tensor name '", name,
                 "' appears twice; nothing was saved (", path, " was left unchanged)");
  }
  for (const auto& [key, value] : metadata) {
    MINIDL_CHECK(key.rfind(kChecksumPrefix, 0) != 0, "save_safetensors", "the metadata key '", key,
                 "' starts with '", kChecksumPrefix, "', which the tensors' checksums use");
  }
  std::vector<uint32_t> checksums(tensors.size(), 0);
  const std::string header = make_header(tensors, metadata, checksums);

  // Write a temporary next to the target, force it to disk, then rename it over the target
  // and force the directory entry to disk: a kill or a power loss at any point leaves either
  // the old file or the complete new one.
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  MINIDL_CHECK(fd >= 0, "save_safetensors", "cannot open ", temporary,
               " for writing: ", std::strerror(errno));
  uint64_t length = header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  bool ok = write_all(fd, bytes.data(), 8) && write_all(fd, header.data(), header.size());
  for (size_t t = 0; t < tensors.size() && ok; ++t) {
    const auto& [name, tensor] = tensors[t];
    const std::vector<float> values = tensor.to_vector();  // x86 is little-endian already
    // Nothing non-finite is ever saved: a diverged run must not overwrite a good checkpoint.
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isfinite(values[i])) continue;
      ::close(fd);
      ::unlink(temporary.c_str());
      detail::fail("save_safetensors", "tensor '", name, "' of shape ", tensor.shape_str(),
                   " holds ", values[i], " at element ", i, "; nothing was saved (", path,
                   " was left unchanged): the run has diverged or the tensor was never written");
    }
    checksums[t] = crc32c(0, values.data(), values.size() * 4);
    ok = write_all(fd, values.data(), values.size() * 4);
  }
  // The header again, now with the checksums: the same length, over the placeholders.
  const std::string final_header = make_header(tensors, metadata, checksums);
  ok = ok && final_header.size() == header.size() &&
       ::pwrite(fd, final_header.data(), final_header.size(), 8) == ssize_t(final_header.size());
  ok = ok && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(temporary.c_str());
    detail::fail("save_safetensors", "writing ", temporary, " failed (", std::strerror(saved_errno),
                 "); ", path, " was left unchanged");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) ::unlink(temporary.c_str());
  MINIDL_CHECK(!error, "save_safetensors", "cannot rename ", temporary, " to ", path, ": ",
               error.message());
  const std::string directory = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace minidl
