// End to end on the real data: the reference ResNet trained for one epoch on the first 5,000
// CIFAR-10 training images must reach well above chance (10%) on 1,000 test images.
// Runs when CIFAR10_DIR points at the binary dataset (.ci/run sets it when ../shared has it);
// otherwise it prints "SKIPPED: <reason>" and CTest reports it as skipped.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "minidl/core/minidl.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/loader.h"
#include "minidl/models/resnet.h"
#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"

using namespace minidl;

TEST_CASE("the reference ResNet learns CIFAR-10: one epoch on 5000 images beats 30 percent",
          "[cpu][cifar10]") {
  const char* dir = std::getenv("CIFAR10_DIR");
  if (!dir || !*dir) {
    WARN("SKIPPED: CIFAR10_DIR is not set (point it at the CIFAR-10 binary dataset)");
    return;
  }
  const Cifar10 train_set = load_cifar10(dir, Split::Train, 5000);
  const Cifar10 test_set = load_cifar10(dir, Split::Test, 1000);
  Cifar10Transform augmented;
  augmented.augment = true;
  const Cifar10Dataset train_data(train_set, augmented), test_data(test_set);
  DataLoader train_loader(train_data, LoaderOptions().batch_size(64).seed(3));
  DataLoader test_loader(test_data, LoaderOptions().batch_size(500).shuffle(false));

  manual_seed(3);
  ResNet model;
  SGD sgd(decay_groups(model.parameters()),
          SgdOptions(0.05f).momentum(0.9f).weight_decay(5e-4f).nesterov(true));
  LRScheduler scheduler(sgd, one_cycle(train_loader.batches_per_epoch(), 0.25));
  train_loader.start_epoch(0);
  Batch batch;
  while (train_loader.next(batch)) {
    const Tensor loss = ops::softmax_cross_entropy(model.forward(batch.inputs), batch.labels);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    scheduler.step();
  }

  NoGradGuard no_grad;
  model.eval();
  test_loader.start_epoch(0);
  double correct = 0;
  while (test_loader.next(batch)) {
    correct += ops::accuracy(model.forward(batch.inputs), batch.labels) * batch.labels.size();
  }
  const double accuracy = correct / test_set.size();
  INFO("test accuracy after one epoch on 5,000 images: " << accuracy);
  CHECK(accuracy > 0.30);
}
