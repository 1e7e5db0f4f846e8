// Device selection and the CUDA plumbing that must behave on a machine without a GPU:
// a clear reason instead of a crash, "auto" falling back to the CPU, "cuda" refused by name.
#include <catch2/catch.hpp>

#include "minidl/core/allocator.h"
#include "minidl/core/minidl.h"

using namespace minidl;

TEST_CASE("cuda_status explains why CUDA is or is not usable", "[cpu][device]") {
  const std::string status = cuda_status();
  INFO("cuda_status() = " << status);
  REQUIRE_FALSE(status.empty());
  if (!cuda_available()) {
    CHECK_THAT(status, Catch::Contains("no usable GPU") || Catch::Contains("built without CUDA"));
  }
}

TEST_CASE("parse_device accepts auto, cpu and cuda and rejects anything else", "[cpu][device]") {
  CHECK(parse_device("cpu") == Device::CPU);
  CHECK(parse_device("auto") == (cuda_available() ? Device::CUDA : Device::CPU));
  if (cuda_available()) {
    CHECK(parse_device("cuda") == Device::CUDA);
  } else {
    // In the library's terms (the name given), not a program's flag (train_cifar10's --device).
    REQUIRE_THROWS_WITH(parse_device("cuda"), "device: cuda requested but " + cuda_status());
    REQUIRE_THROWS_AS(parse_device("cuda"), ArgumentError);
  }
  REQUIRE_THROWS_WITH(parse_device("tpu"), Catch::Contains("unknown device 'tpu'"));
  try {
    parse_device("tpu");
  } catch (const ArgumentError& e) {
    CHECK(e.argument() == "name");
  }
}

TEST_CASE("a CUDA tensor without a GPU is a minidl::Error, not a crash", "[cpu][device]") {
  if (cuda_available()) return;  // covered by the gpu suite on machines with a GPU
  REQUIRE_THROWS_AS(Tensor::zeros({2, 3}, Device::CUDA), Error);
  REQUIRE_THROWS_AS(Tensor::ones({4}).to(Device::CUDA), Error);
}

TEST_CASE("the CPU allocator reuses freed blocks of the same size", "[cpu][device]") {
  { Tensor warm = Tensor::empty({1000, 257}); }  // leaves one block of this size cached
  const size_t before = allocator_stats(Device::CPU).device_allocations;
  for (int i = 0; i < 10; ++i) {
    Tensor t = Tensor::empty({1000, 257});
    REQUIRE(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  }
  CHECK(allocator_stats(Device::CPU).device_allocations == before);
}

TEST_CASE("the allocator's peak bytes in use is a high-water mark until reset_peak_memory_stats",
          "[cpu][device]") {
  reset_peak_memory_stats(Device::CPU);
  const size_t base = allocator_stats(Device::CPU).bytes_in_use;
  CHECK(allocator_stats(Device::CPU).peak_bytes_in_use == base);
  size_t block = 0;
  {
    Tensor big = Tensor::empty({1000, 257});
    block = allocator_stats(Device::CPU).bytes_in_use - base;
    CHECK(block >= 1000 * 257 * sizeof(float));
    CHECK(allocator_stats(Device::CPU).peak_bytes_in_use == base + block);
  }
  // Freed (and cached): no longer in use, but the peak remembers it.
  CHECK(allocator_stats(Device::CPU).bytes_in_use == base);
  CHECK(allocator_stats(Device::CPU).peak_bytes_in_use == base + block);
  reset_peak_memory_stats(Device::CPU);
  CHECK(allocator_stats(Device::CPU).peak_bytes_in_use == base);
}
