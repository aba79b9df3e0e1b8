"""Test helpers: a tiny safetensors reader/writer (numpy only), fixture discovery,
expectations from config.json, and the comparison used for parity."""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "Fixtures"
HEADER = REPO / "include" / "tessera.h"

# Parity thresholds (both the float and the uint8 path).
MAX_ABS = 1e-4
MIN_COS = 0.99999

# Names in a reference file that are inputs, not outputs.
INPUT_KEYS = ("pixel_values", "rgb8")

# --- safetensors ---------------------------------------------------------------

_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def read_header(path: Path) -> Tuple[dict, int]:
    """(header dict, offset of the data section) of a safetensors file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    return header, 8 + n


def read_safetensors(path: Path) -> Dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a numpy array (BF16 -> float32)."""
    header, start = read_header(path)
    data = Path(path).read_bytes()[start:]
    out: Dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        shape = tuple(meta["shape"])
        raw = data[begin:end]
        if meta["dtype"] == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            dt = np.dtype(_DTYPES[meta["dtype"]]).newbyteorder("<")
            arr = np.frombuffer(raw, dtype=dt)
        out[name] = arr.reshape(shape).astype(arr.dtype.newbyteorder("="), copy=True)
    return out


def write_safetensors_raw(path: Path, header: dict, data: bytes) -> None:
    """Writes a header (padded to 8 bytes with spaces) and a data section as is."""
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        f.write(data)


# --- fixtures ------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    fixture: Path
    path: Path
    height: int
    width: int

    @property
    def id(self) -> str:
        return f"{self.fixture.name}/{self.height}x{self.width}"


