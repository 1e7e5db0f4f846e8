// CUDA layout copies (cat, narrow, permute, transpose): elementwise grid-stride loops over the
// output, one thread per element, the index arithmetic of kernels/shape_ops.h (SliceCopy,
// PermuteShape), shared with the CPU.
//
// Memory access: copy_slice's neighbouring threads touch neighbouring floats on both sides, so
// every warp access is coalesced. permute's writes are coalesced but its reads jump by the
// input's strides; a tiled transpose through shared memory would coalesce both (the classic
// 32x32 tile), at the price of a kernel per pair of dimensions. Not done: no op of the
// reference model permutes, so the plain formula is kept.
#include "minidl/kernels/cuda/launch.cuh"
#include "minidl/kernels/cuda/reduce.cuh"
#include "minidl/kernels/shape_ops.h"

namespace minidl::kernels::cuda {

namespace {

__global__ void copy_slice_kernel(SliceCopy s, const float* src, float* dst) {
  const int64_t n = s.count();
  for (int64_t e = first_index(); e < n; e += grid_stride()) {
    dst[s.dst_index(e)] = src[s.src_index(e)];
  }
}

__global__ void permute_kernel(PermuteShape s, const float* x, float* out) {
  const int64_t n = s.count();
  for (int64_t e = first_index(); e < n; e += grid_stride()) out[e] = x[s.src_index(e)];
}

}  // namespace

void copy_slice(const SliceCopy& s, const float* src, float* dst) {
  launch("copy_slice", copy_slice_kernel, grid_for(s.count()), kBlockSize, s, src, dst);
}

void permute(const PermuteShape& s, const float* x, float* out) {
  launch("permute", permute_kernel, grid_for(s.count()), kBlockSize, s, x, out);
}

}  // namespace minidl::kernels::cuda
