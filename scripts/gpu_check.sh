#!/usr/bin/env bash
# One visit to a GPU machine, in one script: tests, sanitizers, benchmarks and a short training
# run, each stage under `timeout`, logged to a file, and one summary table at the end.
#
# It runs the executables scripts/gpu_pack.sh built on the development machine and left in
# .device/ (git-ignored: the device call must carry it), because the GPU machines have CUDA,
# CMake and PyTorch but no Debian packages (no Eigen, Catch2 or Google Benchmark) and no
# network. Run it from the repository root:
#   scripts/gpu_check.sh                  every stage (the sweep only with GPU_CHECK_SWEEP=1)
#   scripts/gpu_check.sh tests bench      only these stages, in this order
# Stages: tests memcheck racecheck bench sweep torch step profile train
# Environment:
#   OUT               where the logs and CSV files go (default ./gpu_logs)
#   CIFAR10_DIR       the dataset for the train stage (default: .device/cifar10, the slice
#                     `GPU_PACK_DATA=1 scripts/gpu_pack.sh` packs, when there, else /tmp/cifar10)
#   GPU_CHECK_SWEEP=1 include the tiling sweep in the default stages
#   GPU_CHECK_BUDGET  seconds all stages together may take (default 450: 7.5 minutes)
#   MEMCHECK_ALL=1    memcheck every test case (default: all but the full ResNet step)
#   STEPS_ONLY=1      torch stage: only PyTorch's training steps, not its per-layer timings
#   DEVICE_DIR        the packed executables (default .device)
#   TRAIN_EPOCHS      train stage: epochs to run (default 2; 40 is the full recipe)
#   PRESET_SEEDS      presets stage: seeds of fast94 and fast95 each (default 5; needs the
#                     full CIFAR-10 in CIFAR10_DIR, else the stage is skipped)
# Exit status: 0 when no stage failed or timed out (skipped stages do not count).
set -uo pipefail  # no -e: a failing stage is recorded and the next one still runs

DEVICE_DIR=${DEVICE_DIR:-.device}
OUT=${OUT:-./gpu_logs}
if [[ -z ${CIFAR10_DIR:-} ]]; then
  CIFAR10_DIR=/tmp/cifar10
  [[ -d $DEVICE_DIR/cifar10 ]] && CIFAR10_DIR=$DEVICE_DIR/cifar10
fi
BUDGET=${GPU_CHECK_BUDGET:-450}
CUDA_LIB=/usr/local/cuda/targets/x86_64-linux/lib
ALL_STAGES=(tests memcheck racecheck bench versions sweep torch step profile train presets)

# The comment block above, without its "# ".
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# ---- setup ---------------------------------------------------------------------------------

# The directory holding libcudnn.so.9 (on the GPU machines, the one inside PyTorch's Python
# environment), searched in the places a Python environment or a CUDA install usually is.
find_cudnn_dir() {
  local roots=() root lib
  for root in /opt /usr /root /home /workspace; do [[ -d $root ]] && roots+=("$root"); done
  ((${#roots[@]})) || return 0
  lib=$(find "${roots[@]}" -name libcudnn.so.9 -print -quit 2>/dev/null)
  [[ -z $lib ]] || dirname "$lib"
}

setup_environment() {
  mkdir -p "$OUT" || exit 1
  OUT=$(cd "$OUT" && pwd)
  local cudnn_dir ours
  cudnn_dir=$(find_cudnn_dir)
  ours="$CUDA_LIB:$(cd "$DEVICE_DIR" && pwd)${cudnn_dir:+:$cudnn_dir}"
  export LD_LIBRARY_PATH="$ours${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "cuDNN: ${cudnn_dir:-libcudnn.so.9 not found (bench will not start)}"
}

print_machine() {
  local gpu
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null)
  echo "device: ${gpu:-none visible (nvidia-smi failed or absent)}"
  echo "commit: $(cat "$DEVICE_DIR/COMMIT" 2>/dev/null || echo "unknown (no $DEVICE_DIR/COMMIT)")"
  echo "date:   $(date -u '+%Y-%m-%d %H:%M UTC')   host: $(hostname)   logs: $OUT"
}

# ---- running and recording stages ----------------------------------------------------------

NAMES=() STATUSES=() TIMES=() KEYS=()
START=$SECONDS

record() { NAMES+=("$1"); STATUSES+=("$2"); TIMES+=("$3"); KEYS+=("$4"); }

skip() {
  echo "== $1: skipped ($2)"
  record "$1" skipped 0 "$2"
}

# run_stage STAGE LIMIT COMMAND...: the command under `timeout` (never past the visit's budget),
# its output in $OUT/STAGE.log; then key_STAGE LOG reads the stage's key number from it.
# A program that exits 0 but said it had no GPU to run on is reported skipped, not passed.
run_stage() {
  local stage=$1 limit=$2 left log="$OUT/$1.log" began=$SECONDS rc status key
  shift 2
  left=$((BUDGET - (SECONDS - START)))
  if ((left < 20)); then
    skip "$stage" "no time left in the ${BUDGET} s budget"
    return
  fi
  ((limit > left)) && limit=$left
  echo "== $stage (limit ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  case $rc in
    0) status=pass ;;
    124 | 137) status=timeout ;;
    *) status=FAIL ;;
  esac
  if [[ $status == pass ]] && grep -qE 'SKIPPED:|no usable GPU' "$log"; then status=skipped; fi
  tail -n 4 "$log" | sed 's/^/   | /'
  key=$("key_$stage" "$log")
  [[ -n $key ]] || key=$(tail -n 1 "$log" | cut -c 1-80)  # no number: say what went wrong
  record "$stage" "$status" $((SECONDS - began)) "$key"
}

