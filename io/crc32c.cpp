#include "minidl/io/crc32c.h"

#include <array>

namespace minidl {

namespace {

// The reflected form of the Castagnoli polynomial 0x1EDC6F41: bit i of the byte's remainder
// table, one entry per byte value (the classic byte-at-a-time algorithm: simple, about
// 0.5 GB/s, well beyond what a checkpoint's disk write needs).
constexpr uint32_t kPolynomial = 0x82F63B78u;

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t r = byte;
    for (int bit = 0; bit < 8; ++bit) r = (r >> 1) ^ ((r & 1) ? kPolynomial : 0);
    table[byte] = r;
  }
  return table;
}

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t bytes) {
  static const std::array<uint32_t, 256> table = make_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < bytes; ++i) crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xff];
  return ~crc;
}

}  // namespace minidl
