// Tutorial 4: save a checkpoint, resume from it, and land exactly where an uninterrupted run
// lands (docs/tutorial.md).
#include <cstdio>

#include <minidl/minidl.h>

using namespace minidl;

// Trains `net` for epochs [first, last) on the same data every time.
void train(Sequential& net, SGD& sgd, LRScheduler& schedule, DataLoader& loader, int first,
           int last) {
  Batch batch;
  for (int epoch = first; epoch < last; ++epoch) {
    for (loader.start_epoch(epoch); loader.next(batch);) {
      const Tensor loss = ops::mse_loss(net(batch.inputs), batch.targets);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      schedule.step();
    }
  }
}

// A fresh model, optimizer and schedule: what a new process builds before it resumes.
struct Run {
  Generator init{5};
  Sequential net{std::make_shared<Linear>(3, 16, true, init), std::make_shared<ReLU>(),
                 std::make_shared<Linear>(16, 1, true, init)};
  SGD sgd{net.parameters(), SgdOptions(0.05f).momentum(0.9f)};
  LRScheduler schedule{sgd, cosine_schedule(4 * 8)};  // 4 epochs of 8 steps
};

int main() {
  Generator gen(2);
  const TensorDataset data(Tensor::normal({256, 3}, 0.f, 1.f, gen),
                           Tensor::normal({256, 1}, 0.f, 1.f, gen));
  DataLoader loader(data, LoaderOptions().batch_size(32).seed(4));

  Run straight;  // 4 epochs in one go
  train(straight.net, straight.sgd, straight.schedule, loader, 0, 4);

  Run first;  // 2 epochs, then a checkpoint: weights, momentum, schedule, epoch
  train(first.net, first.sgd, first.schedule, loader, 0, 2);
  save_checkpoint("tutorial.safetensors", first.net, &first.sgd, &first.schedule,
                  CheckpointState{2});

  Run resumed;  // a new start that loads it and trains the last 2 epochs
  const CheckpointState state =
      load_checkpoint("tutorial.safetensors", resumed.net, &resumed.sgd, &resumed.schedule);
  train(resumed.net, resumed.sgd, resumed.schedule, loader, int(state.epoch), 4);

  const std::vector<float> a = straight.net.parameters()[0].to_vector();
  const std::vector<float> b = resumed.net.parameters()[0].to_vector();
  std::printf("resumed at epoch %lld; first weights %s\n", (long long)state.epoch,
              a == b ? "identical to the uninterrupted run" : "DIFFERENT");
  return a == b ? 0 : 1;
}
