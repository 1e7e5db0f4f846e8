// Tutorial 5: where a training step's time goes (docs/tutorial.md).
#include <cstdio>

#include <minidl/minidl.h>

using namespace minidl;

int main() {
  Generator gen(6);
  const Tensor images = Tensor::normal({32, 3, 16, 16}, 0.f, 1.f, gen);
  const std::vector<int> labels(32, 1);
  Sequential net(std::make_shared<Conv2d>(Conv2dOptions{3, 16, 3, 1, 1}),
                 std::make_shared<BatchNorm2d>(16), std::make_shared<ReLU>(),
                 std::make_shared<Conv2d>(Conv2dOptions{16, 16, 3, 1, 1}),
                 std::make_shared<GlobalAvgPool>(), std::make_shared<Linear>(16, 10));
  SGD sgd(net.parameters(), SgdOptions(0.01f));

  // Profile 3 steps, after the profiler's 5 warm-up steps (the same as MINIDL_PROFILE=1
  // MINIDL_PROFILE_STEPS=3 in the environment). The table goes to stderr after the last one.
  profiler::request(3);
  for (int step = 0; step < profiler::kWarmupSteps + 3; ++step) {
    profiler::begin_step(Device::CPU);
    const Tensor loss = ops::softmax_cross_entropy(net(images), labels);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    profiler::end_step(Device::CPU);
  }
  const std::string table = profiler::report();  // the same table, as a string
  return table.find("conv2d 3->16 3x3 s1 16x16") != std::string::npos ? 0 : 1;
}
