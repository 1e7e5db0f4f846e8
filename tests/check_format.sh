#!/usr/bin/env bash
# Every C++/CUDA source of the tree (*.h, *.cpp, *.cu, *.cuh) must be formatted as .clang-format
# says: `clang-format --dry-run --Werror` on each, failing with the names of the files that are
# not. The files are git's tracked ones in a git checkout, else those found under the root
# (build folders and fuzz/corpus/ left out). Run by CTest (test `format`); `--self-test` checks
# that a badly formatted file in a small generated tree is caught (`format_self_test`).
# To format the tree instead of checking it (docs/testing.md, "Formatting"):
#   git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | xargs clang-format -i
# CLANG_FORMAT names another binary (e.g. clang-format-14). .clang-format is written for
# clang-format 14, what scripts/setup.sh installs on Debian 12; another version may disagree.
#   tests/check_format.sh [repository root]
#   tests/check_format.sh --self-test
set -uo pipefail

clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "format: FAILED: $clang_format not found; run scripts/setup.sh (it installs the Debian"
  echo "package clang-format, as CI does) or set CLANG_FORMAT to a clang-format binary"
  exit 1
fi
version=$("$clang_format" --version)

if [[ ${1:-} == --self-test ]]; then
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' EXIT
  here=$(cd "$(dirname "$0")/.." && pwd)
  cp "$here/.clang-format" "$tree/"
  mkdir -p "$tree/core" "$tree/build/generated"
  printf 'int f(int* p) { return *p; }\n' >"$tree/core/good.cpp"
  printf 'int  f(int *p)\n{\n  return *p;\n}\n' >"$tree/core/bad.cpp"
  printf 'int  g( ) ;\n' >"$tree/core/bad.cuh"
  printf 'int  g( ) ;\n' >"$tree/build/generated/ignored.cpp"  # a build folder: not checked
  output=$(bash "$0" "$tree")
  status=$?
  if [[ $status -eq 0 ]] || ! grep -qx '  core/bad.cpp' <<<"$output" ||
     ! grep -qx '  core/bad.cuh' <<<"$output" || grep -q 'good\.cpp\|ignored\.cpp' <<<"$output"; then
    echo "format self-test: expected a failure naming core/bad.cpp and core/bad.cuh only, got"
    echo "(exit $status):"
    echo "$output"
    exit 1
  fi
  echo "format self-test: both badly formatted files were caught, the good one and the build"
  echo "folder were not reported ($version)"
  exit 0
fi

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 1
if [[ ! -f .clang-format ]]; then
  echo "format: FAILED: no .clang-format in $root"
  exit 1
fi

files=()
# git's list only when the root is the top of a checkout (not a copy inside another repository).
if [[ $(git rev-parse --show-toplevel 2>/dev/null) == "$(pwd -P)" ]]; then
  source="git ls-files"
  while IFS= read -r -d '' f; do
    [[ -f $f ]] && files+=("$f")  # tracked but deleted in the work tree: nothing to check
  done < <(git ls-files -z -- '*.h' '*.cpp' '*.cu' '*.cuh' ':(exclude)fuzz/corpus')
else
  source="find"
  while IFS= read -r -d '' f; do
    files+=("${f#./}")
  done < <(find . -type d \( -name '.git' -o -name 'build*' -o -path './fuzz/corpus' \) -prune -o \
             -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) \
             -print0 | sort -z)
fi
# A pattern that matched nothing would pass every tree: there are over a hundred sources.
if ((${#files[@]} == 0)); then
  echo "format: FAILED: no C++/CUDA source found under $root ($source); wrong root?"
  exit 1
fi

# One clang-format run for all files; each violation is reported as
# "file:line:col: error: code should be clang-formatted [-Wclang-format-violations]".
output=$("$clang_format" --dry-run --Werror "${files[@]}" 2>&1)
status=$?
if [[ $status -eq 0 ]]; then
  echo "format: all ${#files[@]} C++/CUDA sources ($source) are formatted ($version)"
  exit 0
fi
mapfile -t bad < <(grep -oE '^[^:]+:[0-9]+:[0-9]+: (error|warning): code should be clang-formatted' \
                     <<<"$output" | cut -d: -f1 | sort -u)
if ((${#bad[@]} == 0)); then  # not a formatting verdict: a bad .clang-format, a crash, ...
  echo "format: FAILED: $clang_format exited with $status ($version):"
  echo "$output"
  exit 1
fi
echo "format: FAILED: ${#bad[@]} of ${#files[@]} C++/CUDA sources are not formatted as"
echo ".clang-format says ($version):"
printf '  %s\n' "${bad[@]}"
if ((${#bad[@]} <= 5)); then
  echo "Format them with: clang-format -i ${bad[*]}"
fi
echo "Format the whole tree with: git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | xargs clang-format -i"
exit 1
