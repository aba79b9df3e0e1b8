#!/usr/bin/env python3
"""The side-by-side benchmark driver (run it through benchmarks/run.sh).

    run.py [--quick] [--rows FILTER[,FILTER...]] [--runtimes NAME[,NAME...]]
           [--rounds N] [--target-seconds S] [--no-check] [--out FILE]

1. Prints the machine: CPU model (/proc/cpuinfo), cache sizes (lscpu), the
   Tessera kernel variant in use and the cache sizes it blocks for
   (tessera_model_get_info), and the one-core FP32 FMA peak measured now for
   that variant (.bin/fma_peak_*).
2. Checks every runtime's output against PyTorch's once per model (untimed);
   a runtime whose output is wrong is left out of that model's rows.
3. For each row (model, resolution, threads, batch) runs ROUNDS rounds; a
   round launches each runtime's worker (worker.py, a fresh process) once,
   in an order that rotates from round to round. The median over all timed
   runs of all rounds is the row's number for that runtime.
4. Prints Markdown tables and writes them, with the date and the machine, to
   benchmarks/results/latest.md (raw numbers: latest.json): the fp32 table,
   then, when an int8 runtime ran (tessera-int8, ort-int8), an int8 table
   with Tessera int8 against ONNX Runtime's dynamic int8. A runtime that
   this build does not have (int8 in a library without it) is reported as
   unavailable and left out.

A row's name is MODEL@RES/tT/bB, e.g. vit_base_patch16_224@384/t2/b1;
--rows keeps the rows whose name contains any of the comma-separated
filters (e.g. --rows dinov2 or --rows t1/,@384).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = HERE / ".bin"
sys.path.insert(0, str(HERE))
from make_models import SPECS, load_meta, model_dir  # noqa: E402

# (model key, threads, batch)
ROWS = [
    ("vit_small_patch14_dinov2@224", 1, 1),
    ("vit_small_patch14_dinov2@224", 2, 1),
    ("vit_small_patch14_dinov2@224", 2, 8),
    ("vit_base_patch16_224@224", 1, 1),
    ("vit_base_patch16_224@224", 2, 1),
    ("vit_base_patch16_224@224", 2, 8),
    ("vit_base_patch16_224@384", 2, 1),
    ("vit_small_patch14_dinov2@518", 2, 1),
    ("vit_small_patch16_dinov3@224", 1, 1),
    ("vit_small_patch16_dinov3@224", 2, 1),
]
PEERS = ["onnxruntime", "openvino", "torch"]
LABEL = {
    "tessera-c": "Tessera (C API)",
    "tessera-c-avx2": "Tessera (C API, AVX2 forced)",
    "tessera-py": "Tessera (Python)",
    "tessera-int8": "Tessera int8 (C API)",
    "onnxruntime": "ONNX Runtime",
    "ort-int8": "ORT dynamic int8",
    "openvino": "OpenVINO",
    "openvino-default": "OpenVINO, default precision",
    "torch": "PyTorch eager",
}
SHORT = {"onnxruntime": "ORT", "openvino": "OpenVINO", "torch": "PyTorch"}
INT8 = ("tessera-int8", "ort-int8")  # compared with each other, not with the fp32 peers
ALIASES = {"ort": "onnxruntime"}     # accepted by --runtimes
UNAVAILABLE_EXIT = 3                 # worker.py's exit status for a runtime this build lacks
CHECK_COS = 0.99999   # minimum cosine against torch
CHECK_REL = 1e-3      # maximum |diff| / max(1, max |ref|)


def row_name(key, threads, batch):
    return f"{key}/t{threads}/b{batch}"


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


# --- the machine -----------------------------------------------------------------

def cpuinfo():
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                fields.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    return fields


def amd_uarch(family, model):
    """A best guess from the CPU family/model numbers (the model name under a
    hypervisor is often just "AMD EPYC")."""
    if family == 0x17:
        return "Zen / Zen 2"
    if family == 0x19:
        if model < 0x10 or 0x20 <= model < 0x60:
            return "Zen 3"
        return "Zen 4"
    if family == 0x1A:
        return "Zen 5"
    return None


def lscpu_caches():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [re.sub(r"\s+", " ", l.strip()) for l in out.splitlines()
            if re.match(r"\s*L[123][di]? cache:", l)]


def fma_peak(isa):
    exe = BIN / f"fma_peak_{isa}"
    if not exe.exists():
        return None
    try:
        out = subprocess.run([str(exe), "0.25", "7"], capture_output=True, text=True, check=True).stdout
        d = json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        log(f"fma_peak_{isa}: {e}")
        return None
    return d if d.get("supported") else None


def tessera_info(env):
    d = model_dir("vit_small_patch14_dinov2@224")
    out = subprocess.run([str(BIN / "bench_tessera"), "--info", str(d)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_tessera --info failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def versions():
    v = {}
    for name, dist in (("torch", "torch"), ("timm", "timm"), ("onnx", "onnx"),
                       ("onnxruntime", "onnxruntime"), ("openvino", "openvino"), ("numpy", "numpy")):
        try:
            v[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            v[name] = None
    return v


def measure_peaks(flags, threshold, max_wait):
    """The one-core FMA peak of each instruction set the CPU has, measured
    once the machine is idle (a probe that shares its core reads low)."""
    _, busy = wait_idle(threshold, max_wait)
    peaks = {"avx2": fma_peak("avx2")}
    if "avx512f" in flags:
        peaks["avx512"] = fma_peak("avx512")
    for p in peaks.values():
        if p:
            p["others_cores_before"] = busy
    return peaks


# Features benchmarks/hide_avx512.c (run.sh --hide-avx512) hides from CPUID;
# /proc/cpuinfo still lists them.
HIDDEN_FLAGS = ("avx512", "avx_vnni", "amx")


def features_hidden() -> bool:
    return os.environ.get("hide_avx512_active") == "1"


def machine(env, threshold, max_wait):
    ci = cpuinfo()
    flags = set(ci.get("flags", "").split())
    if features_hidden():
        flags = {f for f in flags if not f.startswith(HIDDEN_FLAGS)}
    fam = int(ci.get("cpu family", "0") or 0)
    mod = int(ci.get("model", "0") or 0)
    ua = amd_uarch(fam, mod) if ci.get("vendor_id") == "AuthenticAMD" else None
    info = tessera_info(env)
    peaks = measure_peaks(flags, threshold, max_wait)
    best = "avx512" if peaks.get("avx512") else "avx2"
    return {
        "cpu_model": ci.get("model name", platform.processor() or "unknown"),
        "cpu_family": fam, "cpu_model_number": mod, "cpu_stepping": ci.get("stepping"),
        "uarch_guess": ua, "vendor": ci.get("vendor_id"),
        "isa_flags": sorted(f for f in flags if f in (
            "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
            "amx_tile", "amx_bf16")),
        "hypervisor": "hypervisor" in flags,
        "cores": os.cpu_count(),
        "lscpu_caches": lscpu_caches(),
        "kernel": platform.release(),
        "tessera": info,
        "tessera_library": env.get("TESSERA_LIBRARY"),
        "fma_peak": peaks,
        "peak_isa": best,
        "features_hidden": features_hidden(),
        "versions": versions(),
    }


def machine_lines(m):
    t = m["tessera"]
    cpu = f"{m['cpu_model']} (family {m['cpu_family']} model {m['cpu_model_number']} " \
          f"stepping {m['cpu_stepping']}"
    cpu += f", {m['uarch_guess']}" if m["uarch_guess"] else ""
    cpu += ", under a hypervisor)" if m["hypervisor"] else ")"
    lines = [
        f"CPU: {cpu}, {m['cores']} cores; {', '.join(m['isa_flags'])}",
        "Caches (lscpu): " + "; ".join(m["lscpu_caches"]),
    ] + ([
        "AVX-512, AVX-VNNI and AMX hidden from every runtime (`run.sh --hide-avx512`, benchmarks/hide_avx512.c: "
        "CPUID faulting): the kernels an AVX2 machine without VNNI runs, on this CPU's cores, clock and caches"
    ] if m.get("features_hidden") else []) + [
        f"Tessera {t['version']}: kernel variant {t['isa_name']}, blocking for "
        f"L1d {t['l1d_bytes'] // 1024} KiB, L2 {t['l2_bytes'] // 1024} KiB (tessera_model_get_info)",
    ]
    for isa, p in m["fma_peak"].items():
        if p:
            when = "measured now" if "start_gflops" not in p else \
                f"best of the measurements before ({p['start_gflops']:.1f}) and after " \
                f"({p['end_gflops']:.1f}) the runs"
            busy = min(p.get("others_cores_before", 0), p.get("others_cores_before_end", 99))
            lines.append(f"FMA peak ({isa}, {p['lanes']}-wide, {p['accumulators']} chains), one core, "
                         f"{when}: {p['gflops']:.1f} GFLOP/s"
                         + (f" (the machine was busy: others used {busy:.1f} cores)" if busy >= 0.25 else ""))
    v = m["versions"]
    lines.append(f"Peers: ONNX Runtime {v['onnxruntime']}, OpenVINO {v['openvino']}, "
                 f"PyTorch {v['torch']} (timm {v['timm']}), numpy {v['numpy']}")
    return lines


# --- running workers -------------------------------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def cpu_stat():
    """(busy, steal) CPU seconds of the whole machine so far (/proc/stat)."""
    try:
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal guest guest_nice
    busy = v[0] + v[1] + v[2] + v[5] + v[6]
    steal = v[7] if len(v) > 7 else 0
    return busy / CLK, steal / CLK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy(seconds=0.5):
    """Cores busy with other processes (and steal) over `seconds`."""
    a = cpu_stat()
    time.sleep(seconds)
    b = cpu_stat()
    if a is None or b is None:
        return 0.0
    return ((b[0] - a[0]) + (b[1] - a[1])) / seconds


def wait_idle(threshold, max_wait):
    """Waits (at most max_wait s) until other processes use < threshold cores."""
    t0 = time.time()
    busy = machine_busy()
    while busy >= threshold and time.time() - t0 < max_wait:
        time.sleep(1.0)
        busy = machine_busy()
    return time.time() - t0, busy


def run_worker(args, env, timeout=900):
    """Runs worker.py in a fresh process; adds "foreign_cores": the cores that
    other processes (and the hypervisor's steal) used during the launch."""
    cmd = [sys.executable, str(HERE / "worker.py"), *map(str, args)]
    t0 = time.time()
    s0, c0 = cpu_stat(), children_cpu()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    s1, c1, wall = cpu_stat(), children_cpu(), time.time() - t0
    foreign = None
    if s0 and s1 and wall > 0:
        foreign = max(0.0, ((s1[0] - s0[0]) + (s1[1] - s0[1]) - (c1 - c0)) / wall)
    if p.returncode == UNAVAILABLE_EXIT:
        tail = "\n".join(p.stderr.strip().splitlines()[-3:])
        return {"error": tail, "unavailable": True, "wall_s": wall}
    if p.returncode != 0:
        tail = "\n".join(p.stderr.strip().splitlines()[-6:])
        return {"error": f"exit {p.returncode}: {tail}", "wall_s": wall}
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"no JSON from worker: {p.stdout[-400:]} {p.stderr[-400:]}"}
    out["foreign_cores"] = foreign
    out["launch_s"] = wall
    return out


