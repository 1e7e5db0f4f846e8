// Kernels that move elements between layouts without arithmetic: a block copy between two
// tensors viewed as [outer, size, inner] around one dimension (what cat, narrow and their
// backward passes need), and the general permutation of dimensions (permute, transpose).
// minidl's tensors have no strides (core/tensor.h): each of these writes a new contiguous
// tensor, where a framework with strided views would return a view.
//
// Reference: tests/reference/shape_ops.cpp, the double-precision loops written to be obviously
// right. The CPU kernels here are tested against it, the CUDA kernels against the CPU ones
// (docs/testing.md).
#pragma once

#include <cstdint>

#include "minidl/kernels/host_device.h"

namespace minidl::kernels {

// A slab of `length` indices along the middle dimension of two tensors that agree on outer and
// inner: src is [outer, src_size, inner] and the slab starts at src_start; dst is
// [outer, dst_size, inner] and it lands at dst_start.
//   narrow:          src the input, dst the output (dst_start 0, dst_size = length)
//   cat, input j:    src input j (src_start 0), dst the output at the offset of input j
//   flip:            the whole dimension, with `reverse`: the slab is read backwards
//   their backwards: the same copies with src and dst swapped (a flip is its own inverse)
struct SliceCopy {
  int64_t outer = 1, inner = 1, length = 0;
  int64_t src_size = 0, src_start = 0;
  int64_t dst_size = 0, dst_start = 0;
  bool reverse = false;  // element k of the slab is read from src index length - 1 - k

  MINIDL_HOST_DEVICE int64_t count() const { return outer * length * inner; }
  // Element e of the slab, in [outer, length, inner] order, in each tensor.
  MINIDL_HOST_DEVICE int64_t src_index(int64_t e) const {
    return index(e, src_size, src_start, reverse);
  }
  MINIDL_HOST_DEVICE int64_t dst_index(int64_t e) const {
    return index(e, dst_size, dst_start, false);
  }
  // The same slab copied back, from dst to src: the backward pass of the copy.
  SliceCopy reversed() const {
    SliceCopy r = *this;
    r.src_size = dst_size;
    r.src_start = dst_start;
    r.dst_size = src_size;
    r.dst_start = src_start;
    return r;
  }

 private:
  MINIDL_HOST_DEVICE int64_t index(int64_t e, int64_t size, int64_t start, bool backwards) const {
    const int64_t i = e % inner, k = (e / inner) % length, o = e / (inner * length);
    return (o * size + start + (backwards ? length - 1 - k : k)) * inner + i;
  }
};

// out = x with its dimensions reordered: out dimension d is x dimension perm[d]. Held as what
// the kernels need, the output's sizes and, for each output dimension, the step in x between
// neighbouring indices (x's row-major stride of dimension perm[d]). Passed by value to a CUDA
// kernel, hence fixed arrays: kMaxDims bounds the rank (ops::permute checks it).
struct PermuteShape {
  static constexpr int kMaxDims = 8;
  int rank = 0;
  int64_t out_sizes[kMaxDims] = {};
  int64_t in_strides[kMaxDims] = {};  // indexed by output dimension

  MINIDL_HOST_DEVICE int64_t count() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= out_sizes[d];
    return n;
  }
  // The index in x of output element e: e's coordinates, last dimension fastest, each times
  // the step of its dimension in x.
  MINIDL_HOST_DEVICE int64_t src_index(int64_t e) const {
    int64_t src = 0;
    for (int d = rank - 1; d >= 0; --d) {
      src += (e % out_sizes[d]) * in_strides[d];
      e /= out_sizes[d];
    }
    return src;
  }
};

namespace cpu {
// dst[s.dst_index(e)] = src[s.src_index(e)] for every e < s.count(); dst's other elements are
// left as they are.
void copy_slice(const SliceCopy& s, const float* src, float* dst);
// out[e] = x[s.src_index(e)] for every e < s.count().
void permute(const PermuteShape& s, const float* x, float* out);
}  // namespace cpu

namespace cuda {  // the same contracts; every pointer is device memory
void copy_slice(const SliceCopy& s, const float* src, float* dst);
void permute(const PermuteShape& s, const float* x, float* out);
}  // namespace cuda

MINIDL_SAME_KERNEL(copy_slice);
MINIDL_SAME_KERNEL(permute);

}  // namespace minidl::kernels
