#include "core/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

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

// A reader for the JSON subset safetensors headers use: objects, strings, arrays of
// non-negative integers. Errors name the file and the byte position in the header.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : text_(text), path_(path) {}

  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) fail("unterminated escape");
        const char e = text_[pos_++];
        if (e == 'u') {  // only the control characters save_safetensors escapes
          unsigned code = 0;
          const char* first = text_.data() + pos_;
          const auto [end, error] = std::from_chars(first, first + std::min<size_t>(4, text_.size() - pos_), code, 16);
          if (error != std::errc() || end != first + 4 || code > 0x7f) fail("unsupported \\u escape");
          c = static_cast<char>(code);
          pos_ += 4;
        } else {
          c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
      }
      out += c;
    }
    expect('"');
    return out;
  }
  int64_t integer() {
    skip_space();
    int64_t value = 0;
    const auto [end, error] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
    if (error != std::errc() || value < 0) fail("expected a non-negative integer below 2^63");
    pos_ = end - text_.data();
    return value;
  }
  std::vector<int64_t> integer_array() {
    std::vector<int64_t> out;
    expect('[');
    if (peek(']')) return ++pos_, out;
    do out.push_back(integer());
    while (consume(','));
    expect(']');
    return out;
  }
  bool consume(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  void finish() {
    skip_space();
    if (pos_ != text_.size()) fail("trailing characters after the header object");
  }
  [[noreturn]] void fail(const std::string& what) const {
    detail::fail("load_safetensors", path_, ": malformed header at byte ", pos_, ": ", what);
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  const std::string& text_;
  const std::string& path_;
  size_t pos_ = 0;
};

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

struct Entry {
  std::string name, dtype;
  Shape shape;
  int64_t begin = -1, end = -1;
};

}  // namespace

const Tensor& TensorFile::get(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  detail::fail("checkpoint", path, " has no tensor named '", name, "'");
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  int64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    MINIDL_CHECK(tensor.defined(), "save_safetensors", "tensor '", name, "' is undefined");
    const int64_t bytes = tensor.numel() * 4;
    header += json_string(name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t d = 0; d < tensor.shape().size(); ++d) {
      header += (d ? "," : "") + std::to_string(tensor.shape()[d]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]},";
    offset += bytes;
  }
  header += "\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    header += (first ? "" : ",") + json_string(key) + ":" + json_string(value);
    first = false;
  }
  header += "}}";
  header.append((8 - header.size() % 8) % 8, ' ');  // align the data to 8 bytes

  // Write a temporary next to the target, force it to disk, then rename it over the target
  // and force the directory entry to disk: a kill or a power loss at any point leaves either
  // the old file or the complete new one.
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  MINIDL_CHECK(fd >= 0, "save_safetensors", "cannot open ", temporary, " for writing: ",
               std::strerror(errno));
  uint64_t length = header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  bool ok = write_all(fd, bytes.data(), 8) && write_all(fd, header.data(), header.size());
  for (const auto& [name, tensor] : tensors) {
    if (!ok) break;
    const std::vector<float> values = tensor.to_vector();  // x86 is little-endian already
    ok = write_all(fd, values.data(), values.size() * 4);
  }
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

TensorFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MINIDL_CHECK(in.good(), "load_safetensors", "cannot open ", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  MINIDL_CHECK(bytes.size() >= 8, "load_safetensors", path, " is ", bytes.size(),
               " bytes long, too short for a safetensors file");
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  MINIDL_CHECK(header_length <= bytes.size() - 8, "load_safetensors", path, ": header length ",
               header_length, " exceeds the file size ", bytes.size(), " (truncated file?)");
  const std::string header = bytes.substr(8, header_length);
  const size_t data_start = 8 + header_length, data_size = bytes.size() - data_start;

  TensorFile file;
  file.path = path;
  std::vector<Entry> entries;
  HeaderParser parser(header, path);
  parser.expect('{');
  if (!parser.peek('}')) {
    do {
      const std::string name = parser.string();
      parser.expect(':');
      parser.expect('{');
      if (name == "__metadata__") {
        if (!parser.peek('}')) {
          do {
            std::string key = parser.string();
            parser.expect(':');
            file.metadata[key] = parser.string();
          } while (parser.consume(','));
        }
        parser.expect('}');
        continue;
      }
      Entry entry;
      entry.name = name;
      do {
        const std::string field = parser.string();
        parser.expect(':');
        if (field == "dtype") {
          entry.dtype = parser.string();
        } else if (field == "shape") {
          entry.shape = parser.integer_array();
        } else if (field == "data_offsets") {
          const std::vector<int64_t> offsets = parser.integer_array();
          if (offsets.size() != 2) parser.fail("data_offsets of '" + name + "' needs 2 numbers");
          entry.begin = offsets[0];
          entry.end = offsets[1];
        } else {
          parser.fail("unknown field '" + field + "' in tensor '" + name + "'");
        }
      } while (parser.consume(','));
      parser.expect('}');
      entries.push_back(entry);
    } while (parser.consume(','));
  }
  parser.expect('}');
  parser.finish();

  for (const Entry& e : entries) {
    int64_t elements = 1;  // counted without overflow: a hostile shape must not wrap around
    for (int64_t d : e.shape) {
      MINIDL_CHECK(d == 0 || elements <= INT64_MAX / 4 / d, "load_safetensors", path,
                   ": tensor '", e.name, "' has an impossibly large shape ", shape_str(e.shape));
      elements *= d;
    }
    MINIDL_CHECK(e.dtype == "F32", "load_safetensors", path, ": tensor '", e.name, "' has dtype '",
                 e.dtype, "'; only F32 is supported");
    MINIDL_CHECK(e.begin >= 0 && e.begin <= e.end && uint64_t(e.end) <= data_size,
                 "load_safetensors", path, ": tensor '", e.name, "' has data offsets [", e.begin,
                 ", ", e.end, "] outside the ", data_size, " data bytes (truncated file?)");
    MINIDL_CHECK(e.end - e.begin == elements * 4, "load_safetensors", path, ": tensor '",
                 e.name, "' of shape ", shape_str(e.shape), " needs ", elements * 4,
                 " bytes but spans ", e.end - e.begin);
    Tensor t = Tensor::empty(e.shape);
    std::memcpy(t.data(), bytes.data() + data_start + e.begin, size_t(e.end - e.begin));
    file.tensors.emplace_back(e.name, t);
  }
  return file;
}

}  // namespace minidl
