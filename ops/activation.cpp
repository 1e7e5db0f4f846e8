// The elementwise activations sigmoid, tanh, exp, log and GELU: one kernel pair for the five
// (kernels/activation.h), told apart by kernels::Activation.
#include "minidl/core/autograd.h"
#include "minidl/core/dispatch.h"
#include "minidl/kernels/activation.h"
#include "minidl/ops/checks.h"
#include "minidl/ops/ops.h"

namespace minidl::ops {

namespace {

using kernels::Activation;

Tensor activation(const char* op, const char* backward_op, Activation f, const Tensor& x) {
  checks::nonempty(op, "x", x);
  Tensor out = Tensor::empty(x.shape(), x.device());
  MINIDL_DISPATCH(x, op, activation_forward(f, x.numel(), x.data(), out.data()));
  // The backward reads the output (sigmoid, tanh, exp) or the input (log, GELU), never both; the
  // other can be freed as soon as the forward pass is done with it.
  const Tensor saved = kernels::activation_grad_reads_input(f) ? x.detach() : out.detach();
  record(op, out, {x}, [f, saved, backward_op](const Tensor& g) {
    Tensor dx = Tensor::empty(saved.shape(), saved.device());
    MINIDL_DISPATCH(g, backward_op,
                    activation_backward(f, saved.numel(), saved.data(), g.data(), dx.data()));
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace

Tensor sigmoid(const Tensor& x) {
  return activation("sigmoid", "sigmoid backward", Activation::Sigmoid, x);
}

Tensor tanh(const Tensor& x) { return activation("tanh", "tanh backward", Activation::Tanh, x); }

Tensor exp(const Tensor& x) { return activation("exp", "exp backward", Activation::Exp, x); }

Tensor log(const Tensor& x) { return activation("log", "log backward", Activation::Log, x); }

Tensor gelu(const Tensor& x) { return activation("gelu", "gelu backward", Activation::Gelu, x); }

}  // namespace minidl::ops