def check_model(key, env, threads):
    spec = SPECS[key]
    r = run_worker(["check", spec["timm_name"], spec["res"], "--threads", threads], env)
    bad = {}
    if "error" in r:
        return r, {"*": r["error"]}
    for pair, c in r["pairs"].items():
        runtime = pair.split()[0]
        if "error" in c:
            # "unavailable: ..." (int8 not in this build) is reported as such, not as wrong
            bad[runtime] = c["error"]
        elif runtime in INT8:
            continue  # int8 is not held to the fp32 bounds; its cosine goes in the int8 table's note
        elif c["cosine_min"] < CHECK_COS or c["max_abs"] > CHECK_REL * max(1.0, c["max_ref"]):
            bad[runtime] = f"{pair}: max abs {c['max_abs']:.3g}, cosine {c['cosine_min']:.7f}"
    return r, bad


def is_unavailable(reason):
    return str(reason).startswith("unavailable")


def exclusion_status(reason):
    return "unavailable" if is_unavailable(reason) else "wrong output"


def percentile(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# --- tables ----------------------------------------------------------------------

def fmt_ratio(peer_ms, t_ms):
    if peer_ms is None or t_ms is None:
        return "–"
    return f"{peer_ms / t_ms:.2f}×"


def disturbed(x):
    """True when every launch in the median ran while others used the CPU."""
    return bool(x) and x.get("launches", 0) > 0 and x.get("clean_launches", 0) == 0


def int8_table(results, runtimes, rows, checks):
    """Tessera int8 against ORT dynamic int8 (and each against its own fp32)."""
    out = []
    has_ort32 = "onnxruntime" in runtimes
    head = ["Model", "Res", "Thr", "Batch", "Tessera int8 ms", "img/s", "int8 gain"]
    head += ["ORT int8 ms"] + (["ORT int8 gain"] if has_ort32 else []) + ["vs ORT int8"]
    head += ["vs ORT fp32"] if has_ort32 else []
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---"] * 4 + ["--:"] * (len(head) - 4)) + "|")
    any_disturbed = False
    star = lambda flag: "\\*" if flag else ""  # noqa: E731
    for key, thr, b in rows:
        r = results[row_name(key, thr, b)]["runtimes"]
        t32, t8 = r.get("tessera-c", {}), r.get("tessera-int8", {})
        o32, o8 = r.get("onnxruntime", {}), r.get("ort-int8", {})
        t8m, o8m = t8.get("median_ms"), o8.get("median_ms")
        any_disturbed |= disturbed(t8) or disturbed(o8)
        name, res = key.split("@")
        cells = [f"`{name}`", res, str(thr), str(b)]
        if t8m:
            cells += [f"{t8m:.1f}{star(disturbed(t8))}", f"{b / (t8m / 1e3):.2f}",
                      fmt_ratio(t32.get("median_ms"), t8m)]
        else:
            cells += [t8.get("status", "–"), "–", "–"]
        cells.append(f"{o8m:.1f}{star(disturbed(o8))}" if o8m else o8.get("status", "–"))
        if has_ort32:
            cells.append(fmt_ratio(o32.get("median_ms"), o8m) if o8m else "–")
        cells.append(fmt_ratio(o8m, t8m) + star(disturbed(t8) or disturbed(o8)) if o8m and t8m else "–")
        if has_ort32:
            cells.append(fmt_ratio(o32.get("median_ms"), t8m) if t8m else "–")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("`vs ORT int8` = ORT dynamic int8's median ms / Tessera int8's median ms: above 1× "
               "Tessera int8 is faster" + ("; `vs ORT fp32` the same against ONNX Runtime at fp32"
                                           if has_ort32 else "") +
               ". `int8 gain` = that runtime's fp32 median ms / its int8 median ms. "
               "ORT dynamic int8 runs `model.int8.onnx` (`quantize_dynamic`, QInt8 weights, other "
               "arguments at their defaults); Tessera int8 is the session option precision = int8.")
    if any_disturbed:
        out.append("\\* every launch behind this number ran while other processes used the CPU: "
                   "unreliable.")
    cos = []
    for key, c in (checks or {}).items():
        parts = []
        for pair, what in (("tessera-int8 embedding vs torch forward_features[:,0]", "Tessera int8 embedding"),
                           ("ort-int8 output vs torch forward", "ORT int8 output")):
            x = c.get("pairs", {}).get(pair)
            if x and "error" not in x:
                parts.append(f"{what} {x['cosine_min']:.6f}")
        if parts:
            cos.append(f"`{key}`: " + ", ".join(parts))
    if cos:
        out.append("Lowest cosine to PyTorch fp32 in the correctness check (batch 2, random N(0, 1) "
                   "input; ORT's output is the logits for ViT-B and the CLS embedding otherwise; "
                   "scripts/int8_accuracy.py measures real photos): " + "; ".join(cos) + ".")
    out.append("")
    return out


def tables(results, m, runtimes, rows, checks=None):
    peak1 = m["fma_peak"][m["peak_isa"]]["gflops"]
    out = []
    any_disturbed = False
    # summary: one line per configuration
    has_avx2 = "tessera-c-avx2" in runtimes
    head = ["Model", "Res", "Thr", "Batch", "GFLOP/img", "Tessera ms", "img/s", "GFLOP/s",
            "% peak"]
    head += [f"vs {SHORT[p]}" for p in PEERS if p in runtimes]
    if "tessera-py" in runtimes:
        head.append("Tessera-py ms")
    if has_avx2:
        head.append("Tessera AVX2 ms (% AVX2 peak)")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---"] * 4 + ["--:"] * (len(head) - 4)) + "|")
    for key, thr, b in rows:
        r = results[row_name(key, thr, b)]
        g = r["gflop_per_image"]
        t = r["runtimes"].get("tessera-c", {})
        tm = t.get("median_ms")
        td = disturbed(t)
        star = lambda flag: "\\*" if flag else ""  # noqa: E731
        any_disturbed |= td
        name, res = key.split("@")
        cells = [f"`{name}`", res, str(thr), str(b), f"{g:.2f}"]
        if tm:
            gf = g * b / (tm / 1e3)
            cells += [f"{tm:.1f}{star(td)}", f"{b / (tm / 1e3):.2f}", f"{gf:.0f}",
                      f"{100 * gf / (peak1 * thr):.0f}%"]
        else:
            cells += [t.get("status", "–")] + ["–"] * 3
        for p in PEERS:
            if p in runtimes:
                x = r["runtimes"].get(p, {})
                pm = x.get("median_ms")
                any_disturbed |= disturbed(x)
                cells.append(fmt_ratio(pm, tm) + star(td or disturbed(x)) if pm
                             else x.get("status", "–"))
        if "tessera-py" in runtimes:
            x = r["runtimes"].get("tessera-py", {})
            pm = x.get("median_ms")
            any_disturbed |= disturbed(x)
            cells.append(f"{pm:.1f}{star(disturbed(x))}" if pm else "–")
        if has_avx2:
            x = r["runtimes"].get("tessera-c-avx2", {})
            am = x.get("median_ms")
            any_disturbed |= disturbed(x)
            p2 = m["fma_peak"]["avx2"]["gflops"]
            cells.append(f"{am:.1f}{star(disturbed(x))} ({100 * g * b / (am / 1e3) / (p2 * thr):.0f}%)"
                         if am else "–")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("`vs X` = X's median ms / Tessera's (C API) median ms: above 1× Tessera is faster.")
    if any_disturbed:
        out.append("\\* every launch behind this number ran while other processes used the CPU "
                   "(see \"others' cores\" below): unreliable.")
    out.append("")
    if any(rt in runtimes for rt in INT8):
        out += int8_table(results, runtimes, rows, checks)
    # detail: one line per configuration and runtime
    head = ["Row", "Runtime", "median ms", "p10–p90 ms", "n", "img/s", "GFLOP/s", "% peak",
            "Tessera speed-up", "peak RSS MiB", "others' cores"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---|---|" + "|".join(["--:"] * (len(head) - 2)) + "|")
    for key, thr, b in rows:
        rn = row_name(key, thr, b)
        r = results[rn]
        g = r["gflop_per_image"]
        tm = r["runtimes"].get("tessera-c", {}).get("median_ms")
        t8 = r["runtimes"].get("tessera-int8", {}).get("median_ms")
        for rt in runtimes:
            x = r["runtimes"].get(rt)
            if not x:
                continue
            if not x.get("median_ms"):
                out.append(f"| `{rn}` | {LABEL[rt]} | {x.get('status', 'failed')} | | | | | | | | |")
                continue
            med = x["median_ms"]
            gf = g * b / (med / 1e3)
            if rt in INT8:  # int8 runtimes against Tessera int8
                su = "1.00× (int8 ref)" if rt == "tessera-int8" else (fmt_ratio(med, t8) if t8 else "–")
            else:
                su = "1.00× (ref)" if rt == "tessera-c" else fmt_ratio(med, tm)
            st = "\\*" if disturbed(x) else ""
            out.append(
                f"| `{rn}` | {LABEL[rt]} | {med:.1f}{st} | {x['p10_ms']:.1f}–{x['p90_ms']:.1f} | {x['n']} | "
                f"{b / (med / 1e3):.2f} | {gf:.0f} | {100 * gf / (peak1 * thr):.0f}% | {su} | "
                f"{x.get('max_rss_mb', 0):.0f} | {x.get('kept_foreign_max', 0):.2f} |")
    out.append("")
    out.append("\"others' cores\" = the most CPU that other processes (and hypervisor steal) took "
               "during a launch whose runs are in the median; n = timed runs in the median."
               + (" The int8 rows' speed-up is over Tessera int8, and their % peak is of the fp32 "
                  "FMA peak." if any(rt in runtimes for rt in INT8) else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 rounds, ~0.5 s of timed runs per worker")
    ap.add_argument("--rows", default="", help="comma-separated substrings of row names to keep")
    ap.add_argument("--runtimes", default="",
                    help="comma-separated runtimes (default: all but openvino-default, OpenVINO at its "
                         "default precision; tessera-c is always run): tessera-c, tessera-c-avx2, "
                         "tessera-py, tessera-int8, onnxruntime (or ort), ort-int8, openvino, "
                         "openvino-default, torch")
    ap.add_argument("--rounds", type=int, help="rounds per row (default 4, --quick 2)")
    ap.add_argument("--target-seconds", type=float,
                    help="timed seconds per worker launch (default 1.5, --quick 0.5)")
    ap.add_argument("--warmup", type=int,
                    help="untimed runs per launch (default 2, or 1 when one run takes over a second)")
    ap.add_argument("--no-check", action="store_true", help="skip the correctness check")
    ap.add_argument("--idle-threshold", type=float, default=0.25,
                    help="cores that other processes may use during a launch (default 0.25)")
    ap.add_argument("--max-wait", type=float,
                    help="seconds to wait for the machine to be idle before a launch "
                         "(default 30, --quick 5)")
    ap.add_argument("--wait-budget", type=float,
                    help="seconds the whole run may spend waiting for an idle machine and on "
                         "make-up launches (default 600, --quick 120)")
    ap.add_argument("--out", default=str(HERE / "results" / "latest.md"),
                    help="Markdown output (default benchmarks/results/latest.md; raw numbers "
                         "beside it as .json)")
    ap.add_argument("--redo-disturbed", action="store_true",
                    help="re-run only the rows of the last result (--out's .json) that have a "
                         "number marked * (disturbed by other processes) or a failed runtime, "
                         "and merge them into it")
    a = ap.parse_args()
    rounds = a.rounds or (2 if a.quick else 4)
    target = a.target_seconds or (0.5 if a.quick else 1.5)
    max_runs = 8 if a.quick else 15
    if a.max_wait is None:
        a.max_wait = 5.0 if a.quick else 30.0
    if a.wait_budget is None:
        a.wait_budget = 120.0 if a.quick else 600.0

    filters = [f for f in a.rows.split(",") if f]
    rows = [r for r in ROWS if not filters or any(f in row_name(*r) for f in filters)]
    if not rows:
        raise SystemExit(f"--rows {a.rows!r} matches none of: " + ", ".join(row_name(*r) for r in ROWS))
    prev = None
    if a.redo_disturbed:
        prev_path = Path(a.out).with_suffix(".json")
        if not prev_path.exists():
            raise SystemExit(f"--redo-disturbed: no {prev_path} to redo")
        prev = json.loads(prev_path.read_text())
        redo = {rn for rn, r in prev["results"].items()
                if any(disturbed(x) or x.get("status") == "failed" for x in r["runtimes"].values())}
        rows = [r for r in rows if row_name(*r) in redo]
        if not rows:
            print(f"--redo-disturbed: every row of {prev_path} is undisturbed; nothing to do")
            return
    missing = [k for k in {r[0] for r in rows} if not (model_dir(k) / "meta.json").exists()]
    if missing:
        raise SystemExit(f"models missing: {missing}; run benchmarks/make_models.py")

    env = dict(os.environ)
    env.setdefault("TESSERA_LIBRARY", str(ROOT / ".build" / "release" / "libtessera.so"))
    env["PYTHONPATH"] = str(ROOT / "bindings" / "python") + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if env.pop("TESSERA_ISA", None):
        log("note: TESSERA_ISA was set; it is ignored (tessera-c runs the automatic choice, "
            "tessera-c-avx2 forces avx2)")
    env.pop("OPENBLAS_CORETYPE", None)  # numpy only makes inputs here; keep OpenBLAS
    env.pop("OPENBLAS_L2_SIZE", None)   # settings out of the measured processes

    m = machine(env, a.idle_threshold, 2 * a.max_wait)
    lines = machine_lines(m)
    print("## Machine\n")
    for l in lines:
        print(f"- {l}")
    print(flush=True)
    if not m["fma_peak"].get(m["peak_isa"]):
        raise SystemExit("could not measure the FMA peak (benchmarks/.bin/fma_peak_avx2 missing?)")

    runtimes = ["tessera-c", "tessera-py", "onnxruntime", "openvino", "torch", "tessera-int8", "ort-int8"]
    if "avx512f" in m["isa_flags"] and m["tessera"]["isa_name"] == "avx512":
        runtimes.insert(1, "tessera-c-avx2")
    if a.runtimes:
        keep = {ALIASES.get(r, r) for r in a.runtimes.split(",") if r} | {"tessera-c"}
        unknown = keep - set(LABEL)
        if unknown:
            raise SystemExit(f"unknown runtimes {sorted(unknown)}; known: {', '.join(LABEL)}")
        # openvino-default (no precision hint: bf16 where the CPU has
        # AVX-512 BF16) runs only when asked for; it is not a peer in the ratios.
        runtimes = [r for r in runtimes + ["openvino-default"] if r in keep]

    # correctness, once per model, untimed
    excluded = {}  # model key -> {runtime: reason}
    checks = {}
    if not a.no_check:
        print("## Correctness (untimed; batch 2, same input; vs PyTorch)\n")
        for key in dict.fromkeys(r[0] for r in rows):
            res, bad = check_model(key, env, 2)
            checks[key] = res
            if "error" in res:
                print(f"- `{key}`: check failed to run: {res['error']}")
                excluded[key] = bad
                continue
            for pair, c in res["pairs"].items():
                prt = pair.split()[0]
                if prt not in runtimes and prt in INT8:
                    continue  # checked, but not asked for in --runtimes
                if "error" in c:
                    print(f"- `{key}` {pair}: "
                          + (c["error"] if is_unavailable(c["error"]) else f"ERROR {c['error']}"))
                else:
                    ok = prt not in bad
                    print(f"- `{key}` {pair}: max abs {c['max_abs']:.2e} (max |ref| {c['max_ref']:.2f}), "
                          f"cosine {c['cosine_min']:.9f}"
                          + (" (int8: no bound)" if prt in INT8 else "")
                          + ('' if ok else '  ** WRONG: excluded **'))
            # the Python binding and the C API run the same library: if the C
            # embedding is wrong, every Tessera column is
            if "tessera-c" in bad:
                bad.update({"tessera-py": bad["tessera-c"]})
                bad.setdefault("tessera-int8", bad["tessera-c"])
            excluded[key] = bad
        print(flush=True)

    results = {}
    row_warmup = {}
    budget = {"left": a.wait_budget}
    t_start = time.time()
    peak1 = m["fma_peak"][m["peak_isa"]]["gflops"]
    for key, thr, b in rows:
        rn = row_name(key, thr, b)
        meta = load_meta(key)
        g = meta["flops_per_image"]["gflop"]
        # runs per launch: about `target` seconds at a guessed 50% of peak
        est_ms = 1e3 * g * b / (0.5 * peak1 * thr)
        runs = max(3, min(max_runs, round(target * 1e3 / est_ms)))
        warmup = a.warmup if a.warmup is not None else (1 if est_ms > 1000 else 2)
        row_warmup[rn] = warmup
        name, res = key.split("@")
        rts = [rt for rt in runtimes if rt not in excluded.get(key, {})]
        log(f"[{rn}] {g:.2f} GFLOP/image, {rounds} rounds x {len(rts)} runtimes, "
            f"{runs} timed + {warmup} warm-up runs per launch")
        samples = {rt: [] for rt in rts}
        extra = {rt: {} for rt in rts}
        errors = {rt: [] for rt in rts}
        made_up = {rt: 0 for rt in rts}
        def launch(rt, label):
            """One launch of rt's worker; waits for an idle machine first
            (within the run's wait budget)."""
            waited, busy = wait_idle(a.idle_threshold, min(a.max_wait, budget["left"]))
            budget["left"] = max(0.0, budget["left"] - waited)
            if busy >= a.idle_threshold:
                log(f"  (others use {busy:.2f} cores; waited {waited:.0f} s, "
                    f"{budget['left']:.0f} s of waiting left: running anyway)")
            if rt in excluded.get(key, {}):
                return {"error": excluded[key][rt]}  # found unavailable by an earlier launch
            r = run_worker([rt, name, res, thr, b, runs, "--warmup", warmup], env)
            if r.get("unavailable"):
                why = r["error"].splitlines()[-1] if r["error"] else "no reason given"
                why = why[len("unavailable: "):] if why.startswith("unavailable: ") else why
                excluded.setdefault(key, {})[rt] = f"unavailable: {why}"
                log(f"  {label} {rt}: unavailable ({why}); not launched again for this model")
                return r
            if "error" in r:
                errors[rt].append(r["error"])
                log(f"  {label} {rt}: FAILED {r['error'].splitlines()[-1] if r['error'] else ''}")
                return r
            fc = r.get("foreign_cores") or 0.0
            samples[rt].append((r["ms"], fc))
            e = extra[rt]
            e["busy_launches"] = e.get("busy_launches", 0) + (fc >= a.idle_threshold)
            e["max_rss_mb"] = max(e.get("max_rss_mb", 0), r.get("max_rss_mb", 0))
            for k in ("version", "isa_name", "properties", "cpu_capability", "first_run_ms"):
                if k in r:
                    e.setdefault(k, r[k])
            log(f"  {label} {rt:15s} median {r['median_ms']:9.2f} ms "
                f"(launch {r.get('launch_s', 0):.1f} s, others used {fc:.2f} cores"
                f"{'' if fc < a.idle_threshold else ': disturbed'})")
            return r

        for rd in range(rounds):
            order = rts[rd % len(rts):] + rts[:rd % len(rts)]
            for rt in order:
                launch(rt, f"round {rd + 1}")
        # make-up launches for runtimes that other processes disturbed in
        # most rounds, while the wait budget lasts (counted against it)
        min_clean = max(1, (rounds + 1) // 2)
        for extra_pass in range(rounds):
            need = [rt for rt in rts
                    if sum(fc < a.idle_threshold for _, fc in samples[rt]) < min_clean
                    and len(errors[rt]) < rounds and rt not in excluded.get(key, {})]
            if not need or budget["left"] <= 0:
                break
            for rt in need:
                if budget["left"] <= 0:
                    break
                t0 = time.time()
                r = launch(rt, "make-up")
                made_up[rt] += 1
                budget["left"] = max(0.0, budget["left"] - (time.time() - t0))
        row = {"key": key, "threads": thr, "batch": b, "gflop_per_image": g,
               "runs_per_launch": runs, "warmup": warmup, "rounds": rounds, "runtimes": {}}
        for rt in runtimes:
            if rt in excluded.get(key, {}):
                row["runtimes"][rt] = {"status": exclusion_status(excluded[key][rt]),
                                       "reason": excluded[key][rt]}
                continue
            launches = samples[rt]
            clean = [l for l in launches if l[1] < a.idle_threshold]
            xs = [v for ms, _ in (clean or launches) for v in ms]
            if not xs:
                row["runtimes"][rt] = {"status": "failed", "errors": errors[rt]}
                continue
            row["runtimes"][rt] = {
                "median_ms": statistics.median(xs), "p10_ms": percentile(xs, 0.1),
                "p90_ms": percentile(xs, 0.9), "n": len(xs), "ms": xs,
                "errors": errors[rt], "make_up_launches": made_up[rt],
                "launches": len(launches), "clean_launches": len(clean),
                "busy_dropped": len(launches) - len(clean) if clean else 0,
                "foreign_cores_max": max(l[1] for l in launches),
                "kept_foreign_max": max(l[1] for l in (clean or launches)), **extra[rt]}
        row["measured"] = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        results[rn] = row
    elapsed = time.time() - t_start
    # the peak again, now: the larger of the two is the one a busy machine disturbed less
    end = measure_peaks(set(m["isa_flags"]), a.idle_threshold, 2 * a.max_wait)
    for isa, p in m["fma_peak"].items():
        q = end.get(isa)
        if p and q:
            p["start_gflops"], p["end_gflops"] = p["gflops"], q["gflops"]
            p["others_cores_before_end"] = q["others_cores_before"]
            p["gflops"] = max(p["gflops"], q["gflops"])
    date = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    cmd = " ".join(["benchmarks/run.sh", *sys.argv[1:]])
    commands = [cmd]
    if prev:  # merge: the earlier rows, the redone ones replacing theirs
        merged = dict(prev["results"])
        for rn, row in results.items():  # a redone row replaces the old one unless it is worse
            old = merged.get(rn)
            bad = lambda r: sum(disturbed(x) or x.get("status") == "failed"  # noqa: E731
                                for x in r["runtimes"].values())
            if old is None or bad(row) <= bad(old):
                merged[rn] = row
            else:
                log(f"{rn}: the redone row is more disturbed than the earlier one; kept the earlier")
        results = {row_name(*r): merged[row_name(*r)] for r in ROWS if row_name(*r) in merged}
        rows = [r for r in ROWS if row_name(*r) in results]
        checks = {**prev.get("checks", {}), **checks}
        for key, bad in prev.get("excluded", {}).items():
            excluded.setdefault(key, bad)
        for isa, p in m["fma_peak"].items():
            q = prev["machine"]["fma_peak"].get(isa)
            if p and q and q["gflops"] > p["gflops"]:
                p.update(q)
        commands = prev.get("commands", [prev.get("command")]) + [cmd]
        runtimes = [rt for rt in LABEL if any(rt in r["runtimes"] for r in results.values())]
    lines = machine_lines(m)
    peak1 = m["fma_peak"][m["peak_isa"]]["gflops"]

    table = tables(results, m, runtimes, rows, checks)
    meth = (f"{rounds} rounds per row; each round starts every runtime once, in rotating order, as a "
            f"fresh process; {'/'.join(map(str, sorted(set(row_warmup.values()))))} warm-up run(s) "
            f"(1 where one run takes over a second) then ~{target:g} s (at least 3) of timed runs "
            f"per launch; "
            f"median over all timed runs of the launches during which other processes used < "
            f"{a.idle_threshold:g} cores (all launches if there is none). fp32 everywhere but the "
            f"int8 runtimes; "
            f"ONNX Runtime with spinning off, Tessera's pool threads sleep, OpenVINO and PyTorch "
            f"with their defaults. "
            f"% peak = GFLOP/s / (threads × one-core {m['peak_isa']} FMA peak "
            f"{peak1:.1f} GFLOP/s). FLOPs per image = 2·(patch-embed + L·(qkv+proj+fc1+fc2) + "
            f"L·(QKᵀ+PV)) MACs (norms, softmax, GELU, head left out).")
    print("## Results\n")
    print(f"- {[l for l in lines if l.startswith('FMA peak (' + m['peak_isa'])][0]}\n")
    for l in table:
        print(l)
    print()
    failed = {rn: {rt: x for rt, x in r["runtimes"].items() if x.get("errors")}
              for rn, r in results.items()}
    failed = {k: v for k, v in failed.items() if v}
    notes = []
    for rn, d in failed.items():
        for rt, x in d.items():
            notes.append(f"- `{rn}` {rt}: {len(x['errors'])} launch(es) failed: "
                         f"{x['errors'][0].splitlines()[-1] if x['errors'][0] else ''}")
    for rn, r in results.items():
        for rt, x in r["runtimes"].items():
            if x.get("busy_launches") and not x.get("clean_launches"):
                notes.append(f"- `{rn}` {rt}: every launch ran while other processes used the CPU "
                             f"(up to {x['foreign_cores_max']:.2f} cores): its number is unreliable")
            elif x.get("busy_dropped"):
                notes.append(f"- `{rn}` {rt}: {x['busy_dropped']} of {x['launches']} launches ran while "
                             f"other processes used up to {x['foreign_cores_max']:.2f} cores; "
                             f"the median is over the other {x['clean_launches']}")
    for key, bad in excluded.items():
        for rt, why in bad.items():
            if rt in INT8 and rt not in runtimes:
                continue  # checked, but not asked for in --runtimes
            status = exclusion_status(why)
            why = why[len("unavailable: "):] if str(why).startswith("unavailable: ") else why
            notes.append(f"- `{key}` {rt}: left out, {status} ({why})")
    if notes:
        print("Problems:\n" + "\n".join(notes) + "\n")
    print(f"({elapsed / 60:.1f} min of runs; {meth})")

    md = [f"# Tessera side-by-side benchmark — {date}", "",
          "Command: " + ", then ".join(f"`{c}`" for c in commands)
          + ("  (quick mode: few runs, numbers are rough)" if a.quick else ""), "",
          "## Machine", ""] + [f"- {l}" for l in lines] + ["", "## Correctness (vs PyTorch, untimed)", ""]
    for key, r in checks.items():
        for pair, c in r.get("pairs", {}).items():
            prt = pair.split()[0]
            if prt in INT8 and prt not in runtimes:
                continue
            if "error" in c:
                md.append(f"- `{key}` {pair}: "
                          + (c["error"] if is_unavailable(c["error"]) else f"ERROR {c['error']}"))
            else:
                md.append(f"- `{key}` {pair}: max abs {c['max_abs']:.2e}, cosine {c['cosine_min']:.9f}"
                          + (" (int8: no bound)" if prt in INT8 else ""))
    if not checks:
        md.append("- skipped (--no-check)")
    md += ["", "## Results", ""] + table + [""]
    if notes:
        md += ["Problems:", ""] + notes + [""]
    md += [f"Method: {meth} Wall time of the timed part: {elapsed / 60:.1f} min.", ""]
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(md))
    out.with_suffix(".json").write_text(json.dumps(
        {"date": date, "command": cmd, "commands": commands, "machine": m, "checks": checks,
         "excluded": excluded, "results": results,
         "rounds": rounds, "target_seconds": target}, indent=1))
    log(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
