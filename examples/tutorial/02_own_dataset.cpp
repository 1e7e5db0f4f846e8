// Tutorial 2: a small CNN on a dataset of your own (docs/tutorial.md).
#include <cstdio>
#include <random>

#include <minidl/minidl.h>

using namespace minidl;

// 1-channel 28x28 images of a bright horizontal (label 0) or vertical (label 1) line on noise.
// A Dataset needs its size and a way to get example i; `gen` is the loader's generator for
// this batch, so anything random drawn from it is reproducible.
class Lines : public Dataset {
 public:
  explicit Lines(int64_t count) : count_(count) {}
  int64_t size() const override { return count_; }
  Example get(int64_t index, Generator& gen) const override {
    Example e;
    e.input = Tensor::normal({1, 28, 28}, 0.f, 0.3f, gen);
    e.label = int(index % 2);
    const int at = std::uniform_int_distribution<int>(3, 24)(gen.engine());
    for (int t = 0; t < 28; ++t) {
      if (e.label == 0) e.input.set({0, at, t}, 2.f);
      if (e.label == 1) e.input.set({0, t, at}, 2.f);
    }
    return e;
  }

 private:
  int64_t count_;
};

int main() {
  const Lines train(1024), test(256);
  DataLoader loader(train, LoaderOptions().batch_size(64).seed(1));
  Sequential net(
      std::make_shared<Conv2d>(Conv2dOptions{1, 8, 3, 1, 1}), std::make_shared<BatchNorm2d>(8),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2),
      std::make_shared<Conv2d>(Conv2dOptions{8, 16, 3, 1, 1}), std::make_shared<BatchNorm2d>(16),
      std::make_shared<ReLU>(), std::make_shared<GlobalAvgPool>(), std::make_shared<Linear>(16, 2));
  SGD sgd(net.parameters(), SgdOptions(0.05f).momentum(0.9f));

  Batch batch;
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (loader.start_epoch(epoch); loader.next(batch);) {
      const Tensor loss = ops::softmax_cross_entropy(net(batch.inputs), batch.labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
    }
  }

  net.eval();  // BatchNorm uses its running statistics from here on
  NoGradGuard no_grad;
  DataLoader held_out(test, LoaderOptions().batch_size(128).shuffle(false));
  double correct = 0;
  for (held_out.start_epoch(0); held_out.next(batch);) {
    correct += ops::accuracy(net(batch.inputs), batch.labels) * batch.size();
  }
  std::printf("held-out accuracy %.1f%%\n", 100 * correct / test.size());
  return correct / test.size() > 0.95 ? 0 : 1;
}
