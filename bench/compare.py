#!/usr/bin/env python3
"""Runs tapegrad_bench and libtorch_bench side by side and prints one comparison table.

Usually called by bench/run.sh (which builds both programs first). Each workload runs in its own
process (so that peak RSS is per workload), ours then theirs, alternating, at each thread count,
with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = T and --threads T.

  python3 bench/compare.py --ours PATH --theirs PATH [--threads 2 1] [--rounds N] [--quick]
                           [--workloads w1_conv_16_16_32,w4,...] [--out results.md]
                           [--libtorch-blas default|openmp]

Prints the table (stdout) and writes it as Markdown to --out and every raw JSON line to
--out with .jsonl. Ratio = LibTorch time / tapegrad time per call (> 1: tapegrad is faster).
Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

QUICK = ["w1_conv_16_16_32", "w2_relu", "w3_simple_cnn", "w4_resnet20_b64", "w6_chain_mul_add", "w7_mlp"]
OPENMP_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", required=True, help="path of tapegrad_bench")
    p.add_argument("--theirs", required=True, help="path of libtorch_bench")
    p.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    p.add_argument("--rounds", type=int, default=1, help="ours/theirs pairs per workload (median taken)")
    p.add_argument("--workloads", default="all", help="comma-separated names or w1..w7 prefixes")
    p.add_argument("--quick", action="store_true", help="one workload per W, T = 2 only")
    p.add_argument("--timeout", type=float, default=900, help="seconds per process")
    p.add_argument("--out", default="results.md")
    p.add_argument("--libtorch-blas", choices=["default", "openmp"], default="default",
                   help="openmp: run LibTorch on OpenBLAS's OpenMP build (LD_LIBRARY_PATH) instead of "
                        "the system's libblas.so.3 alternative")
    return p.parse_args()


def list_workloads(program):
    out = subprocess.run([program, "--list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def select(all_names, spec):
    if spec == "all":
        return all_names
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = [n for n in all_names if any(n == w or n.startswith(w + "_") for w in wanted)]
    if not chosen:
        sys.exit(f"compare.py: no workload matches {spec!r}; known: {', '.join(all_names)}")
    return chosen


def run_one(program, workload, threads, timeout, extra_env):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), **extra_env)
    cmd = [program, "--threads", str(threads), "--workload", workload]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def combine(runs):
    """One result from several rounds: median of the medians, min of the mins, max of the peaks."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[-1]
    out = dict(good[0])
    out["median_ms"] = statistics.median(r["median_ms"] for r in good)
    out["min_ms"] = min(r["min_ms"] for r in good)
    best = min(good, key=lambda r: abs(r["median_ms"] - out["median_ms"]))
    out["throughput"] = best["throughput"]
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in good)
    out["baseline_rss_mb"] = min(r["baseline_rss_mb"] for r in good)
    return out


def machine():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip() + f", {os.cpu_count()} logical CPUs"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fmt_time(r):
    return "ERROR" if "error" in r else f"{r['median_ms']:.3f}"


def fmt_tput(r):
    if "error" in r:
        return ""
    x = r["throughput"]
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def fmt_rss(r):
    if "error" in r:
        return ""
    return f"{r['peak_rss_mb']:.0f} (+{r['peak_rss_mb'] - r['baseline_rss_mb']:.0f})"


def ratio(ours, theirs):
    if "error" in ours or "error" in theirs:
        return "n/a"
    return f"{theirs['median_ms'] / ours['median_ms']:.2f}"


HEADER = ["T", "workload", "tapegrad ms", "LibTorch ms", "tapegrad", "LibTorch", "unit",
          "tapegrad RSS MB", "LibTorch RSS MB", "ratio"]


def rows_of(results):
    rows = []
    for (threads, name), (ours, theirs) in results.items():
        unit = ours.get("unit") or theirs.get("unit", "")
        rows.append([str(threads), name, fmt_time(ours), fmt_time(theirs), fmt_tput(ours),
                     fmt_tput(theirs), unit, fmt_rss(ours), fmt_rss(theirs), ratio(ours, theirs)])
    return rows


