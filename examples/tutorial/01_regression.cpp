// Tutorial 1: a regression MLP on synthetic data (docs/tutorial.md).
#include <cmath>
#include <cstdio>

#include <minidl/minidl.h>

using namespace minidl;

int main() {
  // 1024 points x in [-1, 1]^2 with targets y = 0.5 sin(pi x0) + x1^2, as tensors [N, 2], [N, 1].
  Generator gen(1);
  const Tensor x = Tensor::uniform({1024, 2}, -1.f, 1.f, gen);
  Tensor y = Tensor::empty({1024, 1});
  for (int i = 0; i < 1024; ++i) {
    y.set({i, 0}, 0.5f * std::sin(3.14159265f * x.at({i, 0})) + x.at({i, 1}) * x.at({i, 1}));
  }
  const TensorDataset data(x, y);  // example i: row i of x, target row i of y
  DataLoader loader(data, LoaderOptions().batch_size(32).seed(7));

  Sequential net(std::make_shared<Linear>(2, 64), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(64, 64), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(64, 1));
  SGD sgd(net.parameters(), SgdOptions(0.05f).momentum(0.9f));

  double mse = 0;
  Batch batch;
  for (int epoch = 0; epoch < 30; ++epoch) {
    double sum = 0;
    for (loader.start_epoch(epoch); loader.next(batch);) {
      const Tensor loss = ops::mse_loss(net(batch.inputs), batch.targets);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      sum += loss.item();
    }
    mse = sum / loader.batches_per_epoch();
    if (epoch % 10 == 9) std::printf("epoch %d: mse %.5f\n", epoch + 1, mse);
  }
  return mse < 0.005 ? 0 : 1;  // the targets' variance is about 0.2
}
