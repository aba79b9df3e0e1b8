#!/usr/bin/env python3
"""One benchmark measurement, in a fresh process.

    worker.py RUNTIME MODEL RES THREADS BATCH RUNS [--warmup N]
    worker.py check MODEL RES [--threads T]

RUNTIME is one of
  tessera-c       Tessera through its C API (runs .bin/bench_tessera, which
                  does the timing in C; this script only relays its JSON)
  tessera-c-avx2  the same with TESSERA_ISA=avx2 (the AVX2 kernels forced)
  tessera-py      Tessera through the Python binding (session.run)
  tessera-int8    Tessera through its C API with the session option
                  precision = int8 (bench_tessera --precision int8)
  onnxruntime     ONNX Runtime, CPUExecutionProvider, on model.onnx
  ort-int8        the same on model.int8.onnx (make_models.py: ONNX
                  Runtime's quantize_dynamic, QInt8 weights)
  openvino        OpenVINO CPU plugin, on model.onnx reshaped to a static batch
  torch           PyTorch eager (timm model, torch.inference_mode)
MODEL is a timm name (vit_small_patch14_dinov2, vit_base_patch16_224) and RES
the input resolution; the model must exist in benchmarks/.models (see
make_models.py). The worker sets the runtime's thread count to THREADS, runs
N untimed warm-up runs (default 3), then RUNS timed runs of one batch of
BATCH images on the same input, and prints one JSON line with the per-run
milliseconds ("ms"). Each timed interval is one inference call; making the
input and reading the output outside that call are not timed. A runtime this
build or model directory does not have (tessera-int8 against a library
without int8, ort-int8 without model.int8.onnx) exits with status 3 and the
reason on stderr, so that the driver reports it as unavailable.

`check` compares, once and untimed, every runtime's output with PyTorch's on
the same seeded input (batch 2): Tessera's embedding (CLS after the final
norm, from the C API and the Python binding) with
model.forward_features(x)[:, 0], and the ONNX Runtime / OpenVINO outputs with
model(x). The int8 runtimes are compared the same way (Tessera int8's
embedding, ORT int8's output), to report how far int8 is from fp32; a pair
that cannot run says why in "error". It prints one JSON line with max abs
difference and cosine per pair.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = HERE / ".bin"
MODELS = HERE / ".models"
RUNTIMES = ("tessera-c", "tessera-c-avx2", "tessera-py", "tessera-int8", "onnxruntime", "ort-int8",
            "openvino", "openvino-default", "torch")
INPUT_SEED = 20240601
UNAVAILABLE_EXIT = 3  # the runtime is not in this build / model directory


class Unavailable(Exception):
    """A runtime this build or model directory does not have."""


def set_thread_env(threads: int) -> None:
    """Before any runtime is imported: OpenMP/MKL pools (torch) sized to THREADS."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


def model_dir(model: str, res: int) -> Path:
    d = MODELS / f"{model}-{res}"
    if not (d / "meta.json").exists():
        sys.exit(f"worker: no model {d}; run benchmarks/make_models.py first")
    return d


def make_input(batch: int, res: int):
    import numpy as np
    rng = np.random.default_rng(INPUT_SEED)
    return rng.standard_normal((batch, 3, res, res), dtype=np.float32)


def max_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def time_calls(fn, runs: int, warmup: int):
    first = None
    for w in range(warmup):
        t0 = time.perf_counter_ns()
        fn()
        if w == 0:
            first = (time.perf_counter_ns() - t0) / 1e6
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        ms.append((time.perf_counter_ns() - t0) / 1e6)
    return ms, first


# --- runtimes -------------------------------------------------------------------

def run_tessera_c(d: Path, res, threads, batch, runs, warmup, isa_env=None, extra=()):
    exe = BIN / "bench_tessera"
    if not exe.exists():
        sys.exit(f"worker: {exe} is missing; run benchmarks/run.sh (it compiles it)")
    env = dict(os.environ)
    if isa_env:
        env["TESSERA_ISA"] = isa_env
    cmd = [str(exe), str(d), str(threads), str(batch), str(res), str(res), str(runs), str(warmup), *extra]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"bench_tessera exited {p.returncode}: {p.stderr.strip()}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["max_rss_mb"] = max_rss_mb(children=True)
    out["version"] = out.get("version")
    return out


def run_tessera_int8(d: Path, res, threads, batch, runs, warmup, extra=()):
    """tessera-c with --precision int8; a library or header without int8 is Unavailable."""
    try:
        return run_tessera_c(d, res, threads, batch, runs, warmup, extra=("--precision", "int8", *extra))
    except RuntimeError as e:
        msg = str(e)
        # bench_tessera built against a header without int8, or a library
        # that refuses the option when the session is made (other failures
        # are failures)
        refused = any(f"tessera_session_create failed: {s}" in msg for s in ("unsupported", "invalid argument"))
        if "not available in this build" in msg or refused:
            raise Unavailable(msg.split(": ", 1)[-1]) from None  # bench_tessera's own message
        raise


