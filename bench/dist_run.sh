#!/usr/bin/env bash
# The data-parallel benchmark (issue 13) in one command:
#   bash bench/dist_run.sh [--rounds N] [--steps S]      (defaults 5 and 5; ~3 min when quiet)
# Builds dist_bench in Release (folder: $TAPEGRAD_BENCH_BUILD, default build-bench), then runs,
# variants interleaved round by round (each round in a rotated order) so that a changing machine
# load spreads over all of them:
#   1. allreduce bus bandwidth on 2 ranks, 1/5/10/25 MiB (the sizes interleave inside dist_bench);
#   2. ResNet-20 training at global batch 128: 1 process x 2 threads against 2 ranks x 1 thread
#      (64 images each): DDP, DDP + SyncBatchNorm, DDP with one bucket (no overlap), and no DDP at
#      all (each rank computing alone: the bound with free communication);
#   3. DDP's overhead in a world of one (DDP-wrapped against plain, alternating in one process).
# Prints Markdown tables (min and median over rounds, the load average before and after), also
# written to <build>/dist_results.md; raw JSON lines in <build>/dist_results.jsonl.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TAPEGRAD_BENCH_BUILD:-$root/build-bench}
rounds=5
steps=5
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "usage: bench/dist_run.sh [--rounds N] [--steps S]" >&2; exit 2 ;;
  esac
done

bash "$root/scripts/deps.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then  # an existing folder keeps its own options
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=OFF \
    -DTAPEGRAD_BUILD_EXAMPLES=OFF -DTAPEGRAD_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build" --target dist_bench -j"$(nproc)" >/dev/null
bench=$build/bench/dist_bench

[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# No binding: the 1-process run's two threads are not bound either.
mpi=(mpirun -np 2 --oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
raw=$build/dist_results.jsonl
: >"$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

"${mpi[@]}" "$bench" allreduce --rounds $((rounds + 2)) | tee -a "$raw"

variants=(
  "OMP_NUM_THREADS=2 $bench train --mode plain --batch 128 --threads 2"
  "${mpi[*]} $bench train --mode ddp --batch 64 --threads 1"
  "${mpi[*]} $bench train --mode ddp-syncbn --batch 64 --threads 1"
  "${mpi[*]} $bench train --mode ddp-one-bucket --batch 64 --threads 1"
  "${mpi[*]} $bench train --mode plain --batch 64 --threads 1"
)
for ((r = 0; r < rounds; r++)); do
  for ((k = 0; k < ${#variants[@]}; k++)); do
    v=${variants[$(((k + r) % ${#variants[@]}))]}
    env $v --steps "$steps" | sed "s/^{/{\"round\": $r, /" | tee -a "$raw"
  done
done

OMP_NUM_THREADS=2 "$bench" overhead --batch 128 --threads 2 --pairs $((6 * rounds)) | tee -a "$raw"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$raw" "$load_before" "$load_after" "$build/dist_results.md" <<'EOF'
import json, statistics, sys
raw, before, after, out = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.startswith("{")]
lines = [f"load average before: {before}, after: {after}", ""]
lines += ["| buffer | min ms | median ms | bus bandwidth (min / median time) |", "|---|---|---|---|"]
for r in rows:
    if r["bench"] != "allreduce": continue
    n, size = r["ranks"], r["mib"] * 2**20
    bus = lambda t: size * 2 * (n - 1) / n / t / 1e9  # GB/s, NCCL-tests' busbw
    lines.append(f"| {r['mib']} MiB | {r['min_s']*1e3:.2f} | {r['median_s']*1e3:.2f} | "
                 f"{bus(r['min_s']):.2f} / {bus(r['median_s']):.2f} GB/s |")
names = {("plain", 1): "1 process x 2 threads, batch 128",
         ("ddp", 2): "2 ranks x 1 thread, DDP",
         ("ddp-syncbn", 2): "2 ranks x 1 thread, DDP + SyncBatchNorm",
         ("ddp-one-bucket", 2): "2 ranks x 1 thread, DDP, one bucket (no overlap)",
         ("plain", 2): "2 ranks x 1 thread, no DDP (no communication)"}
train = {}
for r in rows:
    if r["bench"] == "train": train.setdefault((r["mode"], r["ranks"]), []).append(r)
if train:
    ref = statistics.median(r["median_s"] for r in train.get(("plain", 1), [{"median_s": float("nan")}]))
    lines += ["", "ResNet-20, global batch 128 per step (per-round medians of the step time; "
              "the min is the fastest step seen):", "",
              "| variant | rounds | s/step min | s/step median | img/s (median) | time vs 1 process |",
              "|---|---|---|---|---|---|"]
    for key, name in names.items():
        if key not in train: continue
        rs = train[key]
        med = statistics.median(r["median_s"] for r in rs)
        lines.append(f"| {name} | {len(rs)} | {min(r['min_s'] for r in rs):.3f} | {med:.3f} | "
                     f"{128 / med:.0f} | {med / ref:.3f} |")
ov = {r["mode"]: r for r in rows if r["bench"] == "overhead"}
if len(ov) == 3:
    p, d, q = ov["plain"], ov["ddp"], ov["ratio"]
    lines += ["", "DDP in a world of one, ResNet-20 batch 128, 2 threads, alternating step by step "
              "in one process:", "",
              "| model | s/step min | s/step median |", "|---|---|---|",
              f"| plain | {p['min_s']:.4f} | {p['median_s']:.4f} |",
              f"| DDP-wrapped | {d['min_s']:.4f} | {d['median_s']:.4f} |",
              f"| DDP overhead: min over min, median of the per-pair ratios | "
              f"{100 * (d['min_s'] / p['min_s'] - 1):+.2f}% | {100 * (q['median_s'] - 1):+.2f}% |"]
text = "\n".join(lines) + "\n"
open(out, "w").write(text)
print("\n" + text)
EOF
