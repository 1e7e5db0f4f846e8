// softmax and log_softmax along one dimension (kernels/softmax.h).
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/softmax.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/dim.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

namespace {

Tensor softmax_along(const char* op, const char* backward_op, bool log, const Tensor& x,
                     int64_t dim) {
  checks::nonempty(op, "x", x);
  const dims::AroundDim v = dims::around(x.shape(), dims::normalize(op, "x", x, dim));
  Tensor out = Tensor::empty(x.shape(), x.device());
  MINIDL_DISPATCH(x, op, softmax_forward(v.outer, v.size, v.inner, log, x.data(), out.data()));
  // Both gradients are written with the output alone, so the input can be freed.
  const Tensor y = out.detach();
  record(op, out, {x}, [v, log, y, backward_op](const Tensor& g) {
    Tensor dx = Tensor::empty(y.shape(), y.device());
    MINIDL_DISPATCH(g, backward_op,
                    softmax_backward(v.outer, v.size, v.inner, log, y.data(), g.data(), dx.data()));
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_along("softmax", "softmax backward", false, x, dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_along("log_softmax", "log_softmax backward", true, x, dim);
}

}  // namespace minidl::ops
