#!/usr/bin/env python3
"""Make the benchmark's random-weight models (cached in benchmarks/.models/).

    benchmarks/.venv/bin/python benchmarks/make_models.py [--force]

For every model key NAME@RES it writes benchmarks/.models/NAME-RES/:

  model.safetensors  the timm state dict (Tessera loads timm vit_* naming)
  config.json        the small timm config Tessera reads
  model.onnx         torch.onnx.export, opset 17, dynamic batch axis,
                     fixed resolution; output = the model's forward()
  meta.json          how to rebuild the torch model (timm name + kwargs),
                     the analytic FLOPs, the versions that made it
  model.int8.onnx    model.onnx through ONNX Runtime's dynamic quantization,
                     quantize_dynamic(weight_type=QuantType.QInt8) with its
                     other arguments at their defaults (int8 weights, per
                     tensor; activations quantized at run time): what the
                     "ort-int8" runtime runs. Made from model.onnx whenever
                     it is missing or older, so a cached model gains it
                     without being exported again.

PyTorch eager loads model.safetensors into timm.create_model(name, **kwargs).
Everything is seeded, so a rerun makes the same weights. Nothing is
downloaded (pretrained=False).

The 384 model is timm's vit_base_patch16_224 created with img_size=384 (and
the 518 DINOv2-S likewise with img_size=518): its weights are those of the
224 model, with the position embedding resampled once (timm's
resample_abs_pos_embed, the same bicubic+antialias Tessera uses); the 384
safetensors holds that 24x24 table (the 518 one 37x37), so every runtime
runs the very same weights with no interpolation at run time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE / ".models"

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]

# key -> what to build
SPECS = {
    "vit_small_patch14_dinov2@224": dict(
        timm_name="vit_small_patch14_dinov2", res=224, num_heads=6, num_classes=0,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, base=None),
    "vit_base_patch16_224@224": dict(
        timm_name="vit_base_patch16_224", res=224, num_heads=12, num_classes=1000,
        mean=HALF, std=HALF, base=None),
    "vit_base_patch16_224@384": dict(
        timm_name="vit_base_patch16_224", res=384, num_heads=12, num_classes=1000,
        mean=HALF, std=HALF, base="vit_base_patch16_224@224"),
    # DINOv2's own resolution (37 x 37 patches, 1370 tokens), where dense
    # features are taken: attention is about half the work.
    "vit_small_patch14_dinov2@518": dict(
        timm_name="vit_small_patch14_dinov2", res=518, num_heads=6, num_classes=0,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, base="vit_small_patch14_dinov2@224"),
    # timm's Eva: 2-D RoPE, 4 registers; CLS pooling as upstream DINOv3.
    "vit_small_patch16_dinov3@224": dict(
        timm_name="vit_small_patch16_dinov3", res=224, num_heads=6, num_classes=0,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, base=None, global_pool="token"),
}

FORMAT_VERSION = 1  # bump to rebuild every cache entry


def model_dir(key: str) -> Path:
    name, res = key.split("@")
    return MODELS / f"{name}-{res}"


def create_kwargs(spec) -> dict:
    kw = {"img_size": spec["res"], "num_classes": spec["num_classes"]}
    if "global_pool" in spec:
        kw["global_pool"] = spec["global_pool"]
    return kw


def vit_flops(D: int, L: int, M: int, patch: int, res: int, prefix: int, channels: int = 3) -> dict:
    """Analytic FLOPs of one image: 2 x (patch-embed MACs + per block
    (qkv + proj + fc1 + fc2 MACs + attention QK^T and PV MACs)).
    Norms, softmax, GELU, biases and the classifier head are left out."""
    np_ = (res // patch) ** 2
    T = np_ + prefix
    patch_macs = np_ * channels * patch * patch * D
    block_linear = T * (3 * D * D + D * D + D * M + M * D)
    block_attn = 2 * T * T * D
    macs = patch_macs + L * (block_linear + block_attn)
    return {
        "tokens": T, "patches": np_, "macs": macs, "flops": 2 * macs,
        "gflop": 2 * macs / 1e9,
        "formula": "2*(Np*C*P*P*D + L*(T*(4*D*D + 2*D*M) + 2*T*T*D))",
    }


def randomize(model, seed_text: str):
    """Seeded, non-trivial parameters (so the correctness check means something):
    layer-scale gammas in [0.1, 1] instead of timm's 1e-5, LayerNorm weights
    around 1, small biases, weights ~ N(0, 1/fan_in) scaled so that the
    residual stream stays well-conditioned through 12 blocks."""
    import torch
    import torch.nn as nn

    g = torch.Generator()
    g.manual_seed(zlib.crc32(seed_text.encode()))
    with torch.no_grad():
        for mname, mod in model.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                shape = p.shape
                if isinstance(mod, nn.LayerNorm):
                    r = torch.randn(shape, generator=g)
                    v = 1.0 + 0.1 * r if pname == "weight" else 0.05 * r
                elif pname in ("gamma", "gamma_1", "gamma_2"):  # layer scale (timm ViT, Eva)
                    v = 0.1 + 0.9 * torch.rand(shape, generator=g)
                elif pname == "bias" or pname.endswith("_bias"):
                    v = 0.02 * torch.randn(shape, generator=g)
                elif isinstance(mod, (nn.Linear, nn.Conv2d)) and pname == "weight":
                    fan_in = math.prod(shape[1:])
                    v = torch.randn(shape, generator=g) / math.sqrt(fan_in)
                else:  # cls / register tokens, position embedding
                    v = 0.5 * torch.randn(shape, generator=g)
                p.copy_(v)


def build(key: str, spec: dict, force: bool, built: dict):
    import safetensors.torch
    import timm
    import torch

    out = model_dir(key)
    meta_path = out / "meta.json"
    if not force and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("format_version") == FORMAT_VERSION and all(
                (out / f).exists() for f in ("model.safetensors", "config.json", "model.onnx")):
            print(f"[make_models] {key}: cached in {out.relative_to(HERE.parent)}")
            return meta
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(zlib.crc32(key.encode()))
    kwargs = create_kwargs(spec)
    model = timm.create_model(spec["timm_name"], pretrained=False, **kwargs).eval()
    if spec["base"] is None:
        randomize(model, key)
    else:  # same weights as the base model, position table resampled once
        from timm.layers import resample_abs_pos_embed
        base_dir = model_dir(spec["base"])
        sd = safetensors.torch.load_file(str(base_dir / "model.safetensors"))
        prefix = 0 if getattr(model, "no_embed_class", False) else model.num_prefix_tokens
        grid = model.patch_embed.grid_size
        sd["pos_embed"] = resample_abs_pos_embed(
            sd["pos_embed"], new_size=list(grid), num_prefix_tokens=prefix)
        model.load_state_dict(sd, strict=True)

    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    res = spec["res"]
    config = {
        "architecture": spec["timm_name"],
        "num_classes": spec["num_classes"],
        "global_pool": "token",
        "model_args": {"num_heads": spec["num_heads"], "img_size": res},
        "pretrained_cfg": {"input_size": [3, res, res], "mean": spec["mean"], "std": spec["std"]},
    }
    (out / "config.json").write_text(json.dumps(config))

    # ONNX: opset 17, the TorchScript-based exporter (dynamo=False: the dynamo
    # exporter needs onnxscript, which is not pinned here); batch is dynamic,
    # the resolution fixed. OpenVINO reshapes it to a static batch at compile.
    x = torch.randn(1, 3, res, res)
    onnx_path = out / "model.onnx"
    # timm's Eva passes is_causal to scaled_dot_product_attention in a way the
    # TorchScript tracer cannot; its explicit attention exports the same math.
    for mod in model.modules():
        if hasattr(mod, "fused_attn"):
            mod.fused_attn = False
    with torch.no_grad():
        torch.onnx.export(
            model, (x,), str(onnx_path), dynamo=False, opset_version=17,
            input_names=["input"], output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            do_constant_folding=True)
    import onnx
    onnx.checker.check_model(str(onnx_path))

    D = model.embed_dim
    L = len(model.blocks)
    M = model.blocks[0].mlp.fc1.out_features
    P = model.patch_embed.patch_size[0]
    flops = vit_flops(D, L, M, P, res, model.num_prefix_tokens)
    meta = {
        "format_version": FORMAT_VERSION,
        "key": key, "timm_name": spec["timm_name"], "create_kwargs": kwargs,
        "res": res, "hidden": D, "layers": L, "mlp": M, "patch": P,
        "heads": spec["num_heads"], "num_classes": spec["num_classes"],
        "prefix_tokens": model.num_prefix_tokens,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "flops_per_image": flops,
        "made_with": {"torch": torch.__version__, "timm": timm.__version__, "onnx": onnx.__version__},
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    print(f"[make_models] {key}: wrote {out.relative_to(HERE.parent)} "
          f"({meta['num_parameters'] / 1e6:.1f} M params, {flops['gflop']:.2f} GFLOP/image) "
          f"in {time.time() - t0:.0f} s")
    return meta


def build_int8(key: str, force: bool) -> Path:
    """model.int8.onnx beside model.onnx: ONNX Runtime's dynamic quantization
    with int8 weights and every other argument at its default. Remade when
    missing, older than model.onnx, or with --force; model.onnx is only read."""
    out = model_dir(key)
    src, dst = out / "model.onnx", out / "model.int8.onnx"
    if not force and dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
        print(f"[make_models] {key}: {dst.name} cached")
        return dst
    import logging

    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic
    t0 = time.time()
    tmp = dst.with_name(dst.name + ".tmp")
    # quantize_dynamic logs a suggestion to pre-process first; the plain call is the point here
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    finally:
        logging.getLogger().setLevel(level)
    os.replace(tmp, dst)
    print(f"[make_models] {key}: wrote {dst.relative_to(HERE.parent)} "
          f"({dst.stat().st_size / 2**20:.0f} MiB; onnxruntime {onnxruntime.__version__} "
          f"quantize_dynamic, QInt8 weights) in {time.time() - t0:.0f} s")
    return dst


def load_meta(key: str) -> dict:
    return json.loads((model_dir(key) / "meta.json").read_text())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    ap.add_argument("keys", nargs="*", help=f"model keys (default: all of {', '.join(SPECS)})")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    keys = args.keys or list(SPECS)
    for k in keys:
        if k not in SPECS:
            sys.exit(f"unknown model key {k!r}; known: {', '.join(SPECS)}")
    built = {}
    for k in SPECS:  # in dependency order (the 384 model reuses the 224 weights)
        if k in keys or any(SPECS[o]["base"] == k for o in keys):
            built[k] = build(k, SPECS[k], args.force, built)
            build_int8(k, args.force)


if __name__ == "__main__":
    main()