# ---- the stages ----------------------------------------------------------------------------

TESTS="$DEVICE_DIR/minidl_gpu_tests"
BENCH="$DEVICE_DIR/bench_conv2d_cuda"
STEP="$DEVICE_DIR/bench_train_step"
TRAIN="$DEVICE_DIR/train_cifar10"

# Catch2 v2's last line: "All tests passed (N assertions in M test cases)" or the failure counts.
key_tests() {
  local result skipped
  result=$(grep -E '^(All tests passed|test cases:)' "$1" | tail -n 1 | tr -s ' ')
  skipped=$(grep -c 'SKIPPED:' "$1")
  echo "${result:-no result line}$( ((skipped)) && echo ", $skipped SKIPPED")"
}

stage_tests() { run_stage tests 120 "$TESTS"; }

SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)

key_memcheck() { grep -o 'ERROR SUMMARY: [0-9]* error[s]*' "$1" | tail -n 1; }
key_racecheck() { grep -o 'RACECHECK SUMMARY: .*' "$1" | tail -n 1; }

# Every case but the full ResNet training step (which re-runs the same kernels, much slower
# under the sanitizer): the set the baseline ran. MEMCHECK_ALL=1 includes it.
stage_memcheck() {
  [[ -n $SANITIZER ]] || { skip memcheck "compute-sanitizer not found"; return; }
  local cases=('~[model]')
  [[ ${MEMCHECK_ALL:-0} == 1 ]] && cases=()
  run_stage memcheck 150 "$SANITIZER" --tool memcheck --error-exitcode 1 "$TESTS" "${cases[@]}"
}

# The kernels that share data through shared memory. The convolution cases run the reference
# model's shapes with the automatic tilings (both algorithms, split and unsplit); the test that
# repeats every shape under all 16 tilings (~1,000 launches) is left to memcheck, too slow here.
stage_racecheck() {
  [[ -n $SANITIZER ]] || { skip racecheck "compute-sanitizer not found"; return; }
  run_stage racecheck 150 "$SANITIZER" --tool racecheck --error-exitcode 1 "$TESTS" \
    '[conv2d]~[all_tilings],[pooling],[loss],[batch_norm]'
}

# The model sums' "train" ratio (cuDNN ms / minidl ms for one step's convolutions) per batch.
key_bench() {
  local ratios mismatches
  ratios=$(awk -F, '$1 == "sum" && $3 == "train" { printf "%sb%s %.2fx", sep, $4, $7; sep = ", " }' \
    "$OUT/bench.csv" 2>/dev/null)
  [[ -n $ratios ]] || return 0
  mismatches=$(grep -o '[0-9]* row(s) differ from cuDNN' "$1" | cut -d ' ' -f 1)
  echo "conv ratio ${ratios}${mismatches:+; $mismatches rows MISMATCH cuDNN}"
}

stage_bench() {
  rm -f "$OUT/bench.csv"  # the key number must come from this run
  run_stage bench 150 "$BENCH" --csv "$OUT/bench.csv"
}

# The teaching path (v0 direct, v1 tiled, fast, cuDNN) at batch 128: the training sums.
key_versions() {
  awk -F, '$1 == "version_sum" { v0 += $5; v1 += $6; fast += $7; cudnn += $8 }
           END { if (cudnn) printf "b128 ms v0 %.1f, v1 %.1f, fast %.1f, cuDNN %.1f", v0, v1, fast, cudnn }' \
    "$OUT/versions.csv" 2>/dev/null
}

