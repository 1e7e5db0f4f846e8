// One libFuzzer target per entry point of fuzz_entries.h, chosen at compile time
// (MINIDL_FUZZ_ENTRY, set by fuzz/CMakeLists.txt). A clean minidl::Error (or the parser's
// UsageError) is the expected answer to a bad input; anything else reaches libFuzzer as a crash.
#include "fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    minidl::fuzz::MINIDL_FUZZ_ENTRY(data, size);
  } catch (const minidl::Error&) {
  } catch (const minidl::UsageError&) {
  }
  return 0;
}