def errors_of(results):
    out = []
    for (threads, name), pair in results.items():
        for side, r in zip(("tapegrad", "LibTorch"), pair):
            if "error" in r:
                out.append(f"{side} {name} T={threads}: {r['error']}")
    return out


def text_table(rows):
    widths = [max(len(r[i]) for r in [HEADER] + rows) for i in range(len(HEADER))]
    line = lambda r: "  ".join(c.rjust(w) if i not in (1, 6) else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(HEADER), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown(rows, meta, errors):
    out = [f"Measured {meta['date']} on {meta['machine']} ({meta['kernel']}); "
           f"tapegrad {meta['commit']}, LibTorch 1.13 (Debian libtorch-dev, BLAS: {meta['blas']}).",
           f"Load average before {meta['load_before']}, after {meta['load_after']}"
           f"{' (machine busy: figures are noisy)' if meta['busy'] else ''}. Rounds per workload: {meta['rounds']}.",
           "",
           "| " + " | ".join(HEADER) + " |",
           "|" + "|".join("---:" if i not in (1, 6) else ":---" for i in range(len(HEADER))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    out += ["",
            "ms: median per call (fwd+bwd, or one training step, or one inference batch); throughput "
            "at the median (GFLOPS = 3*2*N*Cout*Ho*Wo*Cin*K*K per call; us/op for the 1,000-op chains, "
            "lower is better). RSS: peak MB of the process (+ above its baseline, the RSS right "
            "before the first call with inputs, model and optimizer built). ratio = LibTorch ms / "
            "tapegrad ms (> 1: tapegrad is faster)."]
    if errors:
        out += ["", "Failures:"] + [f"- {e}" for e in errors]
    return "\n".join(out) + "\n"


def git_commit(program):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        return subprocess.run(["git", "-C", repo, "describe", "--always", "--dirty"], capture_output=True,
                              text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main():
    args = parse_args()
    names = select(list_workloads(args.ours), ",".join(QUICK) if args.quick else args.workloads)
    thread_counts = [2] if args.quick else args.threads
    theirs_env = {}
    if args.libtorch_blas == "openmp":
        theirs_env["LD_LIBRARY_PATH"] = OPENMP_BLAS_DIR + ":" + os.environ.get("LD_LIBRARY_PATH", "")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    raw, results = [], {}
    for threads in thread_counts:
        for name in names:
            rounds = {"ours": [], "theirs": []}
            for _ in range(args.rounds):
                for side, program, env in (("ours", args.ours, {}), ("theirs", args.theirs, theirs_env)):
                    r = run_one(program, name, threads, args.timeout, env)
                    r.setdefault("workload", name)
                    r.setdefault("threads", threads)
                    r["program"] = os.path.basename(program)
                    rounds[side].append(r)
                    raw.append(r)
            pair = (combine(rounds["ours"]), combine(rounds["theirs"]))
            results[(threads, name)] = pair
            print(f"T={threads} {name:24s} tapegrad {fmt_time(pair[0]):>10s} ms   "
                  f"LibTorch {fmt_time(pair[1]):>10s} ms   ratio {ratio(*pair)}", file=sys.stderr, flush=True)
    loads = os.getloadavg()
    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
            "kernel": platform.platform(), "commit": git_commit(args.ours), "rounds": args.rounds,
            "blas": "OpenBLAS OpenMP build via LD_LIBRARY_PATH" if args.libtorch_blas == "openmp"
            else "system libblas.so.3 alternative",
            "load_before": load_before, "load_after": " ".join(f"{x:.2f}" for x in loads),
            "busy": max(float(load_before.split()[0]), loads[0]) > 2}
    rows, errors = rows_of(results), errors_of(results)
    print(f"\n{meta['machine']}; load average before {meta['load_before']}, after {meta['load_after']}"
          f"{'  (BUSY: figures are noise)' if meta['busy'] else ''}")
    print(text_table(rows))
    for e in errors:
        print("FAILED:", e)
    with open(args.out, "w") as f:
        f.write(markdown(rows, meta, errors))
    with open(os.path.splitext(args.out)[0] + ".jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in raw)
    print(f"\nMarkdown table: {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
