# The two commands: `make train` and `make test`. Everything else is a convenience.
BUILD_DIR ?= build
JOBS      ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: setup configure build test train bench clean

setup:
	./scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

train: build
	@echo "make train: not yet. The training stack (layers, optimizers, data, the ResNet) is issue #3." >&2
	@exit 1

bench: build
	$(BUILD_DIR)/bench/bench_conv2d_cpu

clean:
	rm -rf $(BUILD_DIR)