stage_versions() {
  rm -f "$OUT/versions.csv"
  run_stage versions 150 "$BENCH" --versions --batch 128 --csv "$OUT/versions.csv"
}

key_sweep() {
  local rows
  rows=$(grep -c '^sweep,' "$OUT/sweep.csv" 2>/dev/null)
  ((rows > 0)) && echo "$rows tilings timed"
}

stage_sweep() {
  rm -f "$OUT/sweep.csv"
  run_stage sweep 300 "$BENCH" --sweep --csv "$OUT/sweep.csv"
}

# torch_peer_bench.py's fp32 NCHW training step per batch (cuDNN, TF32 off).
key_torch() {
  awk -F, '$1 == "torch_step_nchw_fp32" { steps = steps sep "b" $2 " " $3 " ms"; sep = ", " }
           END { print "fp32 step " (steps ? steps : "none") }' "$1"
}

stage_torch() {
  local script=$DEVICE_DIR/torch_peer_bench.py
  [[ -f $script ]] || script=../shared/gpu/torch_peer_bench.py
  [[ -f $script ]] || { skip torch "torch_peer_bench.py not found"; return; }
  python3 -c 'import torch' 2>/dev/null || { skip torch "python3 cannot import torch"; return; }
  run_stage torch 150 python3 "$script" 128 512
}

# compare_pytorch.py's summary lines: minidl images/s over PyTorch fp32 NCHW's (TF32 off) per
# batch, and both peaks of device memory, e.g. "fp32 ratio b128 0.22x, b512 0.22x; peak MiB
# minidl/torch b128 900 / 3182, b512 ...".
key_step() {
  local ratios peaks
  ratios=$(sed -n 's/^minidl \/ PyTorch fp32 NCHW (train): //p' "$1" | tail -n 1)
  peaks=$(sed -n 's/^peak device MiB, minidl \/ PyTorch fp32 NCHW (train): //p' "$1" | tail -n 1)
  [[ -z $ratios ]] || echo "fp32 ratio $ratios; peak MiB minidl/torch $peaks"
}

# minidl's training step against PyTorch's on this GPU, batch 128 and 512, three alternating
# rounds: per round one minidl process and one PyTorch process (its three variants), so the
# limit mostly pays for three PyTorch start-ups and cuDNN searches (not yet timed on a GPU).
stage_step() {
  local script=$DEVICE_DIR/compare_pytorch.py
  [[ -f $script ]] || script=bench/compare_pytorch.py
  [[ -x $STEP ]] || { skip step "$STEP not found (run scripts/gpu_pack.sh)"; return; }
  python3 -c 'import torch' 2>/dev/null || { skip step "python3 cannot import torch"; return; }
  run_stage step 150 python3 "$script" --device cuda --binary "$STEP" --batch 128,512 --rounds 3
}

# Per batch size, the profiled milliseconds per step, e.g. "b128 3.10 ms, b512 10.2 ms".
key_profile() {
  awk '/^bench_train_step batch / { batch = $3 }
       /^minidl profile: / { steps = steps sep "b" batch " " $11 " ms"; sep = ", " }
       END { if (steps) print "profiled step " steps }' "$1"
}

# Where the training step's time goes (core/profiler.h): bench_train_step's step under
# MINIDL_PROFILE, 20 profiled steps per batch size; one process each, since the profiler
# prints once per process. The tables are in profile.log.
stage_profile() {
  [[ -x $STEP ]] || { skip profile "$STEP not found (run scripts/gpu_pack.sh)"; return; }
  run_stage profile 120 bash -c 'for batch in 128 512; do
      echo "bench_train_step batch $batch"
      MINIDL_PROFILE=1 MINIDL_PROFILE_STEPS=20 "$0" --device cuda --batch "$batch" --steps 30 || exit
    done' "$STEP"
}

# From "training ResNet (...) on N images, testing on M, ..." and the last epoch's line,
# "epoch 2/2  lr ...  test loss L acc A%  S s (R images/s)".
key_train() {
  local sizes epoch
  sizes=$(grep -oE 'on [0-9]+ images, testing on [0-9]+' "$1" |
    awk '{ print $2 " train, " $6 " test images" }')
  epoch=$(grep -E '^epoch [0-9]+/[0-9]+  lr' "$1" | tail -n 1 |
    sed -E 's|.*test loss [0-9.]+ acc ([0-9.]+%)  ([0-9]+) s \(([0-9]+) images.*|test acc \1, \2 s/epoch, \3 img/s|')
  [[ -z $epoch ]] || echo "$epoch ($sizes)"
}

