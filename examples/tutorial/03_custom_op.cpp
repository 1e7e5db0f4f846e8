// Tutorial 3: an op of your own, with its backward (docs/tutorial.md).
#include <cmath>
#include <cstdio>

#include <minidl/minidl.h>

using namespace minidl;

// softplus(x) = log(1 + exp(x)), elementwise, on CPU tensors; d/dx = 1 / (1 + exp(-x)).
Tensor softplus(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape());
  const float* in = x.data();
  float* out = y.data();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = std::log1p(std::exp(in[i]));
  // record() links y to x in the graph: when backward() reaches y with dL/dy, this function
  // returns dL/dx, one gradient per input. It keeps what it needs (x's values) by value.
  const Tensor x_values = x.detach();
  record("softplus", y, {x}, [x_values](const Tensor& dy) {
    Tensor dx = Tensor::empty(x_values.shape());
    for (int64_t i = 0; i < dx.numel(); ++i) {
      dx.data()[i] = dy.data()[i] / (1.f + std::exp(-x_values.data()[i]));
    }
    return std::vector<Tensor>{dx};
  });
  return y;
}

int main() {
  Generator gen(3);
  Tensor x = Tensor::normal({4, 5}, 0.f, 1.f, gen).set_requires_grad(true);
  ops::sum(softplus(x)).backward();

  // Check the backward against finite differences: (f(x + h) - f(x - h)) / 2h per element.
  NoGradGuard no_grad;
  double worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float h = 1e-2f, saved = x.data()[i];
    x.data()[i] = saved + h;
    const float up = ops::sum(softplus(x)).item();
    x.data()[i] = saved - h;
    const float down = ops::sum(softplus(x)).item();
    x.data()[i] = saved;
    worst = std::fmax(worst, std::fabs((up - down) / (2 * h) - x.grad().data()[i]));
  }
  std::printf("largest gradient error %.2e\n", worst);
  return worst < 1e-3 ? 0 : 1;
}
