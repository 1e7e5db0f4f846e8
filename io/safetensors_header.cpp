#include "minidl/io/safetensors_header.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>

#include "minidl/core/error.h"

namespace minidl::safetensors_header {

namespace {

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
          const auto [end, error] =
              std::from_chars(first, first + std::min<size_t>(4, text_.size() - pos_), code, 16);
          if (error != std::errc() || end != first + 4 || code > 0x7f)
            fail("unsupported \\u escape");
          c = static_cast<char>(code);
          pos_ += 4;
        } else {
          switch (e) {
            case '"':
            case '\\':
            case '/': c = e; break;
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
    const auto [end, error] =
        std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
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

// A header entry as parsed, before its checks.
struct ParsedEntry {
  TensorEntry entry;
  std::string dtype;
  bool has_dtype = false, has_shape = false, has_offsets = false;
};

}  // namespace

Header parse(const std::string& text, const std::string& path, uint64_t data_size) {
  const char* op = "load_safetensors";
  Header header;
  // Parse: every tensor name, field and metadata key at most once.
  std::vector<ParsedEntry> parsed;
  std::map<std::string, size_t> names;
  bool seen_metadata = false;
  HeaderParser parser(text, path);
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
            if (!header.metadata.emplace(key, std::move(value)).second) {
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
        bool* seen = field == "dtype"          ? &p.has_dtype
                     : field == "shape"        ? &p.has_shape
                     : field == "data_offsets" ? &p.has_offsets
                                               : nullptr;
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
    MINIDL_CHECK(e.begin <= e.end && uint64_t(e.end) <= data_size, op, path, ": tensor '", e.name,
                 "' has data offsets [", e.begin, ", ", e.end, "] outside the ", data_size,
                 " data bytes (truncated file?)");
    MINIDL_CHECK(e.end - e.begin == elements * 4, op, path, ": tensor '", e.name, "' of shape ",
                 shape_str(e.shape), " needs ", elements * 4, " bytes but spans ", e.end - e.begin);
    header.entries.push_back(e);
  }

  // Together: the byte ranges, in order, must tile the data section exactly.
  std::vector<const TensorEntry*> order;
  for (const TensorEntry& e : header.entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  int64_t covered = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* e : order) {
    MINIDL_CHECK(e->begin >= covered, op, path, ": tensors '", previous ? previous->name : "",
                 "' [", previous ? previous->begin : 0, ", ", covered, ") and '", e->name, "' [",
                 e->begin, ", ", e->end, ") overlap in the data section");
    MINIDL_CHECK(e->begin == covered, op, path, ": data bytes [", covered, ", ", e->begin,
                 ") belong to no tensor (a gap before '", e->name,
                 "'): a damaged file, or not written by a safetensors writer");
    covered = e->end;
    previous = e;
  }
  MINIDL_CHECK(uint64_t(covered) == data_size, op, path, ": ", data_size - uint64_t(covered),
               " bytes after the last tensor's data (the tensors end at data byte ", covered,
               " of ", data_size, "): trailing garbage, or a damaged file");
  return header;
}

}  // namespace minidl::safetensors_header
