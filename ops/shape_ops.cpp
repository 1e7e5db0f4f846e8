// The ops that rearrange elements without arithmetic: cat, narrow, flip, transpose, permute
// (kernels/shape_ops.h). Tensors have no strides (core/tensor.h), so each writes a new
// contiguous tensor; reshape and flatten, which keep the order of the elements, are views
// (Tensor::reshape in core/tensor.cpp).
#include <string>

#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/shape_ops.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/dim.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

namespace {

using kernels::PermuteShape;
using kernels::SliceCopy;

// The slab of `length` indices at src_start along dimension d of `shape`, copied to the start
// of a tensor that is `length` long there (narrow), or back (its backward).
SliceCopy narrow_copy(const Shape& shape, int64_t d, int64_t start, int64_t length) {
  const dims::AroundDim v = dims::around(shape, d);
  SliceCopy s;
  s.outer = v.outer;
  s.inner = v.inner;
  s.length = length;
  s.src_size = v.size;
  s.src_start = start;
  s.dst_size = length;
  s.dst_start = 0;
  return s;
}

// x with its dimensions reordered (out dimension d is x dimension perm[d]), outside the graph.
Tensor permuted(const char* op, const Tensor& x, const std::vector<int64_t>& perm) {
  const int rank = static_cast<int>(x.dim());
  int64_t strides[PermuteShape::kMaxDims];  // x's row-major strides
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= x.size(d);
  }
  PermuteShape s;
  s.rank = rank;
  Shape out_shape(rank);
  for (int d = 0; d < rank; ++d) {
    out_shape[d] = s.out_sizes[d] = x.size(perm[d]);
    s.in_strides[d] = strides[perm[d]];
  }
  Tensor out = Tensor::empty(out_shape, x.device());
  MINIDL_DISPATCH(x, op, permute(s, x.data(), out.data()));
  return out;
}

