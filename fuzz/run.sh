#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs each for FUZZ_SECONDS seconds (default 60), starting from the kept seed corpus
# (fuzz/corpus/<target>/) and the inputs of past findings (fuzz/regressions/<target>/).
# New corpus entries go to $FUZZ_BUILD_DIR/corpus/<target>/ (not the source tree); a crash,
# sanitizer report, leak, timeout (-timeout, default 10 s per input) or allocation above
# 2 GB is written to $FUZZ_BUILD_DIR/artifacts/<target>/ and fails the run. To keep a finding:
# fix it, copy the input to fuzz/regressions/<target>/ (tests/test_checkpoint_strict.cpp then
# replays it in `make test`). Variables: FUZZ_SECONDS, FUZZ_TARGETS (a subset, e.g.
# "checkpoint cifar10"), FUZZ_BUILD_DIR (default build-fuzz), JOBS (build jobs, default nproc).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=(${FUZZ_TARGETS:-safetensors checkpoint cifar10 train_options})
build=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc)}

# Debian's clang ships libFuzzer; libomp-dev is clang's OpenMP. Install what is missing.
missing=()
for pkg in clang libomp-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "fuzz: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { echo "fuzz: could not install ${missing[*]}" >&2; exit 1; }
fi

cmake -S fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++ >/dev/null || exit 1
cmake --build "$build" -j "$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}") || exit 1

max_len() {
  case $1 in
    checkpoint) echo 16384 ;;   # the seed checkpoint is about 7 KB (its generator state)
    cifar10) echo 8192 ;;       # two 3073-byte records and more
    *) echo 4096 ;;
  esac
}

failed=()
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t artifacts=$build/artifacts/$t log=$build/fuzz_$t.log
  mkdir -p "$corpus" "$artifacts"
  dirs=("$corpus" "fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  echo "fuzz: $t for $seconds s (log $log)"
  "$build/fuzz_$t" "${dirs[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 &
  pid=$!
  wait $pid
  status=$?
  rm -rf "/dev/shm/minidl_fuzz_$pid" "${TMPDIR:-/tmp}/minidl_fuzz_$pid"  # the target's scratch folder
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if ((status != 0)); then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $status): $(grep -m1 -E 'ERROR|SUMMARY|Test unit written' "$log")"
    grep -E 'Test unit written|SUMMARY' "$log" | sed 's/^/      /'
  else
    echo "fuzz: $t clean: ${runs:-?} inputs, ${cov:-cov ?}, corpus $(ls "$corpus" | wc -l) files"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}: inputs under $build/artifacts/; fix, then keep each in fuzz/regressions/<target>/"
  exit 1
fi
echo "fuzz: all targets clean (${seconds} s each)"
