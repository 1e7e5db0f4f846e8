# The two commands: `make train` and `make test`. Everything else is a convenience.
BUILD_DIR  ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
# Where the CIFAR-10 binary files are (or will be downloaded to). A copy next to the checkout
# (../shared/data/cifar10, as on the team's machines) is used when CIFAR10_DIR is not set.
CIFAR10_DIR ?= $(if $(wildcard ../shared/data/cifar10/test_batch.bin),../shared/data/cifar10,data/cifar10)
TRAIN_ARGS ?=

.PHONY: setup configure build test train bench sanitize fuzz clean

setup:
	./scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The real-data test runs when the dataset is there and reports itself skipped otherwise.
test: build
	cd $(BUILD_DIR) && $(if $(wildcard $(CIFAR10_DIR)/test_batch.bin),CIFAR10_DIR="$(abspath $(CIFAR10_DIR))",env -u CIFAR10_DIR) \
	  ctest --output-on-failure -j $(JOBS)

# The test suites again under AddressSanitizer + UndefinedBehaviorSanitizer, in a build of
# their own (CPU backend; the CUDA kernels run on the emulator): every CPU test and the
# emulated CUDA suite but the full ResNet steps (minutes under the emulator even without
# sanitizers; `make test` runs them), then train_cifar10's refusals and kill -9 + --resume
# script with 3 kills (10 in `make test`). Any report fails the run. .ci/run runs it after
# `make test`.
SANITIZE_DIR ?= build-sanitize
# allocator_may_return_null: an allocation too large to satisfy returns null, as without ASan,
# so that the out-of-memory test sees minidl's own message rather than ASan's abort.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: setup
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMINIDL_SANITIZE=ON \
	  -DMINIDL_CUDA=OFF -DMINIDL_BUILD_BENCH=OFF -DMINIDL_NATIVE=OFF $(CMAKE_ARGS)
	cmake --build $(SANITIZE_DIR) -j $(JOBS)
	cd $(SANITIZE_DIR) && env -u CIFAR10_DIR $(SANITIZER_ENV) \
	  ctest --output-on-failure -j $(JOBS) -E "reference ResNet|native:|train_cifar10_run_safety"
	env $(SANITIZER_ENV) SAFETY_KILLS=3 bash tests/train_safety_test.sh $(SANITIZE_DIR)/train_cifar10

# libFuzzer targets (clang, ASan + UBSan; fuzz/run.sh installs clang when missing) for the
# safetensors reader, the checkpoint loader, the CIFAR-10 reader and train_cifar10's flags, each
# run for FUZZ_SECONDS from the kept corpus (fuzz/corpus/); a finding fails the run and its input
# goes to build-fuzz/artifacts/. FUZZ_TARGETS="checkpoint cifar10" runs a subset.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) JOBS=$(JOBS) ./fuzz/run.sh

# Trains the reference ResNet with the recipe of docs/results/cifar10_cpu.md (the example's
# defaults); metrics.csv and checkpoints go to runs/cifar10. Extra flags: TRAIN_ARGS="...".
train: build
	@test -f "$(CIFAR10_DIR)/test_batch.bin" || ./scripts/download_cifar10.sh "$(CIFAR10_DIR)"
	$(BUILD_DIR)/train_cifar10 --data "$(CIFAR10_DIR)" --out runs/cifar10 $(TRAIN_ARGS)

# The CPU benchmark, then, on a machine with a GPU, the CUDA one (minidl against cuDNN; built
# when the CUDA backend is on and cuDNN was found at configure time). Then the training step
# against PyTorch's (bench/compare_pytorch.py, docs/benchmarks.md) on the CPU (batch 128, 1
# and 2 threads, 3 alternating rounds: about 3 minutes on a 2-core VM) and on the GPU (batch
# 128 and 512). COMPARE_ARGS adds flags to both, e.g. COMPARE_ARGS="--rounds 5 --steps 12".
# Without PyTorch (Debian: python3-torch) the comparison says so and is skipped.
COMPARE_ARGS ?=
COMPARE = python3 bench/compare_pytorch.py --binary $(BUILD_DIR)/bench/bench_train_step \
  $(COMPARE_ARGS)
bench: build
	$(BUILD_DIR)/bench/bench_conv2d_cpu
	@if ! nvidia-smi -L >/dev/null 2>&1; then \
	  echo "bench: no GPU (nvidia-smi -L failed), so bench_conv2d_cuda is not run"; \
	elif [ ! -x $(BUILD_DIR)/bench/bench_conv2d_cuda ]; then \
	  echo "bench: bench_conv2d_cuda was not built (no CUDA backend or no cuDNN)"; \
	else \
	  $(BUILD_DIR)/bench/bench_conv2d_cuda; \
	fi
	$(COMPARE) --device cpu
	@if nvidia-smi -L >/dev/null 2>&1; then \
	  $(COMPARE) --device cuda; \
	else \
	  echo "bench: no GPU (nvidia-smi -L failed), so the GPU training step is not compared"; \
	fi

clean:
	rm -rf $(BUILD_DIR)
