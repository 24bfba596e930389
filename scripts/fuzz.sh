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
while read -r target; do
  [ -n "$target" ] || continue
  work=$(mktemp -d)  # inputs found in this run go here; the committed corpus is only read
  echo "fuzz: $target for ${seconds} s"
  status=0
  # -timeout: a hang, not a slow input on a loaded machine (inputs take milliseconds of CPU).
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$target-" \
    "$work" "$root/fuzz/corpus/$target" 2>"$build/fuzz/$target.log" || status=$?
  grep -E "^stat::number_of_executed_units|^Done" "$build/fuzz/$target.log" || true
  rm -rf "$work"
  # Regression inputs too slow to keep in a corpus run once each (fuzz/regressions/<target>-*).
  for input in "$root/fuzz/regressions/$target"-*; do
    [ -e "$input" ] || continue
    [ "$status" -ne 0 ] || "$build/fuzz/fuzz_$target" "$input" 2>>"$build/fuzz/$target.log" || status=$?
  done
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$build/fuzz/$target.log"
    echo "fuzz: $target FAILED (exit $status); log: $build/fuzz/$target.log" >&2
    exit 1
  fi
done <"$build/fuzz/targets.txt"
echo "fuzz: every target ran ${seconds} s without a crash"
