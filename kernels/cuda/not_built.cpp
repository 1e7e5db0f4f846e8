// Compiled instead of the .cu files in a build without CUDA (MINIDL_CUDA=OFF or no nvcc), so
// that the CUDA entry points still link. They are unreachable: such a build cannot create a
// CUDA tensor (its allocator throws minidl::Error first), so nothing dispatches here.
#include <cstdio>
#include <cstdlib>

#include "kernels/elementwise.h"

namespace minidl::kernels::cuda {

namespace {
[[noreturn]] void not_built(const char* kernel) {
  std::fprintf(stderr, "minidl: CUDA kernel %s called in a build without CUDA\n", kernel);
  std::abort();
}
}  // namespace

void fill(int64_t, float, float*) { not_built("fill"); }
void add(int64_t, const float*, const float*, float*) { not_built("add"); }
void scale(int64_t, const float*, float, float*) { not_built("scale"); }
void axpy(int64_t, float, const float*, float*) { not_built("axpy"); }
void relu_forward(int64_t, const float*, float*) { not_built("relu_forward"); }
void relu_backward(int64_t, const float*, const float*, float*) { not_built("relu_backward"); }

}  // namespace minidl::kernels::cuda
