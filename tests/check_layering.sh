#!/usr/bin/env bash
# Dependencies point one way (docs/design.md, section 3; README's Layout): a directory of the library may include only its
# own headers and those of the directories below it, so kernels can be read and benchmarked
# without the tensor core, the core without the ops, the ops without the layers, and the
# optimizers without the layers. The order, as the code has it (A <- B: B may include A):
#
#   kernels <- core <- ops <- data            datasets, transforms, the loader
#                          <- layers          Module and the layers
#                          <- optim           optimizers over tensors, LR schedules
#            layers, optim <- io              safetensors files, checkpoints of a model + optimizer
#                   layers <- models          the ResNet and its block
#
# data, layers and optim are siblings: none includes another. io is above layers only for the
# Module overloads of save_checkpoint / load_checkpoint. core/cuda/ is part of core.
# The umbrella headers (minidl/minidl.h, core/minidl.h) are for users: core/minidl.h gathers
# core and ops, so it is exempt from core's rule, and no library file may include either.
# Every include of a library header has the installed form "minidl/<dir>/...", in every
# folder (tests, benchmarks and examples too); the bare "core/tensor.h" is refused.
# A violation fails with the file, the line and the rule. Run by CTest (test `layering`);
# `--self-test` checks that a violation in a small generated tree is caught (`layering_self_test`).
#   tests/check_layering.sh [repository root]
#   tests/check_layering.sh --self-test
set -uo pipefail

if [[ ${1:-} == --self-test ]]; then
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' EXIT
  mkdir -p "$tree/core" "$tree/ops" "$tree/optim"
  printf '#include "minidl/ops/ops.h"\n' >"$tree/ops/relu.cpp"            # its own directory
  printf '#include "minidl/core/tensor.h"\n' >"$tree/optim/sgd.cpp"       # below: allowed
  printf '#include "minidl/layers/module.h"\n' >"$tree/optim/groups.cpp"  # a sibling: refused
  printf '#include "minidl/ops/ops.h"\n' >"$tree/core/tensor.cpp"         # upwards: refused
  printf '#include "core/shape.h"\n' >"$tree/core/shape.cpp"              # bare form: refused
  output=$(bash "$0" "$tree")
  if [[ $? -eq 0 ]] || [[ $(grep -c 'must not include' <<<"$output") -ne 2 ]] ||
     [[ $(grep -c 'include minidl' <<<"$output") -ne 1 ]]; then
    echo "layering self-test: expected exactly the 3 violations in $tree, got:"
    echo "$output"
    exit 1
  fi
  echo "layering self-test: all 3 planted violations were caught"
  exit 0
fi

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# What each directory may include besides itself.
declare -A allowed=(
  [kernels]=""
  [core]="kernels"
  [ops]="core kernels"
  [data]="ops core kernels"
  [layers]="ops core kernels"
  [optim]="ops core kernels"
  [io]="layers optim ops core kernels"
  [models]="layers ops core kernels"
)
# core/minidl.h is a user's include of core + ops, not a part of the core.
declare -A exempt=([core/minidl.h]=1)
known="kernels core ops data layers optim io models minidl examples bench tests fuzz"
bare="kernels|core|ops|data|layers|optim|io|models"

violations=0
checked=0
for dir in "${!allowed[@]}"; do
  [[ -d $root/$dir ]] || continue
  while IFS=: read -r file line text; do
    checked=$((checked + 1))
    [[ -n ${exempt[$file]:-} ]] && continue
    included=$(sed -E 's|.*#include "([^"]+)".*|\1|' <<<"$text")
    if [[ $included == minidl/minidl.h || $included == minidl/core/minidl.h ]]; then
      echo "$file:$line: the library must not include the umbrella header $included: $text"
      violations=$((violations + 1))
      continue
    fi
    [[ $included == minidl/* ]] || continue   # a system, third-party or same-folder header
    target=${included#minidl/}
    target=${target%%/*}
    [[ $target == "$dir" || " ${allowed[$dir]} " == *" $target "* ]] && continue
    echo "$file:$line: $dir/ must not include $target/ (allowed: $dir ${allowed[$dir]}): $text"
    violations=$((violations + 1))
  done < <(cd "$root" && grep -rnE '^#include "minidl/' "$dir" --include='*.h' --include='*.cpp' \
             --include='*.cu' --include='*.cuh')
done
# One form everywhere, the installed one: "minidl/core/tensor.h", never "core/tensor.h" (a bare
# core/ on the include path would collide with a user's own folder; the build exports only the
# root that holds minidl/).
while IFS=: read -r file line text; do
  echo "$file:$line: include minidl's headers as \"minidl/...\" (or <minidl/...>): $text"
  violations=$((violations + 1))
done < <(cd "$root" && grep -rnE "^#include [\"<]($bare)/" $known --include='*.h' \
           --include='*.cpp' --include='*.cu' --include='*.cuh' 2>/dev/null)
if ((violations > 0)); then
  echo "layering: $violations include(s) against the direction of dependencies"
  exit 1
fi
# A pattern that matched nothing would pass every tree: there are hundreds of includes.
if ((checked == 0)); then
  echo "layering: no #include found under $root; wrong root?"
  exit 1
fi
echo "layering: all $checked includes of kernels/ core/ ops/ data/ layers/ optim/ io/ models/ point down, all in the form minidl/..."
