#!/usr/bin/env bash
# Installs the Debian packages minidl needs, and only those that are missing.
# Safe to run again: when everything is present it does nothing and touches no network.
set -euo pipefail

# libeigen3-dev: init::patch_whitening's eigendecomposition (layers/whitening.cpp, header-only)
# and bench_gemm_cpu (the CPU GEMM against Eigen).
# clang-format: the CTest test `format` (tests/check_format.sh) checks every C++/CUDA source
# against .clang-format, and fails without it.
# clang, libomp-dev: the CTest test `clang_build` (tests/clang_build.sh) compiles the library
# with clang++ and clang's OpenMP, so that a GCC-only construct fails `make test`.
required=(cmake g++ make libeigen3-dev catch2 libbenchmark-dev clang-format clang libomp-dev)

missing=()
for pkg in "${required[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present (${required[*]})"
  exit 0
fi

echo "setup: installing missing packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