Tensor permute_recorded(const char* op, const char* backward_op, const Tensor& x,
                        const std::vector<int64_t>& perm) {
  Tensor out = permuted(op, x, perm);
  // The gradient goes back through the inverse permutation: x dimension perm[d] was out's d.
  std::vector<int64_t> inverse(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) inverse[perm[d]] = int64_t(d);
  record(
      op, out, {x},
      [backward_op, inverse](const Tensor& g) {
        return std::vector<Tensor>{permuted(backward_op, g, inverse)};
      },
      SavedInputs::ShapesOnly);
  return out;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  MINIDL_CHECK(!tensors.empty(), "cat", "needs at least one tensor, got none");
  const Tensor& first = tensors[0];
  for (size_t j = 0; j < tensors.size(); ++j) {
    checks::nonempty("cat", ("tensors[" + std::to_string(j) + "]").c_str(), tensors[j]);
  }
  const int64_t d = dims::normalize("cat", "tensors[0]", first, dim);
  int64_t total = 0;
  for (size_t j = 0; j < tensors.size(); ++j) {
    const Tensor& t = tensors[j];
    checks::same_device("cat", {first, t});
    bool fits = t.dim() == first.dim();
    for (int64_t k = 0; fits && k < t.dim(); ++k) fits = k == d || t.size(k) == first.size(k);
    MINIDL_CHECK(fits, "cat", "tensors[", j, "] of shape ", t.shape_str(),
                 " does not match tensors[0] of shape ", first.shape_str(),
                 " in every dimension but dim ", d);
    total += t.size(d);
  }
  Shape out_shape = first.shape();
  out_shape[d] = total;
  Tensor out = Tensor::empty(out_shape, first.device());

  // Input j lands at offset (the sizes of the inputs before it) along d.
  // Input j is the slab of the output at offset (the sizes of the inputs before it) along d:
  // the output narrowed there, copied the other way.
  std::vector<SliceCopy> slabs;
  std::vector<Shape> shapes;
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    const SliceCopy narrowed = narrow_copy(out_shape, d, offset, t.size(d));
    MINIDL_DISPATCH(t, "cat", copy_slice(narrowed.reversed(), t.data(), out.data()));
    slabs.push_back(narrowed);
    shapes.push_back(t.shape());
    offset += t.size(d);
  }
  record(
      "cat", out, tensors,
      [slabs, shapes](const Tensor& g) {
        std::vector<Tensor> grads;
        for (size_t j = 0; j < slabs.size(); ++j) {
          Tensor dx = Tensor::empty(shapes[j], g.device());
          MINIDL_DISPATCH(g, "cat backward", copy_slice(slabs[j], g.data(), dx.data()));
          grads.push_back(dx);
        }
        return grads;
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  checks::nonempty("narrow", "x", x);
  const int64_t d = dims::normalize("narrow", "x", x, dim);
  MINIDL_CHECK(start >= 0 && length >= 1 && start + length <= x.size(d), "narrow", "start ", start,
               " and length ", length, " do not select a non-empty range of the ", x.size(d),
               " indices of dim ", d, " of x of shape ", x.shape_str());
  Shape out_shape = x.shape();
  out_shape[d] = length;
  Tensor out = Tensor::empty(out_shape, x.device());
  const SliceCopy s = narrow_copy(x.shape(), d, start, length);
  MINIDL_DISPATCH(x, "narrow", copy_slice(s, x.data(), out.data()));
  const Shape shape = x.shape();
  record(
      "narrow", out, {x},
      [s, shape](const Tensor& g) {
        // The indices narrow left out get no gradient: zeros, then the slab copied back.
        Tensor dx = Tensor::zeros(shape, g.device());
        MINIDL_DISPATCH(g, "narrow backward", copy_slice(s.reversed(), g.data(), dx.data()));
        return std::vector<Tensor>{dx};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor flip(const Tensor& x, int64_t dim) {
  checks::nonempty("flip", "x", x);
  const int64_t d = dims::normalize("flip", "x", x, dim);
  Tensor out = Tensor::empty(x.shape(), x.device());
  SliceCopy s = narrow_copy(x.shape(), d, 0, x.size(d));
  s.reverse = true;
  MINIDL_DISPATCH(x, "flip", copy_slice(s, x.data(), out.data()));
  record(
      "flip", out, {x},
      [s](const Tensor& g) {
        Tensor dx = Tensor::empty(g.shape(), g.device());  // a flip is its own inverse
        MINIDL_DISPATCH(g, "flip backward", copy_slice(s.reversed(), g.data(), dx.data()));
        return std::vector<Tensor>{dx};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  checks::nonempty("transpose", "x", x);
  const int64_t d0 = dims::normalize("transpose", "x", x, dim0);
  const int64_t d1 = dims::normalize("transpose", "x", x, dim1);
  MINIDL_CHECK(x.dim() <= PermuteShape::kMaxDims, "transpose", "x of shape ", x.shape_str(),
               " has more than ", PermuteShape::kMaxDims, " dimensions");
  std::vector<int64_t> perm(x.dim());
  for (size_t k = 0; k < perm.size(); ++k) perm[k] = int64_t(k);
  std::swap(perm[d0], perm[d1]);
  return permute_recorded("transpose", "transpose backward", x, perm);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
  checks::nonempty("permute", "x", x);
  const int64_t rank = x.dim();
  MINIDL_CHECK(rank <= PermuteShape::kMaxDims, "permute", "x of shape ", x.shape_str(),
               " has more than ", PermuteShape::kMaxDims, " dimensions");
  MINIDL_CHECK(int64_t(order.size()) == rank, "permute", "got ", order.size(),
               " dims for x of shape ", x.shape_str(), " (rank ", rank, ")");
  std::vector<int64_t> perm(order.size());
  std::vector<bool> seen(order.size(), false);
  for (size_t k = 0; k < order.size(); ++k) {
    perm[k] = dims::normalize("permute", "x", x, order[k]);
    MINIDL_CHECK(!seen[perm[k]], "permute", "dim ", perm[k],
                 " appears twice in the dims of x of shape ", x.shape_str());
    seen[perm[k]] = true;
  }
  return permute_recorded("permute", "permute backward", x, perm);
}

}  // namespace minidl::ops
