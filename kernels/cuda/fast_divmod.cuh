// Division by a number that is fixed for a whole kernel launch, without a divide instruction.
//
// GPUs have no integer divider: `n / d` with a run-time d compiles to a ~20-instruction
// sequence, and the first convolution kernels did several per loaded element (turning a
// column index into image, row and column). The profiler counted them among the top costs.
// The classic fix (Granlund and Montgomery, 1994; CUTLASS's FastDivmod): for a divisor d pick
// a shift l = ceil(log2 d) and a magic multiplier m = floor(2^32 (2^l - d) / d) + 1, computed
// once on the host (or once per block); then for 0 <= n < 2^31
//     n / d == (umulhi(n, m) + n) >> l
// where umulhi is the high half of the 32x32-bit product: one multiply, one add, one shift.
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"
#ifdef MINIDL_CUDA_EMULATION
#include "minidl/kernels/cuda/cuda_compat.cuh"  // the emulator's __umulhi (nvcc has it built in)
#endif

namespace minidl::kernels::cuda {

class FastDivmod {
 public:
  FastDivmod() = default;
  MINIDL_HOST_DEVICE explicit FastDivmod(int divisor) : divisor_(divisor) {
    unsigned shift = 0;
    while ((1u << shift) < unsigned(divisor)) ++shift;
    shift_ = shift;
    const uint64_t numerator = (uint64_t(1) << 32) * ((uint64_t(1) << shift) - unsigned(divisor));
    multiplier_ = unsigned(numerator / unsigned(divisor) + 1);
  }

  MINIDL_HOST_DEVICE int divisor() const { return divisor_; }

  // quotient = n / divisor, remainder = n % divisor, for 0 <= n < 2^31.
  MINIDL_HOST_DEVICE void divmod(int n, int& quotient, int& remainder) const {
    quotient = div(n);
    remainder = n - quotient * divisor_;
  }

  MINIDL_HOST_DEVICE int div(int n) const {
#if defined(__CUDA_ARCH__) || defined(MINIDL_CUDA_EMULATION)
    const unsigned high = __umulhi(unsigned(n), multiplier_);
#else
    const unsigned high = unsigned((uint64_t(unsigned(n)) * multiplier_) >> 32);
#endif
    return int((high + unsigned(n)) >> shift_);
  }

 private:
  int divisor_ = 1;
  unsigned multiplier_ = 1, shift_ = 0;
};

}  // namespace minidl::kernels::cuda