def tessera_outputs(model) -> list:
    """What the peers' model(x) returns, for a Tessera session: the logits
    when the model has a classifier, else the embedding; the embedding
    always, for the check. No patch tokens, so the last block runs past
    attention on the prefix tokens alone (bench_tessera's --outputs model)."""
    return ["embedding"] + (["logits"] if model.info.num_classes > 0 else [])


def run_tessera_py(d: Path, res, threads, batch, runs, warmup):
    t0 = time.perf_counter()
    import tessera
    model = tessera.Model(str(d))
    session = model.session(batch=batch, height=res, width=res, threads=threads, outputs=tessera_outputs(model))
    load_s = time.perf_counter() - t0
    x = make_input(batch, res)
    ms, first = time_calls(lambda: session.run(x), runs, warmup)
    info = model.info
    return {"ms": ms, "first_run_ms": first, "load_s": load_s, "version": tessera.version(),
            "isa_name": info.isa_name, "l1d_bytes": info.l1d_bytes, "l2_bytes": info.l2_bytes,
            "library": tessera.library_path(), "arena_bytes": session.arena_bytes}


def ort_session(d: Path, threads: int, file: str = "model.onnx"):
    import onnxruntime as ort
    if not (d / file).exists():
        raise Unavailable(f"no {d.name}/{file}; run benchmarks/make_models.py")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(d / file), sess_options=so,
                                providers=["CPUExecutionProvider"])


def run_onnxruntime(d: Path, res, threads, batch, runs, warmup, file="model.onnx"):
    import onnxruntime as ort
    t0 = time.perf_counter()
    sess = ort_session(d, threads, file)
    load_s = time.perf_counter() - t0
    name = sess.get_inputs()[0].name
    x = make_input(batch, res)
    ms, first = time_calls(lambda: sess.run(None, {name: x}), runs, warmup)
    return {"ms": ms, "first_run_ms": first, "load_s": load_s, "version": ort.__version__,
            "providers": sess.get_providers(), "file": file}


OV_CONFIG_KEYS = ("INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT",
                  "INFERENCE_PRECISION_HINT", "ENABLE_CPU_PINNING", "SCHEDULING_CORE_TYPE")


def ov_compile(d: Path, res, threads, batch, precision="f32"):
    import openvino as ov
    core = ov.Core()
    model = core.read_model(str(d / "model.onnx"))
    model.reshape([batch, 3, res, res])  # static shape, as Tessera plans one
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
    }
    # fp32 like every other runtime here (OpenVINO would pick bf16 on a
    # CPU with AVX-512 BF16 or AMX otherwise); precision=None leaves
    # OpenVINO's default, to show what a user gets without the hint.
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(model, "CPU", config)
    props = {}
    for k in OV_CONFIG_KEYS:
        try:
            props[k] = str(compiled.get_property(k))
        except Exception:
            pass
    return compiled, props


def run_openvino(d: Path, res, threads, batch, runs, warmup, precision="f32"):
    import openvino as ov
    t0 = time.perf_counter()
    compiled, props = ov_compile(d, res, threads, batch, precision)
    req = compiled.create_infer_request()
    load_s = time.perf_counter() - t0
    x = make_input(batch, res)
    ms, first = time_calls(lambda: req.infer({0: x}, share_inputs=True, share_outputs=True),
                           runs, warmup)
    return {"ms": ms, "first_run_ms": first, "load_s": load_s, "version": ov.__version__,
            "properties": props}


def torch_model(d: Path):
    import safetensors.torch
    import timm
    meta = json.loads((d / "meta.json").read_text())
    model = timm.create_model(meta["timm_name"], pretrained=False, **meta["create_kwargs"])
    model.load_state_dict(safetensors.torch.load_file(str(d / "model.safetensors")), strict=True)
    return model.eval()


