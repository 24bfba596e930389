#!/usr/bin/env bash
# Builds only the fuzz targets (clang, libFuzzer + ASan + UBSan) and runs each for N seconds
# (default 60) from its committed corpus fuzz/corpus/<target>, which holds seeds and the
# regression files of past bugs. Fails on the first crash, leak, timeout or out-of-memory; the
# input that did it is left in build-fuzz/fuzz/artifacts/. Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
# clang and its OpenMP runtime are only needed here, so the main build does not install them.
"$root/scripts/deps.sh" clang libclang-rt-dev libomp-dev

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTAPEGRAD_FUZZ=ON -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF \
  -DTAPEGRAD_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_all >&2

mkdir -p "$build/fuzz/artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One target's run: its fuzzing, then its slow regression inputs once each.
fuzz_one() {
  local target=$1 work status=0
  work=$(mktemp -d)  # inputs found in this run go here; the committed corpus is only read
  # -timeout: a hang, not a slow input on a loaded machine (inputs take milliseconds of CPU).
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$target-" \
    "$work" "$root/fuzz/corpus/$target" 2>"$build/fuzz/$target.log" || status=$?
  rm -rf "$work"
  # Regression inputs too slow to keep in a corpus run once each (fuzz/regressions/<target>-*).
  for input in "$root/fuzz/regressions/$target"-*; do
    [ -e "$input" ] || continue
    [ "$status" -ne 0 ] || "$build/fuzz/fuzz_$target" "$input" 2>>"$build/fuzz/$target.log" || status=$?
  done
  echo "fuzz: $target, ${seconds} s: $(grep -E "^stat::number_of_executed_units" "$build/fuzz/$target.log" || true)"
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$build/fuzz/$target.log"
    echo "fuzz: $target FAILED (exit $status); log: $build/fuzz/$target.log" >&2
  fi
  return "$status"
}

# libFuzzer runs one thread: as many targets at once as there are cores.
mapfile -t targets < <(grep -v '^$' "$build/fuzz/targets.txt")
jobs_at_once=$(nproc)
failed=0
for ((i = 0; i < ${#targets[@]}; i += jobs_at_once)); do
  pids=()
  for target in "${targets[@]:i:jobs_at_once}"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
done
[ "$failed" -eq 0 ] || exit 1
echo "fuzz: every target ran ${seconds} s without a crash"
