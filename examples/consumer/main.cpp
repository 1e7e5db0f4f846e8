// A small CNN trained with an installed minidl. Without CIFAR10_DIR it learns generated
// 32x32 images whose class is the row of a bright band (seconds on two CPU cores); with
// CIFAR10_DIR set it trains on 10,000 CIFAR-10 images. Exits 1 when it did not learn.
// Usage: consumer [cpu|cuda|auto]
#include <cstdio>
#include <cstdlib>

#include <minidl/minidl.h>

using namespace minidl;

// n images; class k has rows 3k..3k+2 brighter than the noise around them.
static Cifar10 generated(int64_t n, Generator& gen) {
  Cifar10 d;
  for (int64_t i = 0; i < n; ++i) {
    d.labels.push_back(static_cast<int>(gen.next_u64() % 10));
    for (int p = 0; p < Cifar10::kImageBytes; ++p)
      d.pixels.push_back(gen.uniform(0.f, 200.f) + (p / 32 % 32 / 3 == d.labels[i] ? 40.f : 0.f));
  }
  return d;
}

int main(int argc, char** argv) {
  Device device = parse_device(argc > 1 ? argv[1] : "auto");
  const char* dir = std::getenv("CIFAR10_DIR");
  Generator gen(7);
  Cifar10 train = dir ? load_cifar10(dir, Split::Train, 10000) : generated(1024, gen);
  Cifar10 test = dir ? load_cifar10(dir, Split::Test, 2000) : generated(256, gen);

  Sequential model;  // (conv-bn-relu-pool) x 2, linear: [N, 3, 32, 32] -> [N, 10]
  model.add(std::make_shared<Conv2d>(Conv2dOptions{3, 16, 3, 1, 1}))
      .add(std::make_shared<BatchNorm2d>(16))
      .add(std::make_shared<ReLU>())
      .add(std::make_shared<MaxPool2d>(2, 2))
      .add(std::make_shared<Conv2d>(Conv2dOptions{16, 32, 3, 1, 1}))
      .add(std::make_shared<BatchNorm2d>(32))
      .add(std::make_shared<ReLU>())
      .add(std::make_shared<MaxPool2d>(2, 2))
      .add(std::make_shared<Flatten>())
      .add(std::make_shared<Linear>(32 * 8 * 8, 10));
  model.to(device);

  const int epochs = dir ? 5 : 3;
  Cifar10Transform normalized;
  normalized.stats = channel_stats(train);
  const Cifar10Dataset train_data(train, normalized), test_data(test, normalized);
  DataLoader loader(train_data, LoaderOptions().batch_size(64));
  DataLoader test_batches(test_data, LoaderOptions().batch_size(64).shuffle(false));
  SGD opt(decay_groups(model.parameters()),
          SgdOptions(0.02f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));
  LRScheduler sched(opt, cosine_schedule(epochs * loader.batches_per_epoch()));
  Batch b;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double loss_sum = 0;
    for (loader.start_epoch(epoch); loader.next(b);) {
      Tensor loss = ops::softmax_cross_entropy(model(b.inputs.to(device)), b.labels);
      opt.zero_grad();
      loss.backward();
      opt.step();
      sched.step();
      loss_sum += loss.item();
    }
    std::printf("epoch %d: train loss %.3f\n", epoch + 1, loss_sum / loader.batches_per_epoch());
  }
  model.eval();
  NoGradGuard no_grad;
  double correct = 0;
  for (test_batches.start_epoch(0); test_batches.next(b);)
    correct += ops::accuracy(model(b.inputs.to(device)), b.labels) * b.labels.size();
  std::printf("test accuracy %.1f%% (chance: 10%%)\n", 100 * correct / test.size());
  save_checkpoint("consumer.safetensors", model, &opt, &sched, CheckpointState{epochs, {}, {}});
  return correct / test.size() > (dir ? 0.35 : 0.8) ? 0 : 1;
}