# TRAIN_EPOCHS epochs (default 2; 40 is `make train`'s full recipe) on the real data: all of
# it when the five training files are there, else the 10,000 images of data_batch_1.bin (the
# dataset travels to the GPU machine in pieces), tested on whatever test_batch.bin holds
# (gpu_pack.sh's slice: the first 5,000 images, passed as --limit-test). The checkpoints
# (about 40 MB each) go to a scratch folder, not to $OUT: the log has the numbers.
stage_train() {
  [[ -f $CIFAR10_DIR/test_batch.bin && -f $CIFAR10_DIR/data_batch_1.bin ]] ||
    { skip train "no CIFAR-10 in $CIFAR10_DIR (set CIFAR10_DIR)"; return; }
  local limit=() epochs=${TRAIN_EPOCHS:-2}
  [[ -f $CIFAR10_DIR/data_batch_5.bin ]] || limit=(--limit-train 10000)
  # The strict reader takes a short test file only with a limit its whole records satisfy.
  local test_images=$(($(stat -c %s "$CIFAR10_DIR/test_batch.bin") / 3073))
  ((test_images < 10000)) && limit+=(--limit-test "$test_images")
  run_stage train $((120 + 10 * epochs)) "$TRAIN" --device cuda --epochs "$epochs" \
    --data "$CIFAR10_DIR" --out "${TMPDIR:-/tmp}/minidl_gpu_check_train" --overwrite "${limit[@]}"
}

# The time-to-accuracy presets (issue #20): fast94 and fast95, PRESET_SEEDS seeds each (default
# 5), on the full CIFAR-10 only (a slice would not say whether 94% or 95% is reached). Each run
# prints its final-epoch test accuracy (with TTA) and its time to that accuracy; the key number
# is each preset's mean and range of both.
stage_presets() {
  [[ -f $CIFAR10_DIR/data_batch_5.bin && $(stat -c %s "$CIFAR10_DIR/test_batch.bin") == 30730000 ]] ||
    { skip presets "the full CIFAR-10 is not in $CIFAR10_DIR"; return; }
  run_stage presets 400 bash -c '
    for preset in fast94 fast95; do
      for seed in $(seq 1 "${PRESET_SEEDS:-5}"); do
        echo "== $preset seed $seed"
        "$0" --preset "$preset" --device cuda --seed "$seed" --data "$1" \
          --out "${TMPDIR:-/tmp}/minidl_gpu_presets" --overwrite || exit 1
      done
    done' "$TRAIN" "$CIFAR10_DIR"
}
key_presets() {
  awk '/^== fast/ { preset = $2 }
       /final test accuracy/ { match($0, /final test accuracy [0-9.]+/); acc[preset] = acc[preset] " " substr($0, RSTART + 20, RLENGTH - 20) }
       /time to the final accuracy/ { match($0, /accuracy: [0-9.]+/); t[preset] = t[preset] " " substr($0, RSTART + 10, RLENGTH - 10) }
       END { for (p in acc) printf "%s: acc%s%%, time%s s; ", p, acc[p], t[p] }' "$1"
}

# ---- main ----------------------------------------------------------------------------------

print_summary() {
  local i failed=0
  echo
  echo "== summary ($((SECONDS - START)) s; logs in $OUT)"
  printf '%-10s %-8s %5s  %s\n' stage status secs "key number"
  for i in "${!NAMES[@]}"; do
    printf '%-10s %-8s %5s  %s\n' "${NAMES[$i]}" "${STATUSES[$i]}" "${TIMES[$i]}" "${KEYS[$i]}"
    [[ ${STATUSES[$i]} == FAIL || ${STATUSES[$i]} == timeout ]] && failed=1
  done
  return $failed
}

main() {
  local stages=("$@") stage
  if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; return 0; fi
  if ((${#stages[@]} == 0)); then
    for stage in "${ALL_STAGES[@]}"; do
      [[ $stage == sweep && ${GPU_CHECK_SWEEP:-0} != 1 ]] || stages+=("$stage")
    done
  fi
  for stage in "${stages[@]}"; do
    [[ " ${ALL_STAGES[*]} " == *" $stage "* ]] ||
      { echo "unknown stage '$stage' (stages: ${ALL_STAGES[*]})" >&2; return 2; }
  done
  [[ -d $DEVICE_DIR ]] || { echo "no $DEVICE_DIR/: run scripts/gpu_pack.sh first" >&2; return 2; }

  setup_environment
  print_machine
  nvidia-smi -L >/dev/null 2>&1 || echo "!!! no GPU visible: the GPU stages will say so"
  for stage in "${stages[@]}"; do "stage_$stage"; done
  print_summary
}

main "$@"
