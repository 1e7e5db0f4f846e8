#!/usr/bin/env bash
# train_cifar10 --preset fast94 as a program, on a tiny generated dataset: the FastNet recipe
# runs end to end on the resident loader (patch whitening from the training images, dirac
# init, the 64x bias group, the triangle schedule, Lookahead, the stem's bias frozen after 3
# epochs, alternating flips, test-time augmentation at the last epoch), a kill -9 after the
# first checkpoint followed by --resume ends with the uninterrupted run's metrics (Lookahead's
# slow weights are in the checkpoint), and a resume under another --loader or --preset is
# refused by the flag.
# usage: preset_test.sh path/to/train_cifar10      (registered with CTest as `preset_fast94`)
set -euo pipefail
source "$(dirname "$(realpath "$0")")/generated_cifar10.sh"

bin=$(realpath "$1")
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive  # beside another CTest job (train_safety_test.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/minidl_preset.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# 32 training and 16 test images of random pixels.
generated_cifar10 data 32 16

# 4 epochs of 4 steps: Lookahead pulls back at steps 5, 10 and 15; the stem's bias freezes
# for the 4th epoch.
# The resident loader (batches made by the augmentation kernel, as on a GPU) here; the host
# loader's kill and resume are train_safety_test.sh's.
common=(--preset fast94 --data data --limit-train 32 --limit-test 16 --batch-size 8 --epochs 4
        --device cpu --loader resident --seed 5 --lr 0.2)  # a rate at which 32 random images do not diverge
metrics() { cut -d, -f1-6 "$1/metrics.csv"; }

"$bin" "${common[@]}" --out straight > straight.log 2>&1 || { cat straight.log; fail "the run failed"; }
grep -q "training FastNet (preset fast94, 1971640 parameters)" straight.log ||
  fail "the run did not train FastNet: $(head -3 straight.log)"
grep -q "time to the final accuracy" straight.log || fail "no time-to-accuracy line"
[[ $(metrics straight | wc -l) == 5 ]] || fail "not one row per epoch: $(metrics straight)"

# Killed once two epochs are checkpointed, then resumed. After Lookahead's first pull-back
# (step 5), so its slow weights differ from the initial ones and must come from the checkpoint.
"$bin" "${common[@]}" --out killed > killed.log 2>&1 &
pid=$!
# An epoch's metrics row is written before its checkpoints: wait for two rows and for
# last.safetensors to be newer than the second row, so that the resume starts after epoch 2
# (or 3) however slowly the run goes beside other tests.
for _ in $(seq 1 12000); do
  if [[ -f killed/metrics.csv && $(wc -l < killed/metrics.csv) -ge 3 &&
        killed/last.safetensors -nt killed/metrics.csv ]]; then
    break
  fi
  sleep 0.01
done
kill -9 "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
[[ -f killed/last.safetensors ]] || fail "no checkpoint was written before the kill"
"$bin" "${common[@]}" --out killed --resume killed/last.safetensors > resumed.log 2>&1 ||
  { cat resumed.log; fail "the resume failed"; }
grep -qE "resumed from killed/last.safetensors after epoch [23]$" resumed.log ||
  fail "the resume did not start after epoch 2 or 3: $(head -2 resumed.log)"
[[ "$(metrics killed)" == "$(metrics straight)" ]] ||
  fail "the resumed run's metrics differ from the uninterrupted run's:
$(metrics straight)
---
$(metrics killed)"

# Another loader would draw other shifts and flips: refused by the flag.
if "$bin" "${common[@]}" --out killed --resume killed/last.safetensors --loader host > loader.log 2>&1; then
  fail "a resume with another --loader was accepted"
fi
grep -qF "was trained with --loader resident (other random shifts and flips): resume with --loader resident" \
  loader.log || fail "unexpected message: $(cat loader.log)"

# Another preset is refused by the flag, before anything is loaded.
if "$bin" --data data --device cpu --out killed --resume killed/last.safetensors > other.log 2>&1; then
  fail "a resume under --preset resnet was accepted"
fi
grep -qF "was trained with --preset fast94 (another model and recipe): resume with --preset fast94" \
  other.log || fail "unexpected message: $(cat other.log)"
echo "preset fast94: trained, killed and resumed to the uninterrupted run's metrics; another preset refused"
