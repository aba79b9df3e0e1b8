#!/usr/bin/env python3
"""Paired benchmark: Tessera and its peers in one process per row, one run
each in turn, and the ratio of each pair of neighbouring runs.

    benchmarks/run.sh --paired [--rows dinov3,384] [--seconds 30] [--out FILE]

run.py starts each runtime in a fresh process and interleaves whole
launches. On a shared host whose speed changes in phases of seconds, one
runtime's launch can land in a slow phase and another's in a fast one, so a
row's ratio moves by 10-30 % from run to run. Here every round runs each
runtime once, in a shuffled order, a few ms apart; a phase then slows both
members of a pair, and the median of the per-round ratios (peer ms /
Tessera ms) is steady where the ratio of medians is not. The price: all
runtimes share one process (ONNX Runtime's threads do not spin, PyTorch's
OpenMP threads are told to sleep at once, OMP_WAIT_POLICY=PASSIVE and
KMP_BLOCKTIME=0, where by default they spin for up to 200 ms on the cores
the next runtime needs; OpenVINO's pool sleeps within the pause between
calls), each call finds the caches as the
runtimes before it left them (its weights partly evicted from L3, where
run.py's repeated calls find them), and peak memory is not measured (run.py
does that).

Runtimes: Tessera fp32 and int8 through the Python binding (the same
library as the C API), ONNX Runtime fp32 and dynamic int8, OpenVINO f32 and
PyTorch eager; the int8 pair is Tessera int8 against ONNX Runtime's int8.
The models, inputs and thread settings are run.py's and worker.py's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402
import worker  # noqa: E402

FP32_PEERS = ("onnxruntime", "openvino", "torch")
LABEL = {"tessera": "Tessera", "tessera-int8": "Tessera int8", "onnxruntime": "ONNX Runtime",
         "ort-int8": "ORT dynamic int8", "openvino": "OpenVINO", "torch": "PyTorch"}


def callables(key: str, threads: int, batch: int) -> dict:
    """Each runtime's one-batch call on the row's model and input."""
    from make_models import model_dir
    d = model_dir(key)
    res = int(key.split("@")[1])
    x = worker.make_input(batch, res)
    out = {}
    import tessera
    model = tessera.Model(str(d))
    outputs = worker.tessera_outputs(model)
    fp32 = model.session(batch=batch, height=res, width=res, threads=threads, outputs=outputs)
    out["tessera"] = lambda: fp32.run(x)
    try:
        int8 = model.session(batch=batch, height=res, width=res, threads=threads, precision="int8", outputs=outputs)
        out["tessera-int8"] = lambda: int8.run(x)
    except Exception as e:  # a build without int8
        print(f"paired: no Tessera int8: {e}", file=sys.stderr)
    ort = worker.ort_session(d, threads)
    name = ort.get_inputs()[0].name
    out["onnxruntime"] = lambda: ort.run(None, {name: x})
    if (d / "model.int8.onnx").exists():
        ort8 = worker.ort_session(d, threads, "model.int8.onnx")
        out["ort-int8"] = lambda: ort8.run(None, {name: x})
    compiled, _ = worker.ov_compile(d, res, threads, batch)
    req = compiled.create_infer_request()
    out["openvino"] = lambda: req.infer({0: x}, share_inputs=True, share_outputs=True)
    import torch
    torch.set_num_threads(threads)
    tm = worker.torch_model(d)
    tx = torch.from_numpy(x)

    def torch_call():
        with torch.inference_mode():
            tm(tx)
    out["torch"] = torch_call
    return out


def one_row(key: str, threads: int, batch: int, seconds: float, min_rounds: int, gap_ms: float) -> dict:
    """Rounds of one call per runtime until `seconds` have passed and at
    least `min_rounds` are done; every runtime's ms per round. The order is
    shuffled each round (a fixed rotation would always run one runtime right
    after the same other, whose threads may still be spinning), and each
    call starts `gap_ms` after the one before, so that the pools of the
    runtime before have gone to sleep (ms apart, well inside a phase of the
    host)."""
    calls = callables(key, threads, batch)
    names = list(calls)
    for n in names:  # warm-up
        for _ in range(2):
            calls[n]()
    ms = {n: [] for n in names}
    shuffle = random.Random(20240601).shuffle
    start = time.perf_counter()
    r = 0
    while r < min_rounds or time.perf_counter() - start < seconds:
        order = list(names)
        shuffle(order)
        for n in order:
            time.sleep(gap_ms / 1e3)
            t0 = time.perf_counter_ns()
            calls[n]()
            ms[n].append((time.perf_counter_ns() - t0) / 1e6)
        r += 1
    return {"key": key, "threads": threads, "batch": batch, "rounds": r, "ms": ms}


def summarize(row: dict) -> dict:
    """Per runtime median and p10 ms; per pair the median of the per-round
    ratios (peer / Tessera) and the share of rounds Tessera was faster."""
    ms = row["ms"]
    out = {"runtimes": {n: {"median_ms": statistics.median(v), "p10_ms": run.percentile(v, 0.1)}
                        for n, v in ms.items()}, "pairs": {}}
    pairs = [(p, "tessera") for p in FP32_PEERS if p in ms]
    if "ort-int8" in ms and "tessera-int8" in ms:
        pairs.append(("ort-int8", "tessera-int8"))
    for peer, ref in pairs:
        ratios = [a / b for a, b in zip(ms[peer], ms[ref])]
        out["pairs"][peer] = {"against": ref, "median_ratio": statistics.median(ratios),
                              "p10_ratio": run.percentile(ratios, 0.1), "p90_ratio": run.percentile(ratios, 0.9),
                              "tessera_faster": sum(r > 1 for r in ratios) / len(ratios)}
    return out


def table_line(name: str, rounds: int, s: dict) -> str:
    """One row of the results table from `summarize`'s output."""
    rt, pr = s["runtimes"], s["pairs"]

    def ratio(peer):
        x = pr.get(peer)
        return f"{x['median_ratio']:.2f}× ({x['p10_ratio']:.2f}–{x['p90_ratio']:.2f})" if x else "–"
    fastest = min((rt[n]["median_ms"], n) for n in FP32_PEERS if n in rt)[1]
    t8 = rt.get("tessera-int8")
    t8_cell = f"{t8['median_ms']:.1f} ({t8['p10_ms']:.1f})" if t8 else "–"
    return (f"| `{name}` | {rounds} | {rt['tessera']['median_ms']:.1f} ({rt['tessera']['p10_ms']:.1f}) "
            f"| {ratio('onnxruntime')} | {ratio('openvino')} | {ratio('torch')} "
            f"| {pr[fastest]['median_ratio']:.2f}× ({LABEL[fastest]}) "
            f"| {t8_cell} | {ratio('ort-int8')} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="", help="comma-separated substrings of row names to keep")
    ap.add_argument("--seconds", type=float, default=30.0, help="timed seconds per row (default 30)")
    ap.add_argument("--min-rounds", type=int, default=8)
    ap.add_argument("--gap-ms", type=float, default=30.0, help="pause before each call (default 30)")
    ap.add_argument("--out", default=str(HERE / "results" / "paired-latest.md"))
    ap.add_argument("--one", nargs=3, metavar=("KEY", "THREADS", "BATCH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        key, threads, batch = a.one[0], int(a.one[1]), int(a.one[2])
        # Before PyTorch is imported: its OpenMP pool sized to the row, and
        # told to sleep at once after each call, where by default its
        # threads spin for up to 200 ms on the cores the next runtime runs on.
        worker.set_thread_env(threads)
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        os.environ["KMP_BLOCKTIME"] = "0"
        print(json.dumps(one_row(key, threads, batch, a.seconds, a.min_rounds, a.gap_ms)))
        return 0

    rows = [r for r in run.ROWS
            if not a.rows or any(s in run.row_name(*r) for s in a.rows.split(","))]
    env = dict(os.environ)
    m = run.machine(env, 0.25, 60)
    lines = [f"# Tessera paired benchmark — {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"Command: `benchmarks/run.sh --paired {' '.join(sys.argv[1:])}`".rstrip(), "", "## Machine", ""]
    lines += [f"- {x}" for x in run.machine_lines(m)]
    lines += ["", "## Results", "",
              f"Each round runs every runtime once, in an order shuffled per round, {a.gap_ms:.0f} ms apart, "
              "in one process per row. "
              "`A / Tessera` = the median over rounds of A's ms / Tessera's ms in the same round "
              "(above 1×: Tessera faster), p10–p90 of those ratios in brackets; the int8 column compares "
              "ONNX Runtime's dynamic int8 with Tessera int8. ms = median (p10).", "",
              "| row | rounds | Tessera ms | ONNX Runtime / Tessera | OpenVINO / Tessera | PyTorch / Tessera "
              "| vs fastest peer | Tessera int8 ms | ORT int8 / Tessera int8 |",
              "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    results = {}
    for key, threads, batch in rows:
        name = run.row_name(key, threads, batch)
        run.log(f"{name}: {a.seconds:.0f} s of paired rounds")
        p = subprocess.run([sys.executable, __file__, "--one", key, str(threads), str(batch),
                            "--seconds", str(a.seconds), "--min-rounds", str(a.min_rounds),
                            "--gap-ms", str(a.gap_ms)],
                           env=env, capture_output=True, text=True)
        if p.returncode != 0:
            run.log(f"{name}: failed: {p.stderr.strip()[-500:]}")
            continue
        row = json.loads(p.stdout.strip().splitlines()[-1])
        s = summarize(row)
        results[name] = {**row, **s}
        lines.append(table_line(name, row["rounds"], s))
        run.log(lines[-1])
    lines += ["", "The fastest peer is the one with the lowest median ms in the row; its column is the paired "
              "ratio against it. Absolute ms move with the host's phases; the paired ratios much less."]
    text = "\n".join(lines) + "\n"
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text)
    Path(a.out).with_suffix(".json").write_text(json.dumps({"machine": m, "results": results}, indent=1))
    print(text)
    run.log(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
