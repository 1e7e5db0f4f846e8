// CRC-32C (Castagnoli), the checksum the checkpoints store per tensor: a flipped bit, a torn
// write or two tensors swapped are caught by the tensor's name when it is read back. The
// polynomial of iSCSI, ext4 and LevelDB; crc32c("123456789") = 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace minidl {

// The CRC of `bytes` bytes, continuing from `crc` (0 to start; feed pieces in order).
uint32_t crc32c(uint32_t crc, const void* data, size_t bytes);

}  // namespace minidl
