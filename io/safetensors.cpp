#include "io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

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
          switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            default: --pos_, fail(std::string("unknown escape '\\") + e + "'");
          }
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

// A header entry as parsed, before its checks.
struct ParsedEntry {
  TensorEntry entry;
  std::string dtype;
  bool has_dtype = false, has_shape = false, has_offsets = false;
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
    // Nothing non-finite is ever saved: a diverged run must not overwrite a good checkpoint.
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::isfinite(values[i])) continue;
      ::close(fd);
      ::unlink(temporary.c_str());
      detail::fail("save_safetensors", "tensor '", name, "' of shape ", tensor.shape_str(),
                   " holds ", values[i], " at element ", i, "; nothing was saved (", path,
                   " was left unchanged): the run has diverged or the tensor was never written");
    }
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


// ---- reading -----------------------------------------------------------------------------------

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

    // Parse: every tensor name, field and metadata key at most once.
    std::vector<ParsedEntry> parsed;
    std::map<std::string, size_t> names;
    bool seen_metadata = false;
    HeaderParser parser(header, path);
    parser.expect('{');
    if (!parser.peek('}')) {
      do {
        const std::string name = parser.string();
        parser.expect(':');
        parser.expect('{');
        if (name == "__metadata__") {
          if (seen_metadata) parser.fail("'__metadata__' appears twice");
          seen_metadata = true;
          if (!parser.peek('}')) {
            do {
              std::string key = parser.string();
              parser.expect(':');
              std::string value = parser.string();
              if (!metadata_.emplace(key, std::move(value)).second) {
                parser.fail("metadata key '" + key + "' appears twice");
              }
            } while (parser.consume(','));
          }
          parser.expect('}');
          continue;
        }
        if (!names.emplace(name, parsed.size()).second) {
          parser.fail("tensor '" + name + "' appears twice");
        }
        ParsedEntry p;
        p.entry.name = name;
        do {
          const std::string field = parser.string();
          parser.expect(':');
          bool* seen = field == "dtype" ? &p.has_dtype : field == "shape" ? &p.has_shape
                       : field == "data_offsets" ? &p.has_offsets : nullptr;
          if (!seen) parser.fail("unknown field '" + field + "' in tensor '" + name + "'");
          if (*seen) parser.fail("field '" + field + "' of tensor '" + name + "' appears twice");
          *seen = true;
          if (field == "dtype") {
            p.dtype = parser.string();
          } else if (field == "shape") {
            p.entry.shape = parser.integer_array();
          } else {
            const std::vector<int64_t> offsets = parser.integer_array();
            if (offsets.size() != 2) parser.fail("data_offsets of '" + name + "' needs 2 numbers");
            p.entry.begin = offsets[0];
            p.entry.end = offsets[1];
          }
        } while (parser.consume(','));
        parser.expect('}');
        parsed.push_back(std::move(p));
      } while (parser.consume(','));
    }
    parser.expect('}');
    parser.finish();

    // Each tensor on its own, in header order.
    for (const ParsedEntry& p : parsed) {
      const TensorEntry& e = p.entry;
      MINIDL_CHECK(p.has_dtype, op, path, ": tensor '", e.name, "' has no dtype");
      MINIDL_CHECK(p.has_shape, op, path, ": tensor '", e.name, "' has no shape");
      MINIDL_CHECK(p.has_offsets, op, path, ": tensor '", e.name, "' has no data_offsets");
      MINIDL_CHECK(p.dtype == "F32", op, path, ": tensor '", e.name, "' has dtype '", p.dtype,
                   "'; only F32 is supported");
      int64_t elements = 1;  // counted without overflow: a hostile shape must not wrap around
      for (int64_t d : e.shape) {
        MINIDL_CHECK(d == 0 || elements <= INT64_MAX / 4 / d, op, path, ": tensor '", e.name,
                     "' has an impossibly large shape ", shape_str(e.shape));
        elements *= d;
      }
      MINIDL_CHECK(e.begin <= e.end && uint64_t(e.end) <= data_size, op, path, ": tensor '",
                   e.name, "' has data offsets [", e.begin, ", ", e.end, "] outside the ",
                   data_size, " data bytes (truncated file?)");
      MINIDL_CHECK(e.end - e.begin == elements * 4, op, path, ": tensor '", e.name,
                   "' of shape ", shape_str(e.shape), " needs ", elements * 4,
                   " bytes but spans ", e.end - e.begin);
      entries_.push_back(e);
    }

    // Together: the byte ranges, in order, must tile the data section exactly.
    std::vector<const TensorEntry*> order;
    for (const TensorEntry& e : entries_) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    int64_t covered = 0;
    const TensorEntry* previous = nullptr;
    for (const TensorEntry* e : order) {
      MINIDL_CHECK(e->begin >= covered, op, path, ": tensors '", previous ? previous->name : "",
                   "' [", previous ? previous->begin : 0, ", ", covered, ") and '", e->name,
                   "' [", e->begin, ", ", e->end, ") overlap in the data section");
      MINIDL_CHECK(e->begin == covered, op, path, ": data bytes [", covered, ", ", e->begin,
                   ") belong to no tensor (a gap before '", e->name,
                   "'): a damaged file, or not written by a safetensors writer");
      covered = e->end;
      previous = e;
    }
    MINIDL_CHECK(uint64_t(covered) == data_size, op, path, ": ", data_size - uint64_t(covered),
                 " bytes after the last tensor's data (the tensors end at data byte ", covered,
                 " of ", data_size, "): trailing garbage, or a damaged file");
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
    MINIDL_CHECK(got >= 0, "load_safetensors", "reading ", what, " of ", path_, " failed: ",
                 std::strerror(errno));
    MINIDL_CHECK(got > 0, "load_safetensors", path_, " ended at byte ", offset, " while reading ",
                 what, ", before the ", file_size_, " bytes it had when opened (did it shrink?)");
    p += got;
    offset += uint64_t(got);
    size -= uint64_t(got);
  }
}

void SafetensorsReader::read(const TensorEntry& entry, float* out) const {
  read_bytes(data_start_ + uint64_t(entry.begin), out, uint64_t(entry.end - entry.begin),
             "tensor '" + entry.name + "'");  // x86 is little-endian, as the format
}

Tensor SafetensorsReader::read(const TensorEntry& entry) const {
  Tensor t = Tensor::empty(entry.shape);
  read(entry, t.data());
  return t;
}

int64_t SafetensorsReader::first_non_finite(const TensorEntry& entry, float* value) const {
  constexpr int64_t kPiece = (1 << 20) / 4;
  std::vector<float> piece(size_t(std::min(kPiece, entry.numel())));
  for (int64_t first = 0; first < entry.numel(); first += kPiece) {
    const int64_t count = std::min(kPiece, entry.numel() - first);
    read_bytes(data_start_ + uint64_t(entry.begin + first * 4), piece.data(), uint64_t(count * 4),
               "tensor '" + entry.name + "'");
    for (int64_t i = 0; i < count; ++i) {
      if (std::isfinite(piece[size_t(i)])) continue;
      if (value) *value = piece[size_t(i)];
      return first + i;
    }
  }
  return -1;
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
