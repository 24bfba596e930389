#!/usr/bin/env bash
# ThreadSanitizer run of the threading tests: the default generator from several threads, the
# process-wide thread count, anomaly mode's thread-local state and the DataLoader's workers.
# Builds only the program of those test files (tests/CMakeLists.txt: test_threads), in build-tsan.
# libgomp and OpenBLAS are not instrumented: tests/tsan.supp hides what TSan cannot see through
# them (the barriers of OpenMP teams), see the comments there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-tsan"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTAPEGRAD_TSAN=ON \
  -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target test_threads
export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$root/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$build" --output-on-failure -R '^tsan/'
