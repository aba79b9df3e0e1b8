#!/usr/bin/env python3
"""Make the reference fixtures in Tests/Fixtures/ that Tessera's tests compare against.

Run from the repository root (any working directory works):

    /work/refvenv/bin/python scripts/make_fixtures.py

Needs torch, timm, transformers, safetensors and numpy; no network (models are
built from configs with random weights, never downloaded). Everything is seeded,
so a rerun rewrites byte-identical weights and inputs; reference outputs are
recomputed and may move by a few float32 ULPs on a different CPU.

Each model fixture directory holds config.json (+ preprocessor_config.json for
Hugging Face models), model.safetensors exactly as the reference library saves
it, and reference_<H>x<W>.safetensors files with the input and the outputs.
See Tests/Fixtures/README.md for the layout.
"""

import copy
import inspect
import json
import math
import os
import shutil
import sys
import zlib
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import numpy as np
import safetensors
import safetensors.torch
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
import transformers
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures"

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF_MEAN = [0.5, 0.5, 0.5]
HALF_STD = [0.5, 0.5, 0.5]
LABELS = ["cat", "dog", "bird", "fish", "horse"]

TV = transformers.__version__
TIMM_V = timm.__version__

torch.set_num_threads(1)  # one thread: the same reduction order on every run
torch.use_deterministic_algorithms(True)
hf_logging.set_verbosity_error()

written = []  # (path, note)


