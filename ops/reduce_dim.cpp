// sum and mean along one dimension, with or without keeping it (kernels/reduce_dim.h). The
// sums over every element, sum(x) and mean(x), are in ops/elementwise.cpp.
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/reduce_dim.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/dim.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  checks::nonempty("sum", "x", x);
  const int64_t d = dims::normalize("sum", "x", x, dim);
  const dims::AroundDim v = dims::around(x.shape(), d);
  Shape reduced = x.shape();
  if (keepdim) {
    reduced[d] = 1;
  } else {
    reduced.erase(reduced.begin() + d);
  }
  Tensor out = Tensor::empty(reduced, x.device());
  MINIDL_DISPATCH(x, "sum", sum_dim(v.outer, v.size, v.inner, x.data(), out.data()));
  const Shape shape = x.shape();
  record(
      "sum", out, {x},
      [v, shape](const Tensor& g) {
        Tensor dx = Tensor::empty(shape, g.device());
        MINIDL_DISPATCH(g, "sum backward",
                        broadcast_dim(v.outer, v.size, v.inner, g.data(), dx.data()));
        return std::vector<Tensor>{dx};
      },
      SavedInputs::ShapesOnly);
  return out;
}

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  checks::nonempty("mean", "x", x);
  const int64_t d = dims::normalize("mean", "x", x, dim);
  // As mean(x) is scale(sum(x)): two nodes, each with its own backward.
  return scale(sum(x, d, keepdim), 1.f / static_cast<float>(x.size(d)));
}

}  // namespace minidl::ops
