#!/usr/bin/env bash
# train_cifar10 as a program, on a tiny generated dataset (issue #11, "nothing lost"):
#   1. the refusals that need a real run: a new run into a folder holding one, --resume '',
#      --epochs below the checkpoint's, a resume of a finished run, a folder named metrics.csv,
#      --resume on a folder, --data on a file, a batch size that leaves too few steps;
#   2. kill -9 at random moments (at least 10 kills), each followed by --resume (or --overwrite
#      when no checkpoint was written yet), must end with exactly one metrics row per epoch and
#      the same metrics as an uninterrupted run (all but the timing columns).
# usage: train_safety_test.sh path/to/train_cifar10      (registered with CTest)
#   SAFETY_KILLS=N  kills in part 2 (default 10; `make sanitize` runs 3, each run being slower
#                   under the sanitizers)
set -euo pipefail
source "$(dirname "$(realpath "$0")")/generated_cifar10.sh"

bin=$(realpath "$1")
# One OpenMP thread that sleeps when idle: this script tests kill safety, not speed, and CTest runs
# it beside another test (-j 2 on 2 cores). With two spinning threads each run slowed down 10x
# there (a CI run went past the 300 s limit); with one passive thread it takes about as long as
# alone (22 s against 16 s beside the emulated ResNet step, 2-core AVX-512 VM).
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
work=$(mktemp -d "${TMPDIR:-/tmp}/minidl_train_safety.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

# 16 training and 8 test images of random pixels.
generated_cifar10 data 16 8

# 4 epochs of 2 steps (12 training images, the last 4 of the 16 held out for validation, which
# chooses best.safetensors): about 1 s per epoch on 2 cores.
epochs=4
common=(--data data --limit-train 16 --limit-test 8 --validation 4 --batch-size 8 --epochs "$epochs"
        --device cpu --seed 3)
run() { "$bin" "${common[@]}" "$@"; }

# expect STATUS TEXT command...: the command exits with STATUS and its output contains TEXT.
expect() {
  local status=$1 text=$2 got=0
  shift 2
  "$@" > out.log 2>&1 || got=$?
  [[ $got == "$status" ]] || { cat out.log >&2; fail "'$*' exited $got, expected $status"; }
  grep -qF -- "$text" out.log || { cat out.log >&2; fail "'$*' did not say: $text"; }
}

# The columns that must not depend on interruptions: epoch, lr, losses and accuracies (train,
# test and validation).
metrics() { cut -d, -f1-6,9-10 "$1/metrics.csv"; }

start=$SECONDS
start_ms=$(date +%s%3N)
run --out ref > ref.log 2>&1 || { cat ref.log >&2; fail "the uninterrupted run failed"; }
reference_ms=$(($(date +%s%3N) - start_ms))
[[ $(metrics ref | wc -l) == $((epochs + 1)) ]] || fail "the uninterrupted run has no row per epoch"
echo "uninterrupted run: $reference_ms ms"

# ---- 1. refusals ------------------------------------------------------------------------------
cp -r ref snapshot
# .lock holds the process id of the last run that locked the folder: not a file of the run.
unchanged() { diff -r -x .lock ref snapshot > /dev/null || fail "$1 changed the run's files"; }

expect 1 "already holds a run (metrics.csv, last.safetensors, best.safetensors); pass --resume ref/last.safetensors to continue it, --overwrite to replace it" \
  run --out ref
unchanged "a new run into a folder holding one"
expect 2 "--resume needs a path, got an empty one" run --out ref --resume ''
expect 1 "error: --epochs 2, but ref/last.safetensors has already completed $epochs epochs: resume with --epochs $epochs" \
  run --out ref --resume ref/last.safetensors --epochs 2
unchanged "--epochs below the checkpoint's"
expect 0 "nothing to train: ref/last.safetensors already completed all $epochs epochs" \
  run --out ref --resume ref/last.safetensors
grep -qF "checkpoints and metrics.csv in" out.log && fail "a run that trained nothing said it wrote checkpoints"
unchanged "resuming a finished run"
expect 1 "is a directory; give the checkpoint file, e.g. --resume ref/last.safetensors" \
  run --out ref --resume ref
mkdir -p blocked/metrics.csv
expect 1 "blocked/metrics.csv is a directory, so the run could not write it" run --out blocked
expect 1 "data directory 'data/test_batch.bin' is a file, not a directory" \
  run --out elsewhere --data data/test_batch.bin
expect 1 "data/data_batch_1.bin holds 16 images (49168 bytes), fewer than the 17" \
  run --out elsewhere --limit-train 17
expect 2 "--batch-size 100000000 with 12 training images gives 1 step per epoch; onecycle needs at least 3 steps in total: lower --batch-size or raise --epochs" \
  run --out elsewhere --batch-size 100000000 --epochs 1
[[ ! -e elsewhere/metrics.csv ]] || fail "a refused run left a metrics.csv"
# --out and --resume name the real cause (was: "is a file" for all three).
ln -s nowhere dangling
ln -s loop_b loop_a
ln -s loop_a loop_b
expect 1 "--out 'dangling' is a symbolic link to 'nowhere', which does not exist; choose another --out" \
  run --out dangling
expect 1 "--out 'loop_a' is a loop of symbolic links; choose another --out" run --out loop_a
expect 1 "is a name too long for the file system (File name too long); choose another --out" \
  run --out "$(printf 'x%.0s' {1..300})"
expect 1 "--resume 'dangling' is a symbolic link to 'nowhere', which does not exist; give a checkpoint file" \
  run --out elsewhere --resume dangling
expect 1 "--resume 'loop_a' is a loop of symbolic links" run --out elsewhere --resume loop_a
expect 2 "--validation 16: must be below --limit-train, so that some of its images are left to train on" \
  run --out elsewhere --validation 16
expect 1 "--validation 2, but ref/last.safetensors was trained with --validation 4 (other images held out): resume with --validation 4" \
  run --out ref --resume ref/last.safetensors --validation 2
unchanged "a resume with another --validation"
# The best checkpoint is the validation split's choice, and its epoch is the one metrics.csv shows
# with the highest validation accuracy (the later one on a tie).
best_row=$(tail -n +2 ref/metrics.csv | sort -t, -k10,10g -k1,1n | tail -1 | cut -d, -f1)
grep -qF "best validation accuracy" ref.log && grep -qF "at epoch $best_row (best.safetensors)" ref.log ||
  { cat ref.log >&2; fail "the run did not report epoch $best_row, its highest validation accuracy, as the best"; }
# Without --validation there is no best checkpoint (the test set chooses nothing), and the
# validation columns stay empty.
"$bin" --data data --limit-train 16 --limit-test 8 --batch-size 8 --epochs 2 --device cpu --out noval > noval.log 2>&1 ||
  { cat noval.log >&2; fail "a run without --validation failed"; }
[[ -f noval/last.safetensors && ! -e noval/best.safetensors ]] || fail "a run without --validation kept a best.safetensors"
[[ $(tail -1 noval/metrics.csv | cut -d, -f9-10) == "," ]] || fail "a run without --validation wrote validation columns"
grep -qF "final test accuracy" noval.log || fail "the run did not report its final test accuracy"

# A run folder has one owner: while a run trains in it, a second run is refused whatever it asks
# (a new run, --resume, --overwrite), and the lock goes when the owner dies, even by kill -9.
"$bin" "${common[@]}" --epochs 1000 --out owned > owned.log 2>&1 &
owner=$!
for _ in $(seq 1 3000); do [[ -f owned/last.safetensors ]] && break; sleep 0.01; done
[[ -f owned/last.safetensors ]] || { cat owned.log >&2; fail "the owning run wrote no checkpoint"; }
in_use="--out 'owned' is in use by another training run (process $owner holds owned/.lock): wait for it to end, or choose another --out; nothing was changed"
expect 1 "$in_use" run --out owned --epochs 1000 --resume owned/last.safetensors
expect 1 "$in_use" run --out owned --overwrite
expect 1 "$in_use" run --out owned
kill -9 "$owner"
wait "$owner" 2> /dev/null || true
expect 0 "checkpoints and metrics.csv in owned" run --out owned --overwrite --epochs 2
echo "one owner per run folder: ok"

# The process survives its surroundings. Descriptors 0-2 closed: the console output must not land
# in the first file the run opens (the lock, metrics.csv).
"$bin" "${common[@]}" --epochs 2 --out closedfds <&- >&- 2>&- || fail "a run with descriptors 0-2 closed failed"
[[ $(wc -l < closedfds/metrics.csv) == 3 && $(grep -cvE '^(epoch,|[0-9]+,)' closedfds/metrics.csv) == 0 ]] ||
  { cat closedfds/metrics.csv >&2; fail "with descriptors 0-2 closed, metrics.csv holds something else"; }
# A reader of the log that goes away (SIGPIPE is ignored: the run goes on and finishes).
set +e
"$bin" "${common[@]}" --epochs 2 --out piped 2>&1 | head -c 10 > /dev/null
piped_status=${PIPESTATUS[0]}
set -e
[[ $piped_status == 0 && $(wc -l < piped/metrics.csv) == 3 ]] ||
  fail "the run did not finish after its log's reader went away (exit $piped_status)"
echo "closed descriptors and a vanished reader: ok"
echo "refusals: ok"

# ---- 2. kill -9 at random moments, then resume --------------------------------------------------
# Each attempt is killed after a random delay of up to the uninterrupted run's duration, so kills
# land in start-up, training, evaluation and the writes of rows and checkpoints. A run that
# finishes before its kill ends a trial, which is then checked; after the 10th kill the attempts
# are left to finish.
kills=0 trials=0 resumes=0 overwrites=0
while ((kills < ${SAFETY_KILLS:-10})); do
  trials=$((trials + 1))
  rm -rf killed
  while true; do
    if [[ -f killed/last.safetensors ]]; then how=(--resume killed/last.safetensors) resumes=$((resumes + 1))
    elif [[ -e killed/metrics.csv ]]; then how=(--overwrite) overwrites=$((overwrites + 1))  # no checkpoint yet
    else how=(); fi
    # The program itself in the background, not a function: kill -9 must hit train_cifar10,
    # not a subshell that would leave it running beside the next attempt.
    "$bin" "${common[@]}" --out killed "${how[@]}" > attempt.log 2>&1 &
    pid=$!
    if ((kills < 10)); then
      delay_ms=$(( (RANDOM * 32768 + RANDOM) % reference_ms ))
      sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
      kill -9 "$pid" 2> /dev/null || true
    fi
    status=0
    wait "$pid" 2> /dev/null || status=$?
    if ((status == 137)); then
      kills=$((kills + 1))
      continue
    fi
    ((status == 0)) || { cat attempt.log >&2; fail "a resumed run exited $status"; }
    break
  done
  # One row per epoch, in order, with the values of the uninterrupted run.
  diff <(metrics ref) <(metrics killed) > /dev/null || {
    diff <(metrics ref) <(metrics killed) >&2; fail "trial $trials: metrics.csv differs from the uninterrupted run's"; }
done
echo "kill -9: $kills kills over $trials trial(s) ($resumes resumes, $overwrites restarts with --overwrite), every trial ended with one row per epoch and the uninterrupted run's metrics ($((SECONDS - start)) s in all)"
