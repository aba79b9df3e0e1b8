#!/usr/bin/env python3
"""GEMM GFLOP/s on the ViT shapes: each Tessera kernel variant this CPU runs
(tessera-gemm-bench, one thread, with the FMA peak of the variant measured in
the same run) against numpy's BLAS (OpenBLAS, one thread) on the same shapes;
then the int8 GEMM of every int8 tile this CPU runs, in GOPS against the peak
of the tile's own dot-product instruction (vpdpbusd or vpmaddubsw + vpmaddwd)
probed in the same run (tessera-gemm-bench --int8).

    bash benchmarks/gemm.sh        (builds the bench, then runs this)
    bash benchmarks/gemm.sh --quick   (three shapes)
    bash benchmarks/gemm.sh --rounds 5   (default 3)

The host this runs on may slow down for seconds at a time, so the fp32 table
is measured in rounds: each round runs the bench (every variant and its FMA
peak) and then numpy on every shape, and each cell keeps its best round (the
peak too): a slow spell then costs a round, not one runtime's column.
"""
import os
import re
import subprocess
import sys
import time

# One BLAS thread; and no core-type override, which slows current OpenBLAS.
for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(var, None)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def numpy_gflops(m, k, n, reps_target=1.0):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    wt = np.ascontiguousarray(w.T)
    out = np.empty((m, n), np.float32)
    np.matmul(a, wt, out=out)
    flops = 2.0 * m * n * k
    reps = max(3, int(2e9 / flops))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, wt, out=out)
        best = min(best, (time.perf_counter() - t0) / reps)
    return flops / best / 1e9


def parse_bench(text, variants):
    """Folds one bench run into `variants`, keeping each cell's best."""
    current = None
    for line in text.splitlines():
        h = re.match(r"^(\w+): FMA peak ([\d.]+) GFLOP/s", line)
        if h:
            current = h.group(1)
            v = variants.setdefault(current, {"peak": 0.0, "rows": {}})
            v["peak"] = max(v["peak"], float(h.group(2)))
            continue
        r = re.match(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", line)
        if r and current:
            shape = tuple(map(int, r.groups()[:3]))
            rows = variants[current]["rows"]
            rows[shape] = max(rows.get(shape, 0.0), float(r.group(4)))


def main():
    bench = os.path.join(ROOT, ".build", "release", "tessera-gemm-bench")
    argv = sys.argv[1:]
    rounds = 3
    if "--rounds" in argv:
        i = argv.index("--rounds")
        rounds = max(1, int(argv[i + 1]))
        del argv[i:i + 2]
    variants = {}
    numpy_best = {}
    for rnd in range(rounds):
        text = subprocess.run([bench] + argv, check=True, capture_output=True, text=True).stdout
        if rnd == 0:
            print(text)
        parse_bench(text, variants)
        for s in sorted({s for v in variants.values() for s in v["rows"]}):
            numpy_best[s] = max(numpy_best.get(s, 0.0), numpy_gflops(*s))
    shapes = sorted({s for v in variants.values() for s in v["rows"]}, key=lambda s: (s[0], s[1], s[2]))
    try:
        from threadpoolctl import threadpool_info  # optional
        blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in threadpool_info())
    except Exception:
        cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
        blas = str(cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "numpy BLAS")) if isinstance(cfg, dict) else "numpy BLAS"
    print(f"numpy {np.__version__}, BLAS: {blas}, one thread")
    print(f"best of {rounds} rounds (bench, then numpy, in turn); the first round's bench output is above")
    names = list(variants)
    head = "|    M |    K |    N | " + " | ".join(f"{v} GFLOP/s (% peak)" for v in names) + " | numpy GFLOP/s | best Tessera / numpy |"
    print()
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for s in shapes:
        npg = numpy_best[s]
        cells = []
        best = 0.0
        for v in names:
            g = variants[v]["rows"].get(s)
            if g is None:
                cells.append("–")
            else:
                best = max(best, g)
                cells.append(f"{g:.1f} ({100 * g / variants[v]['peak']:.0f} %)")
        print(f"| {s[0]:4d} | {s[1]:4d} | {s[2]:4d} | " + " | ".join(cells) + f" | {npg:.1f} | {best / npg:.2f}x |")

    # int8: the bench's own tables (GOPS and % of each tile's peak).
    flags = [a for a in argv if a in ("--quick", "--gelu-epilogue", "--residual")]
    print()
    print(subprocess.run([bench, "--int8"] + flags, check=True, capture_output=True, text=True).stdout)


if __name__ == "__main__":
    main()
