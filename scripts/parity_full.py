#!/usr/bin/env python3
"""Full-size parity: random-weight timm ViT-B/16, DINOv2 ViT-S/14 and DINOv3
ViT-S/16 and ViT-S+/16 (SwiGLU) against PyTorch at 224 and at a second
resolution (the position embedding resized; DINOv3's RoPE on another grid).
The DINOv3 models get the config.json timm's hub ships (no model_args), so
their sizes come from the architecture names.

Not part of the test suite (needs torch and timm and ~1 GB of memory):
    /work/refvenv/bin/python scripts/parity_full.py   (any Python with torch, timm, numpy)
Writes the models to models/parity/ (git-ignored) and prints max abs and cosine.
"""
import json
import os
import sys

import numpy as np
import safetensors.torch
import timm
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import tessera  # noqa: E402

CASES = [
    ("vit_base_patch16_224", [(224, 224), (384, 320)]),
    ("vit_small_patch14_dinov2", [(224, 224), (448, 336)]),
    ("vit_small_patch16_dinov3", [(224, 224), (256, 384)]),
    ("vit_small_plus_patch16_dinov3", [(224, 224), (256, 384)]),
]


def export(name):
    torch.manual_seed(0)
    dinov3 = "dinov3" in name
    extra = {"num_classes": 0, "global_pool": "token"} if dinov3 else {}
    model = timm.create_model(name, pretrained=False, img_size=224, dynamic_img_size=True, **extra).eval()
    with torch.no_grad():
        # timm initializes layer scale at 1e-5, which would hide the blocks'
        # contribution; make every parameter count.
        for pname, p in model.named_parameters():
            if ".ls" in pname or ".gamma_" in pname:
                p.uniform_(0.1, 1.0)
            elif "norm" in pname and pname.endswith("weight"):
                p.add_(0.1 * torch.randn_like(p))
            elif pname.endswith("bias"):
                p.add_(0.05 * torch.randn_like(p))
    d = os.path.join(ROOT, "models", "parity", name)
    os.makedirs(d, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                                os.path.join(d, "model.safetensors"))
    cfg = {"architecture": name, "num_classes": model.num_classes, "global_pool": "token",
           "model_args": {"num_heads": model.blocks[0].attn.num_heads, "img_size": 224},
           "pretrained_cfg": {"input_size": [3, 224, 224], "mean": list(model.pretrained_cfg["mean"]),
                              "std": list(model.pretrained_cfg["std"])}}
    if dinov3:  # as the hub ships it
        cfg = {"architecture": name, "num_classes": 0, "num_features": model.num_features, "global_pool": "token",
               "pretrained_cfg": cfg["pretrained_cfg"]}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    return model, d


def compare(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(np.abs(a - b).max()), float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main():
    torch.set_num_threads(2)
    for name, sizes in CASES:
        model, d = export(name)
        tm = tessera.Model(d)
        for h, w in sizes:
            x = torch.from_numpy(np.random.default_rng(h * w).standard_normal((2, 3, h, w)).astype(np.float32))
            with torch.no_grad():
                feats = model.forward_features(x)
                logits = model.forward_head(feats) if model.num_classes else None
            out = tm.session(batch=2, height=h, width=w, threads=2).run(x.numpy())
            prefix = model.num_prefix_tokens
            rows = [("embedding", out["embedding"], feats[:, 0].numpy()),
                    ("patch_tokens", out["patch_tokens"], feats[:, prefix:].numpy())]
            if logits is not None:
                rows.append(("logits", out["logits"], logits.numpy()))
            for what, ours, ref in rows:
                mx, cos = compare(ours, ref)
                print(f"{name} @ {h}x{w} {what:13s} max abs {mx:.2e}  cosine {cos:.8f}  (scale {np.abs(ref).max():.2f})")


if __name__ == "__main__":
    main()
