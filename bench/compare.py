#!/usr/bin/env python3
"""Runs tapegrad_bench and libtorch_bench side by side and prints one comparison table.

Usually called by bench/run.sh (which builds both programs first). Each workload runs in its own
process (so that peak RSS is per workload), ours then theirs, alternating, at each thread count,
both with --threads T. tapegrad runs with no thread or BLAS environment variable at all (those
inherited from the shell are removed: it must be fast without any); LibTorch, the anchor, runs in
its best configuration (--libtorch-blas, below) and the table says which BLAS each side loaded.

  python3 bench/compare.py --ours PATH --theirs PATH [--threads 2 1] [--rounds N] [--quick]
                           [--workloads w1_conv_16_16_32,w4,...] [--out results.md]
                           [--libtorch-blas openmp|blas1|system]

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

QUICK = ["w1_conv_16_16_32", "w2_relu", "w3_simple_cnn", "w4_resnet20_b64", "w4u_resnet20_user_b64",
         "w6_chain_mul_add", "w7_mlp", "w8_resnet20_user_bf16_b64"]
OPENMP_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
# Variables that steer threads or pick the BLAS: removed from both processes' environments, then
# set for LibTorch's only, as its configuration says.
TUNING_PREFIXES = ("OMP_", "GOMP_", "KMP_", "OPENBLAS_", "GOTO", "MKL_")
TUNING_NAMES = ("LD_LIBRARY_PATH", "LD_PRELOAD")

# LibTorch's BLAS configurations. LibTorch runs its own ops on T OpenMP threads; the pthread
# OpenBLAS that `libtorch-dev` can make the system's libblas.so.3 starts T threads of its own on
# top (2 + 2 on 2 cores: issue 11 saw LibTorch's conv 16->16 take 63 ms there instead of 14). The
# OpenMP build shares LibTorch's OpenMP threads (single-threaded inside its parallel regions).
LIBTORCH_BLAS = {
    "openmp": ("OpenBLAS's OpenMP build (LD_LIBRARY_PATH), OMP_NUM_THREADS = T",
               lambda t: {"LD_LIBRARY_PATH": OPENMP_BLAS_DIR, "OMP_NUM_THREADS": str(t)}),
    "blas1": ("the system's libblas.so.3, OPENBLAS_NUM_THREADS = 1 (one BLAS thread with the pthread build; "
              "the OpenMP build follows OMP_NUM_THREADS = T regardless)",
              lambda t: {"OMP_NUM_THREADS": str(t), "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}),
    "system": ("the system's libblas.so.3 as installed, OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = T "
               "(oversubscribes with the pthread OpenBLAS; the old default)",
               lambda t: {"OMP_NUM_THREADS": str(t), "OPENBLAS_NUM_THREADS": str(t), "MKL_NUM_THREADS": str(t)}),
}
# openmp is LibTorch's fastest, measured 2026-11-30 at T = 2 (LibTorch alone, median ms of 2
# rounds, machine loaded: +-15%): SimpleCNN step openmp 6.9, pthread build with 1 BLAS thread 6.2,
# pthread build with T BLAS threads 10.8; MLP step 2.8, 4.5, 10.6 (its linear layers' GEMMs run
# outside LibTorch's parallel regions, where the OpenMP build still uses T threads); the W1 convs
# and the ResNet-20 steps equal within the noise.
LIBTORCH_BLAS_DEFAULT = "openmp"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ours", required=True, help="path of tapegrad_bench")
    p.add_argument("--theirs", required=True, help="path of libtorch_bench")
    p.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    p.add_argument("--rounds", type=int, default=1, help="ours/theirs pairs per workload (median taken)")
    p.add_argument("--workloads", default="all", help="comma-separated names or w1..w8 prefixes")
    p.add_argument("--quick", action="store_true", help="one workload per W, T = 2 only")
    p.add_argument("--timeout", type=float, default=900, help="seconds per process")
    p.add_argument("--out", default="results.md")
    p.add_argument("--libtorch-blas", choices=["default"] + list(LIBTORCH_BLAS), default="default",
                   help="LibTorch's BLAS: " + "; ".join(f"{k}: {v[0]}" for k, v in LIBTORCH_BLAS.items()) +
                        f"; default: {LIBTORCH_BLAS_DEFAULT} (the fastest for LibTorch, measured)")
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


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(TUNING_PREFIXES) and k not in TUNING_NAMES}


def run_one(program, workload, threads, timeout, extra_env):
    env = dict(clean_env(), **extra_env)
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
           f"tapegrad {meta['commit']}, LibTorch 1.13 (Debian libtorch-dev), {meta['libtorch_blas']}.",
           f"Load average before {meta['load_before']}, after {meta['load_after']}"
           f"{' (machine busy: figures are noisy)' if meta['busy'] else ''}. Rounds per workload: {meta['rounds']}.",
           "", "As read inside each process (BLAS files mapped, OpenBLAS's report, threads, environment):", ""]
    out += [f"- {line}" for line in meta["configs"]]
    out += ["",
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


def configurations(raw):
    """One line per side and thread count: the BLAS each process loaded, its threads, its
    environment (as the programs report them; several lines if workloads differed)."""
    lines = []
    for r in raw:
        if "error" in r or "blas" not in r:
            continue
        side = "tapegrad" if r.get("side") == "tapegrad" else "LibTorch"
        line = f"{side}, T={r['threads']}: BLAS {r['blas']}; {r['threading']}; env: {r['env']}"
        if line not in lines:
            lines.append(line)
    return lines


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
    blas = LIBTORCH_BLAS_DEFAULT if args.libtorch_blas == "default" else args.libtorch_blas
    if blas == "openmp" and not os.path.isdir(OPENMP_BLAS_DIR):
        sys.exit(f"compare.py: {OPENMP_BLAS_DIR} is missing (apt-get install libopenblas0-openmp), "
                 "or pass --libtorch-blas blas1")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    raw, results = [], {}
    for threads in thread_counts:
        for name in names:
            rounds = {"ours": [], "theirs": []}
            for _ in range(args.rounds):
                for side, program, env in (("ours", args.ours, {}),
                                           ("theirs", args.theirs, LIBTORCH_BLAS[blas][1](threads))):
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
            "libtorch_blas": f"--libtorch-blas {blas}: {LIBTORCH_BLAS[blas][0]}", "configs": configurations(raw),
            "load_before": load_before, "load_after": " ".join(f"{x:.2f}" for x in loads),
            "busy": max(float(load_before.split()[0]), loads[0]) > 2}
    rows, errors = rows_of(results), errors_of(results)
    print(f"\n{meta['machine']}; load average before {meta['load_before']}, after {meta['load_after']}"
          f"{'  (BUSY: figures are noise)' if meta['busy'] else ''}")
    print(f"LibTorch configuration {meta['libtorch_blas']}. As read inside each process:")
    for line in meta["configs"]:
        print("  " + line)
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
