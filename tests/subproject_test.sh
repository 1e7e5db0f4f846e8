#!/usr/bin/env bash
# minidl as a subproject (issue #19): a tiny parent project add_subdirectory()s this tree and
# links minidl::minidl. minidl must then
#   1. define the library and nothing else (no train_cifar10, tests or benchmarks),
#   2. leave the parent's build type as the parent set it (here: none),
#   3. give the parent's own sources no -march=native and no include root in which core/,
#      ops/ or io/ resolve: only <minidl/core/tensor.h>, from the build folder's include/,
#   4. add nothing to the parent's install,
#   5. build, with the parent's program running;
# and, configured with the CUDA backend on a machine without a GPU, choose sm_80 and sm_90.
# usage: subproject_test.sh SOURCE_DIR      (registered with CTest as `subproject`)
set -euo pipefail

src=$(realpath "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/minidl_subproject.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$work/parent"
cat > "$work/parent/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(parent LANGUAGES CXX)
add_subdirectory("$src" minidl)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE minidl::minidl)
install(TARGETS app DESTINATION bin)
foreach(target train_cifar10 minidl_cpu_tests minidl_emulated bench_train_step)
  if(TARGET \${target})
    message(FATAL_ERROR "minidl as a subproject defined \${target}")
  endif()
endforeach()
if(CMAKE_BUILD_TYPE)
  message(FATAL_ERROR "minidl set the parent's CMAKE_BUILD_TYPE to \${CMAKE_BUILD_TYPE}")
endif()
EOF
cat > "$work/parent/main.cpp" <<'EOF'
#include <cstdio>

#include <minidl/minidl.h>
#include <minidl/core/tensor.h>

// Only minidl/ may reach the parent's include path: a bare core/ or ops/ would collide with
// the parent's own folders.
#if __has_include("core/tensor.h") || __has_include("ops/ops.h") || __has_include("io/checkpoint.h")
#error "minidl put a generic include root (core/, ops/, io/) on the parent's include path"
#endif

int main() {
  using namespace minidl;
  const Tensor a = Tensor::full({2, 3}, 2.f), b = Tensor::ones({3, 4});
  const float got = ops::sum(ops::matmul(a, b)).item();  // 8 elements of 6
  std::printf("subproject: sum(matmul) = %g\n", got);
  return got == 48.f ? 0 : 1;
}
EOF

# 1-3 at configure time (the parent's own checks, and its compile command).
cmake -S "$work/parent" -B "$work/build" -DMINIDL_CUDA=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "the parent did not configure"; }
command=$(python3 - "$work/build/compile_commands.json" <<'EOF'
import json, sys
for entry in json.load(open(sys.argv[1])):
    if entry["file"].endswith("parent/main.cpp"):
        print(entry["command"])
EOF
)
[[ -n $command ]] || fail "no compile command for the parent's main.cpp"
[[ $command != *-march=native* ]] || fail "-march=native reaches the parent's sources: $command"
[[ $command != *"$src"* ]] || fail "the parent's compile command names minidl's source tree: $command"
echo "configure: library only, build type untouched, no -march=native and no source-tree include root in: $command"

# 5: it builds and runs.
cmake --build "$work/build" -j "$(nproc)" > "$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log"; fail "the parent did not build"; }
"$work/build/app" || fail "the parent's program failed"

# 4: the parent's install holds the parent's program only.
cmake --install "$work/build" --prefix "$work/prefix" > "$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "the parent's install failed"; }
installed=$(cd "$work/prefix" && find . -type f | sort)
[[ $installed == "./bin/app" ]] || fail "the parent's install holds more than its program: $installed"
echo "install: ./bin/app only"

# The CUDA architectures without a GPU (configure only; skipped without nvcc).
if command -v nvcc > /dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L > /dev/null 2>&1; then
    cmake -S "$work/parent" -B "$work/build-cuda" -DMINIDL_CUDA=ON \
      -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" \
      > "$work/cuda.log" 2>&1 || { cat "$work/cuda.log"; fail "the CUDA configure failed"; }
    grep -q "CUDA backend ON (MINIDL_CUDA=ON, architectures 80;90)" "$work/cuda.log" ||
      { grep "minidl:" "$work/cuda.log"; fail "without a GPU the architectures are not 80;90"; }
    echo "cuda: architectures 80;90 without a GPU"
  fi
fi
echo "subproject: ok"
