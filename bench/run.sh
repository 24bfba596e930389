#!/usr/bin/env bash
# The side-by-side benchmark, tapegrad against LibTorch, in one command:
#   bash bench/run.sh [--quick] [--threads 2 1] [--rounds N] [--workloads w1,w4_resnet20_b64]
#                     [--libtorch-blas openmp|blas1|system]
# Installs libtorch-dev if missing (scripts/deps.sh), builds tapegrad_bench and libtorch_bench in
# Release (folder: $TAPEGRAD_BENCH_BUILD, default build-bench), then runs every workload in its
# own process, tapegrad then LibTorch, at T = 2 and T = 1 threads, and prints one table (also
# written as Markdown to <build>/results.md, raw JSON lines to <build>/results.jsonl).
# tapegrad runs without any thread or BLAS environment variable; LibTorch in its fastest
# configuration by default (its own OpenMP threads only: OpenBLAS's OpenMP build, not the
# pthread build that libtorch-dev makes the system's libblas.so.3), and the table's header says
# which BLAS each process loaded and with how many threads.
# Options after the script name go to bench/compare.py (see its --help).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TAPEGRAD_BENCH_BUILD:-$root/build-bench}
jobs=$(nproc)

bash "$root/scripts/deps.sh" libtorch-dev

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=OFF \
  -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_BENCH=ON -DTAPEGRAD_BENCH_LIBTORCH=ON >/dev/null
cmake --build "$build" --target tapegrad_bench -j"$jobs"
ours=$build/bench/tapegrad_bench

# libtorch_bench: from the main build once bench/CMakeLists.txt includes bench/libtorch, else
# as a project of its own.
if cmake --build "$build" --target help | grep '\blibtorch_bench\b' >/dev/null; then
  cmake --build "$build" --target libtorch_bench -j"$jobs"
  theirs=$build/bench/libtorch/libtorch_bench
else
  cmake -S "$root/bench/libtorch" -B "$build/libtorch" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build/libtorch" -j"$jobs"
  theirs=$build/libtorch/libtorch_bench
fi

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (above ~2 on this machine the figures are noise)"
python3 "$root/bench/compare.py" --ours "$ours" --theirs "$theirs" --out "$build/results.md" "$@"
