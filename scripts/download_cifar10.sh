#!/usr/bin/env bash
# Fetches the CIFAR-10 binary version from its official home, verifies the archive's MD5
# (the checksum published on the dataset page), and unpacks the six .bin files into DIR.
#   scripts/download_cifar10.sh [DIR]      (default data/cifar10)
set -euo pipefail

dir="${1:-data/cifar10}"
url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
md5="c32a1d4ab5d03f1284b67883e8d87530"

if [ -f "$dir/test_batch.bin" ]; then
  echo "download_cifar10: $dir already has the dataset"
  exit 0
fi
mkdir -p "$dir"
archive="$(mktemp --suffix=.tar.gz)"
trap 'rm -f "$archive"' EXIT

echo "download_cifar10: fetching $url"
if command -v curl >/dev/null; then
  curl -fL --retry 3 -o "$archive" "$url"
elif command -v wget >/dev/null; then
  wget -O "$archive" "$url"
else
  echo "download_cifar10: need curl or wget" >&2
  exit 1
fi

actual="$(md5sum "$archive" | cut -d' ' -f1)"
if [ "$actual" != "$md5" ]; then
  echo "download_cifar10: checksum mismatch (got $actual, expected $md5); not unpacking" >&2
  exit 1
fi
tar -xzf "$archive" -C "$dir" --strip-components=1
echo "download_cifar10: unpacked into $dir:"
ls -l "$dir"
