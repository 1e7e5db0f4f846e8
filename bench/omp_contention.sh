#!/usr/bin/env bash
# How the CPU training step behaves when another process competes for the cores (issue #21,
# item 10): OpenMP threads that spin while they wait take their core's time slices from the
# other process and from each other, so the step slows down far more than the share of the
# machine it lost. For each wait policy, the reference ResNet's step (bench_train_step, batch
# 128, 2 threads) is timed idle and beside a competitor (a second bench_train_step with the
# same policy, which is what two training runs on one machine are), rounds alternated so that
# the VM's fast and slow periods fall on every policy alike.
#   bench/omp_contention.sh [build dir] [rounds]       (defaults: build, 3)
# Prints one line per (policy, load, round) and, per policy and load, the median and range of
# the per-round median step times. Nothing else may run meanwhile.
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
bench="$build/bench/bench_train_step"
[[ -x $bench ]] || { echo "no $bench: build the benchmarks first" >&2; exit 2; }
# The policies: libgomp's default (spin for a while, then sleep), passive (sleep at once),
# active (spin), and a short spin (GOMP_SPINCOUNT=10000, about 10 us).
policies=(default passive active spin10k)
env_of() {
  case $1 in
    default) echo "" ;;
    passive) echo "OMP_WAIT_POLICY=passive" ;;
    active) echo "OMP_WAIT_POLICY=active" ;;
    spin10k) echo "GOMP_SPINCOUNT=10000" ;;
  esac
}
# The median step time (ms) of one bench_train_step run.
step_ms() {
  env OMP_NUM_THREADS=2 $(env_of "$1") "$bench" --batch 128 --steps 6 --warmup 2 |
    awk '$1 == "train" { print $4 }'
}
results=$(mktemp)
trap 'rm -f "$results"; kill $(jobs -p) 2> /dev/null || true' EXIT
for round in $(seq 1 "$rounds"); do
  for policy in "${policies[@]}"; do
    idle=$(step_ms "$policy")
    # The competitor: the same step with the same policy, in a loop, for as long as we measure.
    (while true; do env OMP_NUM_THREADS=2 $(env_of "$policy") "$bench" --batch 128 --steps 50 \
       --warmup 1 > /dev/null; done) &
    competitor=$!
    sleep 3
    loaded=$(step_ms "$policy")
    kill "$competitor" 2> /dev/null || true
    pkill -f "bench_train_step --batch 128 --steps 50" 2> /dev/null || true
    wait "$competitor" 2> /dev/null || true
    echo "round $round  $policy  idle $idle ms  loaded $loaded ms"
    echo "$policy idle $idle" >> "$results"
    echo "$policy loaded $loaded" >> "$results"
  done
done
echo
echo "policy    load      median ms  (range of the rounds)"
for policy in "${policies[@]}"; do
  for load in idle loaded; do
    awk -v p="$policy" -v l="$load" '$1 == p && $2 == l { print $3 }' "$results" | sort -g |
      awk -v p="$policy" -v l="$load" '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%-9s %-8s %9.1f  (%.1f-%.1f)\n", p, l, m, v[1], v[NR] }'
  done
done
