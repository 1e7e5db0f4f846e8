#!/usr/bin/env bash
# CTest test `clang_build`: compiles the library (and train_cifar10) with clang++, in a build
# folder of its own, so that a GCC-only construct fails `make test` instead of surfacing
# months later in `make fuzz` (which builds the library with clang for libFuzzer). It happened
# once: GCC's __builtin_shuffle in kernels/cpu/vector8.h broke `make fuzz` from c22ce43 on.
# CPU backend only (the .cu files still compile, through the emulator header, as C++), no
# optimization: the test is about what the compiler accepts, not speed.
#   tests/clang_build.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
source_dir=$1 build_dir=$2
clang=${CLANG_CXX:-clang++}
if ! command -v "$clang" >/dev/null 2>&1; then
  echo "clang_build: FAILED: $clang not found; scripts/setup.sh installs the Debian packages clang"
  echo "and libomp-dev (clang's OpenMP), as CI does"
  exit 1
fi
log=$build_dir.log
if ! cmake -S "$source_dir" -B "$build_dir" -DCMAKE_CXX_COMPILER="$clang" \
  -DCMAKE_BUILD_TYPE=Debug -DMINIDL_CUDA=OFF -DMINIDL_BUILD_TESTS=OFF \
  -DMINIDL_BUILD_BENCH=OFF >"$log" 2>&1; then
  cat "$log"
  echo "clang_build: FAILED: configuring with $clang (log above)"
  exit 1
fi
if ! cmake --build "$build_dir" -j "${JOBS:-2}" >>"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -40
  echo "clang_build: FAILED: $("$clang" --version | head -1) rejects the code above (whole log: $log)"
  exit 1
fi
echo "clang_build: the library and train_cifar10 build with $("$clang" --version | head -1)"