def fixture_dirs() -> List[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(
        d for d in FIXTURES.iterdir()
        if d.is_dir() and (d / "config.json").is_file() and (d / "model.safetensors").is_file()
    )


_REF = re.compile(r"^reference_(\d+)x(\d+)\.safetensors$")


def references(fixture: Path) -> List[Reference]:
    refs = []
    for p in sorted(fixture.iterdir()):
        m = _REF.match(p.name)
        if m:
            refs.append(Reference(fixture, p, int(m.group(1)), int(m.group(2))))
    return refs


def all_references() -> List[Reference]:
    return [r for d in fixture_dirs() for r in references(d)]


def load_config(fixture: Path) -> dict:
    return json.loads((fixture / "config.json").read_text())


def safetensors_elements(path: Path) -> int:
    header, _ = read_header(path)
    return sum(int(np.prod(m["shape"], dtype=np.int64))
               for k, m in header.items() if k != "__metadata__")


# --- expectations from config.json ----------------------------------------------

FAMILIES = {"vit": 1, "deit": 2, "dinov2": 3, "dinov2_with_registers": 3, "dinov3_vit": 4}


def expected_info(config: dict, preprocessor: Optional[dict] = None) -> Dict[str, object]:
    """The tessera_model_info fields that follow from config.json.

    Handles Hugging Face configs (model_type, architectures, ...) and timm's
    (architecture, model_args, pretrained_cfg). ``preprocessor`` is a Hugging
    Face preprocessor_config.json, for image_mean/image_std. Only fields the
    files determine are returned.
    """
    if "model_type" not in config and "model_args" in config:
        return _expected_info_timm(config)
    exp: Dict[str, object] = {}
    model_type = config.get("model_type")
    archs = config.get("architectures") or []
    if archs:
        exp["architecture"] = archs[0]
    if model_type not in FAMILIES:
        return exp
    exp["family"] = FAMILIES[model_type]
    d = config["hidden_size"]
    exp["hidden_size"] = d
    exp["num_layers"] = config["num_hidden_layers"]
    exp["num_heads"] = config["num_attention_heads"]
    if model_type.startswith("dinov2"):
        exp["mlp_size"] = int(d * config.get("mlp_ratio", 4))
    else:
        exp["mlp_size"] = config["intermediate_size"]
    exp["patch_size"] = config["patch_size"]
    size = config.get("image_size", 224)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    exp["image_height"], exp["image_width"] = h, w
    exp["num_channels"] = config.get("num_channels", 3)
    registers = config.get("num_register_tokens", 0) if model_type.startswith("dino") else 0
    exp["num_register_tokens"] = registers
    distill = 1 if model_type == "deit" else 0
    exp["num_prefix_tokens"] = 1 + distill + registers
    arch = archs[0] if archs else ""
    if "ForImageClassification" in arch:
        labels = config.get("id2label") or {}
        exp["num_classes"] = len(labels) if labels else config["num_labels"]
    elif arch:
        exp["num_classes"] = 0
    exp["pos_resize"] = {"dinov2_with_registers": 2, "dinov3_vit": 4}.get(model_type, 1)
    if preprocessor and "image_mean" in preprocessor:
        exp["image_mean"] = _f32_tuple(preprocessor["image_mean"])
        exp["image_std"] = _f32_tuple(preprocessor["image_std"])
    return exp


def _expected_info_timm(config: dict) -> Dict[str, object]:
    args = config["model_args"]
    d = args["embed_dim"]
    exp: Dict[str, object] = {"architecture": config["architecture"]}
    exp["hidden_size"] = d
    exp["num_layers"] = args["depth"]
    exp["num_heads"] = args["num_heads"]
    exp["mlp_size"] = int(d * args.get("mlp_ratio", 4.0))
    exp["patch_size"] = args["patch_size"]
    size = args.get("img_size", 224)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    exp["image_height"], exp["image_width"] = h, w
    exp["num_channels"] = args.get("in_chans", 3)
    exp["num_classes"] = config.get("num_classes", 0)
    registers = args.get("reg_tokens", 0)
    exp["num_register_tokens"] = registers
    exp["num_prefix_tokens"] = (1 if args.get("class_token", True) else 0) + registers
    exp["pos_resize"] = 2  # timm: antialiased bicubic
    if "_dinov3" in config["architecture"]:  # 4 registers, no position table (RoPE)
        exp["family"] = 4
        exp["num_register_tokens"] = 4
        exp["num_prefix_tokens"] = 5
        exp["pos_resize"] = 4
    cfg = config.get("pretrained_cfg") or {}
    if "mean" in cfg:
        exp["image_mean"] = _f32_tuple(cfg["mean"])
        exp["image_std"] = _f32_tuple(cfg["std"])
    return exp


def _f32_tuple(values) -> Tuple[float, ...]:
    return tuple(float(np.float32(v)) for v in values)


def load_preprocessor(fixture: Path) -> Optional[dict]:
    p = fixture / "preprocessor_config.json"
    return json.loads(p.read_text()) if p.is_file() else None


def all_f32(fixture: Path) -> bool:
    header, _ = read_header(fixture / "model.safetensors")
    return all(m["dtype"] == "F32" for k, m in header.items() if k != "__metadata__")


# --- comparison -------------------------------------------------------------------


def compare(got: np.ndarray, want: np.ndarray) -> Tuple[float, float]:
    """(max abs difference, lowest per-image cosine) of two [B, ...] arrays."""
    g = np.asarray(got, dtype=np.float64)
    w = np.asarray(want, dtype=np.float64)
    max_abs = float(np.max(np.abs(g - w))) if g.size else 0.0
    cos = 1.0
    for gi, wi in zip(g.reshape(g.shape[0], -1), w.reshape(w.shape[0], -1)):
        ng, nw = np.linalg.norm(gi), np.linalg.norm(wi)
        if ng == 0.0 and nw == 0.0:
            c = 1.0
        elif ng == 0.0 or nw == 0.0:
            c = 0.0
        else:
            c = float(np.dot(gi, wi) / (ng * nw))
        cos = min(cos, c)
    return max_abs, cos


def assert_close(name: str, got: np.ndarray, want: np.ndarray,
                 max_abs: float = MAX_ABS, min_cos: float = MIN_COS) -> None:
    assert got.dtype == np.float32, f"{name}: dtype {got.dtype}, expected float32"
    assert got.shape == want.shape, f"{name}: shape {got.shape}, expected {want.shape}"
    assert np.all(np.isfinite(got)), f"{name}: non-finite values"
    diff, cos = compare(got, want)
    assert diff <= max_abs and cos >= min_cos, (
        f"{name}: max abs diff {diff:.3g} (limit {max_abs:g}), "
        f"lowest cosine {cos:.8f} (limit {min_cos})"
    )


def normalize_rgb8(rgb8: np.ndarray, mean, std) -> np.ndarray:
    """uint8 NHWC -> normalized float32 NCHW, as the model's preprocessing does."""
    x = rgb8.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def random_inputs(batch: int, height: int, width: int, seed: int = 0):
    """(float32 NCHW, uint8 NHWC) deterministic test images."""
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((batch, 3, height, width)).astype(np.float32)
    u = rng.integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    return f, u


def small_size(model) -> Dict[str, int]:
    """A small, non-square input size for a model: 2 x 3 patches."""
    p = model.info.patch_size
    return dict(height=2 * p, width=3 * p)


def session_images(session, n: Optional[int] = None, seed: int = 3):
    """n (default: the session's batch) random uint8 NHWC images of its size."""
    n = session.batch if n is None else n
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, session.height, session.width, 3), dtype=np.uint8)