def run_torch(d: Path, res, threads, batch, runs, warmup):
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    t0 = time.perf_counter()
    model = torch_model(d)
    load_s = time.perf_counter() - t0
    x = torch.from_numpy(make_input(batch, res))

    def call():
        with torch.inference_mode():
            model(x)

    ms, first = time_calls(call, runs, warmup)
    return {"ms": ms, "first_run_ms": first, "load_s": load_s, "version": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "torch_interop_threads": torch.get_num_interop_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def bench(runtime, model, res, threads, batch, runs, warmup):
    d = model_dir(model, res)
    t0 = time.time()
    if runtime == "tessera-c":
        out = run_tessera_c(d, res, threads, batch, runs, warmup)
    elif runtime == "tessera-c-avx2":
        out = run_tessera_c(d, res, threads, batch, runs, warmup, isa_env="avx2")
    elif runtime == "tessera-py":
        out = run_tessera_py(d, res, threads, batch, runs, warmup)
    elif runtime == "tessera-int8":
        out = run_tessera_int8(d, res, threads, batch, runs, warmup)
    elif runtime == "onnxruntime":
        out = run_onnxruntime(d, res, threads, batch, runs, warmup)
    elif runtime == "ort-int8":
        out = run_onnxruntime(d, res, threads, batch, runs, warmup, file="model.int8.onnx")
    elif runtime == "openvino":
        out = run_openvino(d, res, threads, batch, runs, warmup)
    elif runtime == "openvino-default":
        out = run_openvino(d, res, threads, batch, runs, warmup, precision=None)
    elif runtime == "torch":
        out = run_torch(d, res, threads, batch, runs, warmup)
    else:
        raise SystemExit(f"unknown runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}")
    out.setdefault("max_rss_mb", max_rss_mb())
    ms = sorted(out["ms"])
    out.update({"runtime": runtime, "model": model, "res": res, "threads": threads, "batch": batch,
                "runs": runs, "warmup": warmup, "median_ms": ms[len(ms) // 2] if len(ms) % 2
                else 0.5 * (ms[len(ms) // 2 - 1] + ms[len(ms) // 2]),
                "wall_s": time.time() - t0})
    return out


# --- correctness ---------------------------------------------------------------

def compare(a, b):
    import numpy as np
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"max_abs": float(np.abs(a - b).max()), "max_ref": float(np.abs(b).max()),
            "cosine_min": float(cos.min())}


def check(model, res, threads):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    d = model_dir(model, res)
    batch = 2
    x = make_input(batch, res)
    tm = torch_model(d)
    with torch.inference_mode():
        xt = torch.from_numpy(x)
        ref_emb = tm.forward_features(xt)[:, 0].numpy()
        ref_out = tm(xt).numpy()
    result = {"model": model, "res": res, "batch": batch, "pairs": {}}
    pairs = result["pairs"]

    import tessera
    with tessera.Model(str(d)) as m:
        s = m.session(batch=batch, height=res, width=res, threads=threads)
        out = s.run(x)
        pairs["tessera-py embedding vs torch forward_features[:,0]"] = compare(out["embedding"], ref_emb)
        if "logits" in out:
            pairs["tessera-py logits vs torch forward"] = compare(out["logits"], ref_out)
        isa = m.info.isa_name
    result["tessera_isa"] = isa

    with tempfile.TemporaryDirectory() as tmp:
        inp, dump = Path(tmp) / "x.f32", Path(tmp) / "emb.f32"
        x.tofile(inp)
        variants = [("tessera-c", None)]
        if isa == "avx512":
            variants.append(("tessera-c-avx2", "avx2"))
        for name, isa_env in variants:
            run_tessera_c(d, res, threads, batch, 1, 0, isa_env=isa_env,
                          extra=("--input", str(inp), "--dump", str(dump)))
            emb = np.fromfile(dump, np.float32).reshape(batch, -1)
            pairs[f"{name} embedding vs torch forward_features[:,0]"] = compare(emb, ref_emb)
        # int8: how far from fp32 (no bound applies); unavailable is not fatal
        pair = "tessera-int8 embedding vs torch forward_features[:,0]"
        try:
            dump.unlink(missing_ok=True)
            run_tessera_int8(d, res, threads, batch, 1, 0, extra=("--input", str(inp), "--dump", str(dump)))
            emb = np.fromfile(dump, np.float32).reshape(batch, -1)
            pairs[pair] = compare(emb, ref_emb)
        except Unavailable as e:
            pairs[pair] = {"error": f"unavailable: {e}", "unavailable": True}
        except Exception as e:
            pairs[pair] = {"error": repr(e)}

    try:
        sess = ort_session(d, threads)
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        pairs["onnxruntime output vs torch forward"] = compare(y, ref_out)
    except Exception as e:  # reported, not fatal
        pairs["onnxruntime output vs torch forward"] = {"error": repr(e)}
    try:
        sess = ort_session(d, threads, "model.int8.onnx")
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        pairs["ort-int8 output vs torch forward"] = compare(y, ref_out)
    except Unavailable as e:
        pairs["ort-int8 output vs torch forward"] = {"error": f"unavailable: {e}", "unavailable": True}
    except Exception as e:
        pairs["ort-int8 output vs torch forward"] = {"error": repr(e)}
    try:
        compiled, _ = ov_compile(d, res, threads, batch)
        y = compiled.create_infer_request().infer({0: x})[0]
        pairs["openvino output vs torch forward"] = compare(np.asarray(y), ref_out)
    except Exception as e:
        pairs["openvino output vs torch forward"] = {"error": repr(e)}
    return result


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        ap = argparse.ArgumentParser(prog="worker.py check")
        ap.add_argument("model")
        ap.add_argument("res", type=int)
        ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
        a = ap.parse_args(sys.argv[2:])
        set_thread_env(a.threads)
        print(json.dumps(check(a.model, a.res, a.threads)), flush=True)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runtime", choices=RUNTIMES)
    ap.add_argument("model")
    ap.add_argument("res", type=int)
    ap.add_argument("threads", type=int)
    ap.add_argument("batch", type=int)
    ap.add_argument("runs", type=int)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    set_thread_env(a.threads)
    try:
        out = bench(a.runtime, a.model, a.res, a.threads, a.batch, a.runs, a.warmup)
    except Unavailable as e:
        print(f"unavailable: {e}", file=sys.stderr, flush=True)
        sys.exit(UNAVAILABLE_EXIT)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
