#!/usr/bin/env bash
# Dependencies point one way (docs/design.md, section 3, architecture; README's Layout): a
# directory of the library may include only its own headers and those of the layers below it, so
# kernels can be read and benchmarked without the tensor core, and the core without the layers.
# A violation fails with the file, the line and the rule. Run by CTest (test `layering`).
#   tests/check_layering.sh [repository root]
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# What each directory may include besides itself. optim/ still sees layers/module.h for
# decay_groups() and checkpoints of a Module (issue 10 wants it to take parameters instead).
declare -A allowed=(
  [kernels]=""
  [core]="kernels"
  [data]="core kernels"
  [layers]="core kernels"
  [optim]="core kernels layers"
  [models]="layers optim data core kernels"
)
known="kernels core data layers optim models examples bench tests"

violations=0
for dir in "${!allowed[@]}"; do
  while IFS=: read -r file line text; do
    target=$(sed -E 's|.*#include "([a-z_]+)/.*|\1|' <<<"$text")
    [[ " $known " == *" $target "* ]] || continue   # a system or third-party header
    [[ $target == "$dir" || " ${allowed[$dir]} " == *" $target "* ]] && continue
    echo "$file:$line: $dir/ must not include $target/ (allowed: $dir ${allowed[$dir]}): $text"
    violations=$((violations + 1))
  done < <(cd "$root" && grep -rnE '^#include "[a-z_]+/' "$dir" --include='*.h' --include='*.cpp' \
             --include='*.cu' --include='*.cuh')
done
if ((violations > 0)); then
  echo "layering: $violations include(s) against the direction of dependencies"
  exit 1
fi
echo "layering: every include of kernels/ core/ data/ layers/ optim/ models/ points down"
