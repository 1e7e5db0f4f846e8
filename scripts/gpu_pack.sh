#!/usr/bin/env bash
# Builds, on this (development) machine, what a GPU visit runs, and packs it into .device/:
# the GPU machines have CUDA, CMake and PyTorch but no Debian packages (no Eigen, Catch2 or
# Google Benchmark) and no network, so the executables are built here for their GPU (sm_90:
# H100, H200) and for a CPU every such machine has (x86-64-v3: AVX2, not this machine's
# AVX-512). The library is linked into each executable; CUDA, cuBLAS and cuDNN come from the
# GPU machine (scripts/gpu_check.sh sets LD_LIBRARY_PATH).
#   scripts/gpu_pack.sh                  then carry .device/ there and run scripts/gpu_check.sh
#   GPU_PACK_DATA=1 scripts/gpu_pack.sh  also a slice of CIFAR-10 for the train stage
# .device/ is git-ignored: a device call carries it only when asked to (its `carry` list), and
# carries at most 64 MiB with the checkout, so the binaries are stripped when the pack is big.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-gpu}
PACK=.device
STRIP_ABOVE_MIB=56  # leaves room for the checkout (under 1 MiB) within the 64 MiB
PROGRAMS=("tests/minidl_gpu_tests" "bench/bench_conv2d_cuda" "bench/bench_train_step"
  "train_cifar10")

if ! git check-ignore -q "$PACK/"; then
  echo "error: $PACK/ is not git-ignored (.gitignore)" >&2
  exit 1
fi

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMINIDL_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DMINIDL_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3
cmake --build "$BUILD_DIR" -j "$(nproc)" \
  --target minidl_gpu_tests bench_conv2d_cuda bench_train_step train_cifar10

rm -rf "$PACK"
mkdir "$PACK"
for program in "${PROGRAMS[@]}"; do cp "$BUILD_DIR/$program" "$PACK/"; done

# Google Benchmark's shared library, under the name the benchmark asks for (on Debian
# libbenchmark.so.1debian); gpu_check.sh puts .device/ on LD_LIBRARY_PATH.
read -r benchmark_name benchmark_path < <(ldd "$BUILD_DIR/bench/bench_conv2d_cuda" |
  awk '$1 ~ /^libbenchmark\.so/ { print $1, $3 }') ||
  { echo "error: bench_conv2d_cuda does not load a libbenchmark.so" >&2; exit 1; }
cp -L "$benchmark_path" "$PACK/$benchmark_name"

cp scripts/gpu_check.sh bench/compare_pytorch.py "$PACK/"
if [[ -d ../shared/gpu ]]; then cp ../shared/gpu/torch_peer_bench.py "$PACK/"; fi
git describe --always --dirty >"$PACK/COMMIT"

# The whole dataset (175 MB) cannot travel in one device call; this slice can: the first
# training file (10,000 images) and the first 5,000 test images (3,073-byte records), 44 MiB.
if [[ ${GPU_PACK_DATA:-0} == 1 ]]; then
  data=${CIFAR10_DIR:-../shared/data/cifar10}
  mkdir "$PACK/cifar10"
  cp "$data/data_batch_1.bin" "$PACK/cifar10/"
  head -c $((5000 * 3073)) "$data/test_batch.bin" >"$PACK/cifar10/test_batch.bin"
fi

mib() { du -sm "$PACK" | cut -f1; }
if (($(mib) > STRIP_ABOVE_MIB)); then
  echo "pack is $(mib) MiB: stripping the executables' symbols"
  for program in "${PROGRAMS[@]}"; do strip "$PACK/$(basename "$program")"; done
fi

echo
ls -lR "$PACK"
echo "commit $(cat "$PACK/COMMIT"); $PACK/ holds $(mib) MiB (a device call carries 64 MiB)"
# What the executables load beyond the C/C++ runtime and what .device/ holds.
runtime='^(libbenchmark|libc\.|libm\.|libgcc_s|libstdc|ld-linux|libdl|libpthread|librt)'
echo "the GPU machine must provide: $(ldd "$PACK"/* 2>/dev/null |
  awk -v runtime="$runtime" '/=>/ && $1 !~ runtime { print $1 }' | sort -u | tr '\n' ' ')"