def save_safetensors(tensors, path, metadata):
    """safetensors.torch.save_file, with the metadata keys in sorted order.

    The library writes __metadata__ in hash-map order, which changes from run to run;
    re-serializing the header with sorted keys makes reruns byte-identical. Tensor
    order, offsets and data are the library's own."""
    raw = safetensors.torch.save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata)
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    out = {"__metadata__": dict(sorted(meta.items()))} if meta else {}
    out.update(header)
    hb = json.dumps(out, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(len(hb).to_bytes(8, "little"))
        f.write(hb)
        f.write(raw[8 + n:])
    with safetensors.safe_open(str(path), "pt") as f:  # the file must read back as written
        assert f.metadata() == (metadata or None) and set(f.keys()) == set(tensors)
        for k in f.keys():
            assert torch.equal(f.get_tensor(k), tensors[k]), k


def seed_of(text):
    return zlib.crc32(text.encode("utf-8"))


def gen(text):
    g = torch.Generator()
    g.manual_seed(seed_of(text))
    return g


def note(path, what):
    path = Path(path)
    written.append(path)
    print(f"  wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes){': ' + what if what else ''}")


# ---------------------------------------------------------------------------
# Checks that the installed reference code resizes position embeddings the way
# the fixtures' metadata says. A library upgrade that changes this fails here
# instead of silently producing fixtures with a different meaning.
# ---------------------------------------------------------------------------

def check_sources():
    from timm.layers import pos_embed as timm_pos
    from timm.models import vision_transformer as timm_vit
    from transformers.models.deit import modeling_deit
    from transformers.models.dinov2 import modeling_dinov2
    from transformers.models.dinov2_with_registers import modeling_dinov2_with_registers as modeling_d2r
    from transformers.models.vit import modeling_vit

    def src(obj):
        return " ".join(inspect.getsource(obj).split())

    hf = {
        "ViT": (modeling_vit.ViTEmbeddings.interpolate_pos_encoding, False),
        "DeiT": (modeling_deit.DeiTEmbeddings.interpolate_pos_encoding, False),
        "Dinov2": (modeling_dinov2.Dinov2Embeddings.interpolate_pos_encoding, False),
        "Dinov2WithRegisters": (modeling_d2r.Dinov2WithRegistersEmbeddings.interpolate_pos_encoding, True),
    }
    for name, (fn, aa) in hf.items():
        s = src(fn)
        assert 'mode="bicubic"' in s and "align_corners=False" in s, name
        assert "size=(" in s and "scale_factor" not in s, name
        assert ("antialias=True" in s) == aa, name
        assert "num_patches == num_positions and height == width" in s, name
    s = src(timm_pos.resample_abs_pos_embed)
    assert "interpolation: str = 'bicubic'" in s and "antialias: bool = True" in s
    assert "F.interpolate(posemb, size=new_size, mode=interpolation, align_corners=align_corners, antialias=antialias)" in s
    s = src(timm_vit.VisionTransformer._pos_embed)
    assert "resample_abs_pos_embed(" in s and "interpolation=" not in s and "antialias=" not in s
    print("source check: HF ViT/DeiT/Dinov2 resize with size=, bicubic, align_corners=False, no antialias; "
          "HF Dinov2WithRegisters and timm with antialias=True")


# ---------------------------------------------------------------------------
# Random, non-trivial parameters
# ---------------------------------------------------------------------------

def randomize(model, g):
    """Set every parameter to random values (see README for the scheme)."""
    counts = {}
    seen = set()
    with torch.no_grad():
        for mname, mod in model.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                if id(p) in seen:
                    continue
                seen.add(id(p))
                shape = p.shape
                if isinstance(mod, nn.LayerNorm):
                    kind = "ln_weight" if pname == "weight" else "ln_bias"
                    r = torch.randn(shape, generator=g)
                    v = 1.0 + 0.1 * r if pname == "weight" else 0.05 * r
                elif pname in ("lambda1", "gamma", "gamma_1", "gamma_2"):  # layer scale (HF Dinov2/3, timm, timm Eva)
                    kind = "layer_scale"
                    v = 0.1 + 0.9 * torch.rand(shape, generator=g)
                elif pname == "bias" or pname.endswith("_bias"):  # incl. timm Eva's q_bias, v_bias
                    kind = "bias"
                    v = 0.05 * torch.randn(shape, generator=g)
                elif isinstance(mod, (nn.Linear, nn.Conv2d)) and pname == "weight":
                    kind = "weight"
                    fan_in = math.prod(shape[1:])
                    std = min(0.1, max(0.02, 0.8 / math.sqrt(fan_in)))
                    v = std * torch.randn(shape, generator=g)
                else:  # cls / distillation / register / mask tokens, position embeddings
                    kind = "token_or_pos"
                    v = 0.5 * torch.randn(shape, generator=g)
                p.copy_(v.to(p.dtype))
                counts[kind] = counts.get(kind, 0) + 1
    n_params = sum(1 for _ in model.parameters())
    assert len(seen) == n_params, (len(seen), n_params)
    return counts


def round_params(model, dtype):
    """Round every parameter to `dtype` and back to float32, in place."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def make_input(key, batch, h, w, mean, std):
    g = gen("input/" + key)
    rgb8 = torch.randint(0, 256, (batch, h, w, 3), generator=g, dtype=torch.int64).to(torch.uint8)
    pv = normalize(rgb8, mean, std)
    return rgb8, pv


def normalize(rgb8, mean, std):
    x = rgb8.to(torch.float32) / torch.tensor(255.0, dtype=torch.float32)
    m = torch.tensor(mean, dtype=torch.float32)
    s = torch.tensor(std, dtype=torch.float32)
    x = (x - m) / s
    return x.permute(0, 3, 1, 2).contiguous()


def check_hf_processor(processor, rgb8, pv):
    """The HF image processor (no resize / crop) must give the same pixel values."""
    imgs = [rgb8[i].numpy() for i in range(rgb8.shape[0])]
    kw = dict(do_resize=False, return_tensors="pt")
    if getattr(processor, "do_center_crop", False):
        kw["do_center_crop"] = False
    got = processor(images=imgs, **kw)["pixel_values"].to(torch.float32)
    d = (got - pv).abs().max().item()
    assert d < 1e-5, f"HF processor differs from our normalization by {d}"
    return d


# ---------------------------------------------------------------------------
# Running the references
# ---------------------------------------------------------------------------

def capture_blocks(blocks):
    outs = {}
    hooks = []
    for i, b in enumerate(blocks):
        def hook(_m, _inp, out, i=i):
            outs[i] = (out[0] if isinstance(out, tuple) else out).detach().clone()
        hooks.append(b.register_forward_hook(hook))
    return outs, hooks


def hf_blocks(model):
    blocks = [m for n, m in model.named_modules()
              if n.split(".")[-1].isdigit() and type(m).__name__.endswith("Layer")]
    assert len(blocks) == model.config.num_hidden_layers, [type(b).__name__ for b in blocks]
    return blocks


def run_hf(model, family, pv, interpolate):
    """Return dict of reference outputs for a HF model."""
    kw = {"output_hidden_states": True}
    if family in ("vit", "deit"):
        kw["interpolate_pos_encoding"] = interpolate
    outs, hooks = capture_blocks(hf_blocks(model))
    with torch.no_grad():
        if family == "vit":
            base = model.vit(pv, **kw)
            logits = model(pv, **kw).logits
            n_prefix, n_reg = 1, 0
        elif family == "deit":
            base = model.deit(pv, **kw)
            full = model(pv, **kw)
            logits = full.logits
            assert torch.allclose(logits, (full.cls_logits + full.distillation_logits) / 2)
            n_prefix, n_reg = 2, 0
        elif family == "dinov2":
            base = model(pv, **kw)
            logits = None
            n_prefix, n_reg = 1, 0
        elif family in ("dinov2_reg", "dinov3"):
            base = model(pv, **kw)
            logits = None
            n_reg = model.config.num_register_tokens
            n_prefix = 1 + n_reg
            if family == "dinov3":
                assert torch.equal(base.pooler_output, base.last_hidden_state[:, 0])
        else:
            raise ValueError(family)
    for h in hooks:
        h.remove()
    lhs = base.last_hidden_state
    hs = base.hidden_states
    assert len(hs) == 3, len(hs)
    # hidden_states[k+1] is the output of block k, before the final norm
    for k in range(2):
        assert torch.equal(hs[k + 1], outs[k]), f"hidden_states[{k + 1}] is not block {k}'s output"
    res = {
        "embedding": lhs[:, 0],
        "patch_tokens": lhs[:, n_prefix:],
        "layer_0": hs[1],
        "layer_1": hs[2],
    }
    if n_reg:
        res["register_tokens"] = lhs[:, 1:1 + n_reg]
    if logits is not None:
        res["logits"] = logits
    return res


def run_timm(model, pv):
    outs, hooks = capture_blocks(list(model.blocks))
    with torch.no_grad():
        feats = model.forward_features(pv)
        logits = model.forward_head(feats) if model.num_classes else None
        if logits is not None:
            assert torch.equal(logits, model(pv))
    for h in hooks:
        h.remove()
    npt = model.num_prefix_tokens
    nreg = getattr(model, "num_reg_tokens", None)
    if nreg is None:  # timm Eva (DINOv3): registers are reg_token [1, R, D]
        nreg = model.reg_token.shape[1] if model.reg_token is not None else 0
    res = {
        "embedding": feats[:, 0],
        "patch_tokens": feats[:, npt:],
        "layer_0": outs[0],
        "layer_1": outs[1],
    }
    if nreg:
        res["register_tokens"] = feats[:, 1:1 + nreg]
    if logits is not None:
        res["logits"] = logits
    return res


def save_reference(dirpath, rgb8, pv, res, meta, grid, dim):
    b, _, h, w = pv.shape
    hp, wp = grid
    assert res["patch_tokens"].shape == (b, hp * wp, dim), res["patch_tokens"].shape
    assert res["embedding"].shape == (b, dim)
    for k in ("layer_0", "layer_1"):
        assert res[k].shape[0] == b and res[k].shape[2] == dim
    for k, v in res.items():
        assert torch.isfinite(v).all(), k
    tensors = {"pixel_values": pv, "rgb8": rgb8}
    tensors.update({k: v.to(torch.float32) for k, v in res.items()})
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    metadata = {"height": str(h), "width": str(w), "batch": str(b), "torch": torch.__version__}
    metadata.update(meta)
    path = dirpath / f"reference_{h}x{w}.safetensors"
    save_safetensors(tensors, path, metadata)
    shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in tensors.items() if k not in ("pixel_values", "rgb8"))
    note(path, f"B={b} grid {hp}x{wp}; {shapes}")
    # tell activations are O(1) (a badly scaled random model would make a weak test)
    stats = {k: float(v.std()) for k, v in res.items()}
    print("    std: " + ", ".join(f"{k}={s:.3f}" for k, s in stats.items()))
    return path


def compare(ref_path, res, pv_expected=None, label="rerun"):
    """Reload a reference file and compare it with freshly computed outputs."""
    with safetensors.safe_open(str(ref_path), "pt") as f:
        keys = set(f.keys())
        stored = {k: f.get_tensor(k) for k in keys}
    assert keys == set(res) | {"pixel_values", "rgb8"}, (keys, set(res))
    worst = 0.0
    for k, v in res.items():
        assert stored[k].dtype == torch.float32
        d = (stored[k] - v).abs().max().item()
        worst = max(worst, d)
        assert d <= 1e-5, f"{ref_path.name}: {k} differs by {d} on {label}"
    return worst


def check_token_rule(model, family, pv):
    """Rebuild the tokens that enter block 0 by hand, following the position-embedding
    rule the README documents, and compare them with what the reference computed."""
    b, _, h, w = pv.shape
    if family.startswith("dinov3") and family.endswith("_timm"):
        emb_mod, conv = model.pos_drop, model.patch_embed.proj
        pos, patch = None, conv.stride[0]
        assert model.pos_embed is None
    elif family == "dinov3":
        emb_mod = model.embeddings
        conv = emb_mod.patch_embeddings
        pos, patch = None, conv.stride[0]
    elif family.endswith("_timm"):
        emb_mod, conv = model.pos_drop, model.patch_embed.proj
        pos, patch = model.pos_embed, conv.stride[0]
    else:
        base = {"vit": "vit", "deit": "deit"}.get(family)
        emb_mod = getattr(model, base).embeddings if base else model.embeddings
        conv = emb_mod.patch_embeddings.projection
        pos, patch = emb_mod.position_embeddings, conv.stride[0]
    got = {}
    hook = emb_mod.register_forward_hook(lambda _m, _i, out: got.setdefault("x", out.detach().clone()))
    with torch.no_grad():
        if family.endswith("_timm"):
            model.forward_features(pv)
        else:
            kw = {"interpolate_pos_encoding": True} if family in ("vit", "deit") else {}
            model(pv, **kw)
        hook.remove()
        gh, gw = h // patch, w // patch
        x = conv(pv).flatten(2).transpose(1, 2)  # [B, gh*gw, D], row-major patch grid
        d = x.shape[-1]

        def grid_resize(p, antialias):
            m = int(math.isqrt(p.shape[1]))
            g = p.reshape(1, m, m, d).permute(0, 3, 1, 2)
            if (m, m) != (gh, gw):
                g = F.interpolate(g, size=(gh, gw), mode="bicubic", align_corners=False, antialias=antialias)
            return g.permute(0, 2, 3, 1).reshape(1, gh * gw, d)

        ex = lambda t: t.expand(b, -1, -1)
        if family == "vit" or family == "dinov2":
            want = torch.cat([ex(emb_mod.cls_token) + pos[:, :1], x + grid_resize(pos[:, 1:], False)], 1)
        elif family == "deit":
            want = torch.cat([ex(emb_mod.cls_token) + pos[:, :1], ex(emb_mod.distillation_token) + pos[:, 1:2],
                              x + grid_resize(pos[:, 2:], False)], 1)
        elif family == "dinov2_reg":
            want = torch.cat([ex(emb_mod.cls_token) + pos[:, :1], ex(emb_mod.register_tokens),
                              x + grid_resize(pos[:, 1:], True)], 1)
        elif family == "vit_timm":
            want = torch.cat([ex(model.cls_token) + pos[:, :1], x + grid_resize(pos[:, 1:], True)], 1)
        elif family == "dinov2_reg_timm":
            want = torch.cat([ex(model.cls_token), ex(model.reg_token), x + grid_resize(pos, True)], 1)
        elif family == "dinov3":  # no position table: RoPE acts inside attention
            want = torch.cat([ex(emb_mod.cls_token), ex(emb_mod.register_tokens), x], 1)
        elif family.startswith("dinov3") and family.endswith("_timm"):
            want = torch.cat([ex(model.cls_token), ex(model.reg_token), x], 1)
        else:
            raise ValueError(family)
    diff = (got["x"] - want).abs().max().item()
    assert diff < 1e-5, f"{family}: token/position rule differs by {diff}"
    return diff


def resize_desc(kind, trained, grid):
    if kind == "rope":
        return f"none: no position table; 2-D RoPE over the {grid[0]}x{grid[1]} patch grid"
    if tuple(grid) == tuple(trained):
        return f"none (trained grid {trained[0]}x{trained[1]})"
    base = f"bicubic size=({grid[0]},{grid[1]}) from {trained[0]}x{trained[1]} align_corners=False"
    return base + (" antialias=True" if kind == "aa" else " antialias=False")


# ---------------------------------------------------------------------------
# Hugging Face fixtures
# ---------------------------------------------------------------------------

def hf_save(model, dirpath, processor):
    if dirpath.exists():
        shutil.rmtree(dirpath)
    dirpath.mkdir(parents=True)
    model.save_pretrained(str(dirpath), safe_serialization=True, max_shard_size="50GB")
    processor.save_pretrained(str(dirpath))
    keep = {"config.json", "model.safetensors", "preprocessor_config.json"}
    for p in sorted(dirpath.iterdir()):
        if p.name not in keep:
            print(f"  removing {p.name} written by save_pretrained")
            p.unlink() if p.is_file() else shutil.rmtree(p)
    assert {p.name for p in dirpath.iterdir()} == keep, sorted(p.name for p in dirpath.iterdir())
    for n in sorted(keep):
        note(dirpath / n, "")


def vit_config():
    from transformers import ViTConfig
    return ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                     patch_size=8, image_size=32, num_channels=3, qkv_bias=True,
                     id2label={i: l for i, l in enumerate(LABELS)}, label2id={l: i for i, l in enumerate(LABELS)})


def deit_config():
    from transformers import DeiTConfig
    return DeiTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                      patch_size=8, image_size=32, num_channels=3, qkv_bias=True,
                      id2label={i: l for i, l in enumerate(LABELS)}, label2id={l: i for i, l in enumerate(LABELS)})


def dinov2_config(registers=0):
    if registers:
        from transformers import Dinov2WithRegistersConfig as C
        extra = {"num_register_tokens": registers}
    else:
        from transformers import Dinov2Config as C
        extra = {}
    return C(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, mlp_ratio=4, patch_size=14,
             image_size=56, num_channels=3, qkv_bias=True, **extra)


def dinov3_config(gated, image):
    from transformers import DINOv3ViTConfig
    return DINOv3ViTConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           patch_size=16, image_size=image, num_channels=3, num_register_tokens=4,
                           layer_norm_eps=1e-5, rope_theta=100.0, use_gated_mlp=gated,
                           hidden_act="silu" if gated else "gelu", query_bias=True, key_bias=False,
                           value_bias=True, proj_bias=True, mlp_bias=True)


HF_SPECS = {
    # name: (family, model class name, config fn, processor fn, mean, std, resolutions, resize kind)
    "vit_hf": ("vit", "ViTForImageClassification", vit_config, "vit", HALF_MEAN, HALF_STD,
               [(32, 32, 2), (48, 40, 1)], "plain"),
    "deit_distilled_hf": ("deit", "DeiTForImageClassificationWithTeacher", deit_config, "deit",
                          IMAGENET_MEAN, IMAGENET_STD, [(32, 32, 2), (40, 56, 1)], "plain"),
    "dinov2_hf": ("dinov2", "Dinov2Model", lambda: dinov2_config(0), "bit", IMAGENET_MEAN, IMAGENET_STD,
                  [(56, 56, 2), (42, 70, 1)], "plain"),
    "dinov2_reg_hf": ("dinov2_reg", "Dinov2WithRegistersModel", lambda: dinov2_config(4), "bit",
                      IMAGENET_MEAN, IMAGENET_STD, [(56, 56, 2), (70, 42, 1)], "aa"),
    "dinov3_hf": ("dinov3", "DINOv3ViTModel", lambda: dinov3_config(False, 224), "dinov3",
                  IMAGENET_MEAN, IMAGENET_STD, [(224, 224, 1), (48, 80, 2)], "rope"),
    "dinov3_swiglu_hf": ("dinov3", "DINOv3ViTModel", lambda: dinov3_config(True, 64), "dinov3",
                         IMAGENET_MEAN, IMAGENET_STD, [(64, 64, 2), (96, 48, 1)], "rope"),
}


def make_processor(kind, mean, std, size):
    if kind == "vit":
        from transformers import ViTImageProcessor
        return ViTImageProcessor(size={"height": size, "width": size}, image_mean=mean, image_std=std)
    if kind == "deit":
        from transformers import DeiTImageProcessor
        return DeiTImageProcessor(size={"height": size, "width": size}, crop_size={"height": size, "width": size},
                                  image_mean=mean, image_std=std)
    if kind == "bit":  # what facebook/dinov2-* ship (resize shortest edge 256, crop 224), scaled down
        from transformers import BitImageProcessor
        return BitImageProcessor(size={"shortest_edge": size * 8 // 7}, crop_size={"height": size, "width": size},
                                 image_mean=mean, image_std=std, do_convert_rgb=True)
    if kind == "dinov3":  # what facebook/dinov3-* ship: resize to 224x224, no crop
        from transformers import DINOv3ViTImageProcessor
        return DINOv3ViTImageProcessor(size={"height": size, "width": size}, image_mean=mean, image_std=std)
    raise ValueError(kind)


def build_hf(name):
    family, cls_name, cfg_fn, _, _, _, _, _ = HF_SPECS[name]
    cls = getattr(transformers, cls_name)
    cfg = cfg_fn()
    model = cls._from_config(cfg, attn_implementation="eager", dtype=torch.float32)
    counts = randomize(model, gen("weights/" + name))
    model.eval()
    assert model.config._attn_implementation == "eager"
    return model, counts


def reload_hf(name, dirpath):
    cls = getattr(transformers, HF_SPECS[name][1])
    m = cls.from_pretrained(str(dirpath), attn_implementation="eager", dtype=torch.float32,
                            local_files_only=True)
    return m.eval()


def make_hf(name, out_name=None, store_dtype=None, only_trained=False):
    family, cls_name, _, pkind, mean, std, resolutions, rkind = HF_SPECS[name]
    out_name = out_name or name
    dirpath = OUT / out_name
    print(f"\n[{out_name}] transformers {TV} {cls_name}" + (f", weights stored as {store_dtype}" if store_dtype else ""))
    model, counts = build_hf(name)
    print(f"  random parameters: {counts}")
    cfg = model.config
    patch = cfg.patch_size
    trained = (cfg.image_size // patch, cfg.image_size // patch)
    processor = make_processor(pkind, mean, std, cfg.image_size)

    if store_dtype is not None:
        round_params(model, store_dtype)
        to_save = copy.deepcopy(model).to(store_dtype)
    else:
        to_save = model
    hf_save(to_save, dirpath, processor)
    with safetensors.safe_open(str(dirpath / "model.safetensors"), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
        print(f"  model.safetensors: {len(list(f.keys()))} tensors, dtypes {sorted(dtypes)}")
    want = {None: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}[store_dtype]
    assert dtypes == {want}, dtypes

    reloaded = reload_hf(name, dirpath)
    if only_trained:
        resolutions = resolutions[:1]
    for (h, w, b) in resolutions:
        rgb8, pv = make_input(f"{name}/{h}x{w}", b, h, w, mean, std)
        check_hf_processor(processor, rgb8, pv)
        grid = (h // patch, w // patch)
        interpolate = grid != trained or h != w
        res = run_hf(model, family, pv, interpolate)
        source = f"transformers {TV} {cls_name}"
        if store_dtype is not None:
            source += f" (weights rounded to {str(store_dtype).replace('torch.', '')})"
        meta = {"source": source, "pos_embed_resize": resize_desc(rkind, trained, grid)}
        if family in ("vit", "deit"):
            meta["interpolate_pos_encoding"] = str(interpolate)
        path = save_reference(dirpath, rgb8, pv, res, meta, grid, cfg.hidden_size)
        dr = check_token_rule(model, family, pv)
        # reproducibility: same model again, and the model reloaded from the written files
        d1 = compare(path, run_hf(model, family, pv, interpolate), label="rerun")
        with safetensors.safe_open(str(path), "pt") as f:
            pv2 = f.get_tensor("pixel_values")
            rgb2 = f.get_tensor("rgb8")
        assert torch.equal(normalize(rgb2, mean, std), pv2)
        d2 = compare(path, run_hf(reloaded, family, pv2, interpolate), label="reload")
        print(f"    verified: rerun max diff {d1:.1e}, reloaded from disk max diff {d2:.1e}, "
              f"hand-built input tokens max diff {dr:.1e}")
    return dirpath


# ---------------------------------------------------------------------------
# timm fixtures
# ---------------------------------------------------------------------------

def timm_model_args(model, arch, init_values=None):
    blk = model.blocks[0]
    args = {
        "img_size": int(model.patch_embed.img_size[0]) if model.patch_embed.img_size[0] == model.patch_embed.img_size[1]
        else list(model.patch_embed.img_size),
        "patch_size": int(model.patch_embed.patch_size[0]),
        "embed_dim": int(model.embed_dim),
        "depth": len(model.blocks),
        "num_heads": int(blk.attn.num_heads),
        "mlp_ratio": blk.mlp.fc1.out_features / model.embed_dim,
    }
    if init_values is not None:
        assert type(blk.ls1).__name__ == "LayerScale"
        args["init_values"] = init_values
    else:
        assert isinstance(blk.ls1, nn.Identity)
    if model.num_reg_tokens:
        args["reg_tokens"] = int(model.num_reg_tokens)
    if model.no_embed_class:
        args["no_embed_class"] = True
    if arch != "vit_base_patch16_224":
        args["class_token"] = bool(model.has_class_token)
    return args


def timm_dinov3_args(model):
    """model_args for a tiny timm DINOv3 (the hub's config.json has none: there the
    architecture name gives the sizes, which a tiny model does not have)."""
    return {"img_size": int(model.patch_embed.img_size[0]), "patch_size": int(model.patch_embed.patch_size[0]),
            "embed_dim": int(model.embed_dim), "depth": len(model.blocks),
            "num_heads": int(model.blocks[0].attn.num_heads)}


TIMM_SPECS = {
    "vit_timm": ("vit_base_patch16_224",
                 dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4, num_classes=5,
                      dynamic_img_size=True),
                 None, [(32, 32, 2), (48, 32, 1)]),
    "dinov2_reg_timm": ("vit_small_patch14_reg4_dinov2",
                        dict(img_size=56, embed_dim=48, depth=2, num_heads=3, num_classes=0, dynamic_img_size=True),
                        1e-5, [(56, 56, 2), (42, 70, 1)]),
    "dinov3_timm": ("vit_small_patch16_dinov3",
                    dict(img_size=64, embed_dim=32, depth=2, num_heads=2, num_classes=0, global_pool="token"),
                    "dinov3", [(64, 64, 2), (48, 96, 1)]),
    "dinov3_swiglu_timm": ("vit_small_plus_patch16_dinov3_qkvb",
                           dict(img_size=64, embed_dim=32, depth=2, num_heads=2, num_classes=0,
                                global_pool="token"),
                           "dinov3", [(64, 64, 2), (80, 48, 1)]),
}


def make_timm(name):
    arch, kwargs, init_values, resolutions = TIMM_SPECS[name]
    dirpath = OUT / name
    print(f"\n[{name}] timm {TIMM_V} {arch}")
    if dirpath.exists():
        shutil.rmtree(dirpath)
    dirpath.mkdir(parents=True)
    dinov3 = init_values == "dinov3"
    model = timm.create_model(arch, pretrained=False, **kwargs)
    assert type(model).__name__ == ("Eva" if dinov3 else "VisionTransformer")
    counts = randomize(model, gen("weights/" + name))
    model.eval()
    print(f"  random parameters: {counts}")
    mean = list(model.pretrained_cfg["mean"])
    std = list(model.pretrained_cfg["std"])
    exp_mean, exp_std = (HALF_MEAN, HALF_STD) if arch == "vit_base_patch16_224" else (IMAGENET_MEAN, IMAGENET_STD)
    assert mean == exp_mean and std == exp_std, (mean, std)
    img = int(model.patch_embed.img_size[0])
    config = {
        "architecture": arch,
        "num_classes": int(model.num_classes),
        "num_features": int(model.num_features),
        "global_pool": model.global_pool,
        "model_args": timm_dinov3_args(model) if dinov3 else timm_model_args(model, arch, init_values),
        "pretrained_cfg": {"input_size": [3, img, img], "mean": mean, "std": std},
    }
    with open(dirpath / "config.json", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    note(dirpath / "config.json", "")
    save_safetensors(model.state_dict(), dirpath / "model.safetensors", {"format": "pt"})
    note(dirpath / "model.safetensors", f"{len(model.state_dict())} tensors F32")

    # reload into a fresh model from the written files
    re = timm.create_model(arch, pretrained=False, **kwargs)
    re.load_state_dict(safetensors.torch.load_file(str(dirpath / "model.safetensors")), strict=True)
    re.eval()

    patch = int(model.patch_embed.patch_size[0])
    trained = tuple(model.patch_embed.grid_size)
    for (h, w, b) in resolutions:
        rgb8, pv = make_input(f"{name}/{h}x{w}", b, h, w, mean, std)
        grid = (h // patch, w // patch)
        res = run_timm(model, pv)
        meta = {"source": f"timm {TIMM_V} {arch}",
                "pos_embed_resize": resize_desc("rope" if dinov3 else "aa", trained, grid)}
        path = save_reference(dirpath, rgb8, pv, res, meta, grid, model.embed_dim)
        dr = check_token_rule(model, name, pv)
        d1 = compare(path, run_timm(model, pv), label="rerun")
        with safetensors.safe_open(str(path), "pt") as f:
            pv2 = f.get_tensor("pixel_values")
            rgb2 = f.get_tensor("rgb8")
        assert torch.equal(normalize(rgb2, mean, std), pv2)
        d2 = compare(path, run_timm(re, pv2), label="reload")
        print(f"    verified: rerun max diff {d1:.1e}, reloaded from disk max diff {d2:.1e}, "
              f"hand-built input tokens max diff {dr:.1e}")
    return dirpath


# ---------------------------------------------------------------------------
# Position-embedding resize unit data
# ---------------------------------------------------------------------------

POS_TARGETS = [(2, 3), (3, 5), (4, 4), (7, 6), (8, 8), (5, 9)]


def make_pos_resize():
    print("\n[pos_resize]")
    src = torch.randn((1, 5, 4, 4), generator=gen("pos_resize/src"), dtype=torch.float32)
    tensors = {"src": src}
    for (h, w) in POS_TARGETS:
        tensors[f"bicubic_{h}x{w}"] = F.interpolate(src, size=(h, w), mode="bicubic", align_corners=False,
                                                    antialias=False)
        tensors[f"bicubic_antialias_{h}x{w}"] = F.interpolate(src, size=(h, w), mode="bicubic",
                                                              align_corners=False, antialias=True)
        off = F.interpolate(src, scale_factor=((h + 0.1) / 4, (w + 0.1) / 4), mode="bicubic",
                            align_corners=False, antialias=False)
        assert tuple(off.shape[-2:]) == (h, w), (off.shape, h, w)
        tensors[f"bicubic_offset_{h}x{w}"] = off
    # the 4x4 -> 4x4 plain and antialiased resizes are the identity; the offset one is not
    assert torch.allclose(tensors["bicubic_4x4"], src, atol=1e-6)
    assert torch.allclose(tensors["bicubic_antialias_4x4"], src, atol=1e-6)
    for k, v in tensors.items():
        assert v.dtype == torch.float32 and v.shape[:2] == (1, 5), k
    for (h, w) in POS_TARGETS:
        p = tensors[f"bicubic_{h}x{w}"]
        print(f"  {h}x{w}: max |antialias - plain| {(tensors[f'bicubic_antialias_{h}x{w}'] - p).abs().max():.4f}, "
              f"max |offset - plain| {(tensors[f'bicubic_offset_{h}x{w}'] - p).abs().max():.4f}")
    meta = {
        "source": f"torch {torch.__version__} torch.nn.functional.interpolate",
        "bicubic": "size=(h,w), mode=bicubic, align_corners=False, antialias=False",
        "bicubic_antialias": "size=(h,w), mode=bicubic, align_corners=False, antialias=True",
        "bicubic_offset": "scale_factor=((h+0.1)/4, (w+0.1)/4), mode=bicubic, align_corners=False, antialias=False",
        "targets": ";".join(f"{h}x{w}" for h, w in POS_TARGETS),
    }
    path = OUT / "pos_resize.safetensors"
    save_safetensors(tensors, path, meta)
    note(path, f"src [1,5,4,4] + {len(tensors) - 1} resized grids")
    with safetensors.safe_open(str(path), "pt") as f:
        for k in f.keys():
            assert torch.equal(f.get_tensor(k), tensors[k]), k


# ---------------------------------------------------------------------------

LOW_PRECISION = {
    # out name: (float32 fixture, stored dtype, its trained size)
    "vit_hf_bf16": ("vit_hf", torch.bfloat16, "32x32"),
    "dinov2_hf_f16": ("dinov2_hf", torch.float16, "56x56"),
    "dinov3_swiglu_hf_bf16": ("dinov3_swiglu_hf", torch.bfloat16, "64x64"),
    "dinov3_swiglu_hf_f16": ("dinov3_swiglu_hf", torch.float16, "64x64"),
}


def main():
    """Writes every fixture, or only those named (python scripts/make_fixtures.py dinov3_hf ...)."""
    only = set(sys.argv[1:])
    known = set(HF_SPECS) | set(TIMM_SPECS) | set(LOW_PRECISION) | {"pos_resize"}
    assert only <= known, f"unknown fixtures {sorted(only - known)}; known: {sorted(known)}"
    want = lambda name: not only or name in only
    print(f"torch {torch.__version__}, transformers {TV}, timm {TIMM_V}, safetensors {safetensors.__version__}, "
          f"numpy {np.__version__}")
    print(f"writing into {OUT}")
    check_sources()
    OUT.mkdir(parents=True, exist_ok=True)

    for name in HF_SPECS:
        if want(name):
            make_hf(name)
    for name in TIMM_SPECS:
        if want(name):
            make_timm(name)
    for out_name, (name, dtype, _) in LOW_PRECISION.items():
        if want(out_name):
            make_hf(name, out_name=out_name, store_dtype=dtype, only_trained=True)
    if want("pos_resize"):
        make_pos_resize()

    # the low-precision references must differ from the float32 ones (the rounding is visible)
    for lo, (hi, _, hw) in LOW_PRECISION.items():
        if not (OUT / lo).is_dir():
            continue
        a = safetensors.torch.load_file(str(OUT / lo / f"reference_{hw}.safetensors"))
        b = safetensors.torch.load_file(str(OUT / hi / f"reference_{hw}.safetensors"))
        assert torch.equal(a["pixel_values"], b["pixel_values"])
        d = (a["embedding"] - b["embedding"]).abs().max().item()
        print(f"\n{lo} vs {hi} at {hw}: same input, embedding max diff {d:.2e} (rounding of the weights)")
        assert d > 1e-4

    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"\n{len(written)} files written, Tests/Fixtures total {total:,} bytes")
    assert total < 6_000_000


if __name__ == "__main__":
    main()
