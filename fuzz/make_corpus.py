#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (standard library only, deterministic).

  fuzz/corpus/loader/   tiny valid models of every family and naming Tessera
                        loads (HF ViT/DeiT/DINOv2/DINOv2-registers, timm ViT and
                        DINOv2-registers; F32/F16/BF16), plus a few mutations
                        (truncated, overlapping, odd config values), in the
                        loader fuzzer's input layout:
                          u32 config_len | u32 preprocessor_len | config | preprocessor | safetensors
  fuzz/corpus/session/  option records for the session fuzzer (see
                        fuzz/Sources/TesseraFuzzSession/FuzzSession.swift)

Run from anywhere:  python3 fuzz/make_corpus.py
"""
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(1234)


def f16(x):
    return struct.pack("<e", x)


def bf16(x):
    return struct.pack("<I", struct.unpack("<I", struct.pack("<f", x))[0])[2:]


def tensor_bytes(dtype, n):
    vals = [rng.uniform(-0.5, 0.5) for _ in range(n)]
    if dtype == "F32":
        return struct.pack("<%df" % n, *vals)
    if dtype == "F16":
        return b"".join(f16(v) for v in vals)
    return b"".join(bf16(v) for v in vals)


def safetensors(tensors, dtype="F32"):
    """tensors: list of (name, shape); values random."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        b = tensor_bytes(dtype, n)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def pack(config, st, pre=None):
    c = json.dumps(config, indent=1).encode() if isinstance(config, dict) else config
    p = b"" if pre is None else (json.dumps(pre).encode() if isinstance(pre, dict) else pre)
    return struct.pack("<II", len(c), len(p)) + c + p + st


D, F, P, IMG, HEADS, CLASSES = 8, 16, 2, 4, 2, 3
GRID = (IMG // P) ** 2


def hf_tensors(pre, dino=False, dist=False, registers=0, layers=1, head=None):
    e = pre + "embeddings."
    t = [(e + "cls_token", [1, 1, D]),
         (e + "patch_embeddings.projection.weight", [D, 3, P, P]),
         (e + "patch_embeddings.projection.bias", [D]),
         (e + "position_embeddings", [1, GRID + (2 if dist else 1), D])]
    if dist:
        t.append((e + "distillation_token", [1, 1, D]))
    if registers:
        t.append((e + "register_tokens", [1, registers, D]))
    if dino:
        t.append((e + "mask_token", [1, D]))
    for i in range(layers):
        l = "%sencoder.layer.%d." % (pre, i)
        n1, n2 = ("norm1", "norm2") if dino else ("layernorm_before", "layernorm_after")
        for n in (n1, n2):
            t += [(l + n + ".weight", [D]), (l + n + ".bias", [D])]
        for q in ("query", "key", "value"):
            t += [(l + "attention.attention.%s.weight" % q, [D, D]), (l + "attention.attention.%s.bias" % q, [D])]
        t += [(l + "attention.output.dense.weight", [D, D]), (l + "attention.output.dense.bias", [D])]
        fc1, fc2 = (l + "mlp.fc1", l + "mlp.fc2") if dino else (l + "intermediate.dense", l + "output.dense")
        mlp = 4 * D if dino else F
        t += [(fc1 + ".weight", [mlp, D]), (fc1 + ".bias", [mlp]), (fc2 + ".weight", [D, mlp]), (fc2 + ".bias", [D])]
        if dino:
            t += [(l + "layer_scale1.lambda1", [D]), (l + "layer_scale2.lambda1", [D])]
    t += [(pre + "layernorm.weight", [D]), (pre + "layernorm.bias", [D])]
    if head == "cls":
        t += [("classifier.weight", [CLASSES, D]), ("classifier.bias", [CLASSES])]
    elif head == "dist":
        t += [("cls_classifier.weight", [CLASSES, D]), ("cls_classifier.bias", [CLASSES]),
              ("distillation_classifier.weight", [CLASSES, D]), ("distillation_classifier.bias", [CLASSES])]
    return t


def hf_config(model_type, arch, layers=1, **extra):
    c = {"architectures": [arch], "model_type": model_type, "hidden_size": D, "num_hidden_layers": layers,
         "num_attention_heads": HEADS, "intermediate_size": F, "patch_size": P, "image_size": IMG,
         "num_channels": 3, "hidden_act": "gelu", "qkv_bias": True, "layer_norm_eps": 1e-6}
    if model_type.startswith("dinov2"):
        c["mlp_ratio"] = 4
        del c["intermediate_size"]
    c.update(extra)
    return c


def timm_tensors(registers=0, ls=False, head=False, embed_class=True):
    t = [("cls_token", [1, 1, D]), ("patch_embed.proj.weight", [D, 3, P, P]), ("patch_embed.proj.bias", [D]),
         ("pos_embed", [1, GRID + ((1 + registers) if embed_class else 0), D])]
    if registers:
        t.append(("reg_token", [1, registers, D]))
    l = "blocks.0."
    t += [(l + "norm1.weight", [D]), (l + "norm1.bias", [D]), (l + "norm2.weight", [D]), (l + "norm2.bias", [D]),
          (l + "attn.qkv.weight", [3 * D, D]), (l + "attn.qkv.bias", [3 * D]),
          (l + "attn.proj.weight", [D, D]), (l + "attn.proj.bias", [D]),
          (l + "mlp.fc1.weight", [F, D]), (l + "mlp.fc1.bias", [F]), (l + "mlp.fc2.weight", [D, F]), (l + "mlp.fc2.bias", [D]),
          ("norm.weight", [D]), ("norm.bias", [D])]
    if ls:
        t += [(l + "ls1.gamma", [D]), (l + "ls2.gamma", [D])]
    if head:
        t += [("head.weight", [CLASSES, D]), ("head.bias", [CLASSES])]
    return t


def timm_config(arch, **args):
    a = {"img_size": IMG, "patch_size": P, "embed_dim": D, "depth": 1, "num_heads": HEADS}
    a.update(args)
    return {"architecture": arch, "global_pool": "token", "model_args": a,
            "pretrained_cfg": {"input_size": [3, IMG, IMG], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}


def dinov3_hf_tensors(gated=False, registers=4, layer_prefix="layer."):
    e = "embeddings."
    t = [(e + "cls_token", [1, 1, D]), (e + "mask_token", [1, 1, D]), (e + "register_tokens", [1, registers, D]),
         (e + "patch_embeddings.weight", [D, 3, P, P]), (e + "patch_embeddings.bias", [D])]
    l = layer_prefix + "0."
    t += [(l + "norm1.weight", [D]), (l + "norm1.bias", [D]), (l + "norm2.weight", [D]), (l + "norm2.bias", [D]),
          (l + "layer_scale1.lambda1", [D]), (l + "layer_scale2.lambda1", [D])]
    for q in "qkvo":
        t.append((l + "attention.%s_proj.weight" % q, [D, D]))
    t += [(l + "attention.%s_proj.bias" % q, [D]) for q in "qvo"]
    for name in (["gate_proj", "up_proj"] if gated else ["up_proj"]):
        t += [(l + "mlp.%s.weight" % name, [F, D]), (l + "mlp.%s.bias" % name, [F])]
    t += [(l + "mlp.down_proj.weight", [D, F]), (l + "mlp.down_proj.bias", [D]), ("norm.weight", [D]), ("norm.bias", [D])]
    return t


def dinov3_hf_config(gated=False, **extra):
    c = {"architectures": ["DINOv3ViTModel"], "model_type": "dinov3_vit", "hidden_size": D, "intermediate_size": F,
         "num_hidden_layers": 1, "num_attention_heads": HEADS, "patch_size": P, "image_size": IMG,
         "num_register_tokens": 4, "rope_theta": 100.0, "use_gated_mlp": gated,
         "hidden_act": "silu" if gated else "gelu", "key_bias": False, "layer_norm_eps": 1e-5}
    c.update(extra)
    return c


def dinov3_timm_tensors(gated=False, qkvb=False):
    l = "blocks.0."
    t = [("cls_token", [1, 1, D]), ("reg_token", [1, 4, D]), ("patch_embed.proj.weight", [D, 3, P, P]),
         ("patch_embed.proj.bias", [D]), (l + "gamma_1", [D]), (l + "gamma_2", [D]),
         (l + "norm1.weight", [D]), (l + "norm1.bias", [D]), (l + "norm2.weight", [D]), (l + "norm2.bias", [D]),
         (l + "attn.qkv.weight", [3 * D, D]), (l + "attn.proj.weight", [D, D]), (l + "attn.proj.bias", [D]),
         (l + "mlp.fc2.weight", [D, F]), (l + "mlp.fc2.bias", [D]), ("norm.weight", [D]), ("norm.bias", [D])]
    if qkvb:
        t += [(l + "attn.q_bias", [D]), (l + "attn.v_bias", [D])]
    for name in (["fc1_g", "fc1_x"] if gated else ["fc1"]):
        t += [(l + "mlp.%s.weight" % name, [F, D]), (l + "mlp.%s.bias" % name, [F])]
    return t


PRE = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}


def loader_seeds():
    s = {}
    vit = hf_config("vit", "ViTForImageClassification", id2label={"0": "a", "1": "b", "2": "c"})
    s["hf_vit_cls_f32"] = pack(vit, safetensors(hf_tensors("vit.", head="cls")))
    s["hf_vit_2layers_bf16"] = pack(hf_config("vit", "ViTModel", layers=2),
                                    safetensors(hf_tensors("", layers=2), "BF16"))
    s["hf_deit_dist_f16"] = pack(hf_config("deit", "DeiTForImageClassificationWithTeacher"),
                                 safetensors(hf_tensors("deit.", dist=True, head="dist"), "F16"), PRE)
    s["hf_dinov2_f32"] = pack(hf_config("dinov2", "Dinov2Model"), safetensors(hf_tensors("", dino=True)), PRE)
    s["hf_dinov2_reg_f16"] = pack(hf_config("dinov2_with_registers", "Dinov2WithRegistersModel", num_register_tokens=2),
                                  safetensors(hf_tensors("", dino=True, registers=2), "F16"), PRE)
    s["hf_dinov2_offset"] = pack(hf_config("dinov2", "Dinov2Model", tessera_pos_resize="bicubic_offset"),
                                 safetensors(hf_tensors("", dino=True)))
    s["timm_vit_head"] = pack(timm_config("vit_tiny_patch2_4"), safetensors(timm_tensors(head=True)))
    s["timm_dinov2_reg"] = pack(timm_config("vit_small_patch2_reg2_dinov2", no_embed_class=True, reg_tokens=2),
                                safetensors(timm_tensors(registers=2, ls=True, embed_class=False), "BF16"))
    s["mut_timm_heads_guess"] = pack({"architecture": "vit_small_patch2_4", "label_names": ["x", "y", "z"]},
                                safetensors(timm_tensors(head=True)))
    # A few mutations of valid seeds.
    st = safetensors(hf_tensors("vit.", head="cls"))
    s["mut_truncated"] = pack(vit, st[: len(st) - 37])
    s["mut_mlp_ratio_huge"] = pack(hf_config("dinov2", "Dinov2Model", mlp_ratio=1e30),
                                   safetensors(hf_tensors("", dino=True)))
    s["mut_image_size_list"] = pack(hf_config("vit", "ViTModel", image_size=[IMG, IMG]), safetensors(hf_tensors("")))
    s["mut_nan_eps"] = pack(json.dumps(hf_config("vit", "ViTModel")).replace("1e-06", "NaN").encode(),
                            safetensors(hf_tensors("")))
    hdr = st[8:8 + struct.unpack("<Q", st[:8])[0]]
    s["mut_header_len_huge"] = pack(vit, struct.pack("<Q", 1 << 62) + st[8:])
    s["mut_header_only"] = pack(vit, struct.pack("<Q", len(hdr)) + hdr)
    s["mut_deep_json"] = pack(b"[" * 70 + b"]" * 70, st)
    s["mut_unicode"] = pack(b'{"model_type": "vit\\ud800\\udc00\\u00e9", "architectures": ["\\ud83d"]}', st)
    # DINOv3 (after the others, so that their random bytes stay as they were).
    s["hf_dinov3_f32"] = pack(dinov3_hf_config(), safetensors(dinov3_hf_tensors()), PRE)
    s["hf_dinov3_swiglu_bf16"] = pack(dinov3_hf_config(gated=True), safetensors(dinov3_hf_tensors(gated=True), "BF16"))
    s["hf_dinov3_model_layer_f16"] = pack(dinov3_hf_config(model_type="DINOv3ViT", use_swiglu_ffn=False),
                                          safetensors(dinov3_hf_tensors(layer_prefix="model.layer."), "F16"))
    s["timm_dinov3"] = pack(timm_config("vit_small_patch16_dinov3"), safetensors(dinov3_timm_tensors()))
    s["timm_dinov3_swiglu_qkvb"] = pack(timm_config("vit_small_plus_patch16_dinov3_qkvb"),
                                        safetensors(dinov3_timm_tensors(gated=True, qkvb=True)))
    s["mut_timm_dinov3_hub_config"] = pack({"architecture": "vit_small_patch16_dinov3", "num_classes": 0,
                                            "global_pool": "avg"}, safetensors(dinov3_timm_tensors()))
    s["mut_dinov3_rope_theta_nan"] = pack(json.dumps(dinov3_hf_config()).replace("100.0", "NaN").encode(),
                                          safetensors(dinov3_hf_tensors()))
    return s


def session_record(model=0, a=0, b=0, batch=0, h=0, w=0, threads=1, mask=0, arena=1, isa=0, ss=0, images=0,
                   outputs=((1, 0, 0), (2, 0, 0)), pixels=b""):
    """One TesseraFuzzSession input; defaults give a sane one-image run."""
    r = struct.pack("<BBBiiiiQQiBQ", model, a, b, batch, h, w, threads, mask, arena, isa, ss, images)
    r += bytes([len(outputs)])
    for kind, delta, which in outputs:
        r += struct.pack("<Bbi", kind, delta, which)
    return r + pixels


def session_seeds():
    nan_inf = struct.pack("<4f", float("nan"), float("inf"), -float("inf"), 1.0)
    grey = struct.pack("<f", 0.25)
    all_out = ((0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 0, 0), (14, 0, 0), (7, 0, 0), (8, 0, 0), (9, 0, 300))
    s = {}
    for m in range(5):
        s["m%d_default_f32" % m] = session_record(m, pixels=grey)
        s["m%d_rgb8_all_outputs" % m] = session_record(m, a=64, mask=3, outputs=all_out, pixels=bytes(range(256)))
        s["m%d_resized_batch3" % m] = session_record(m, batch=2, h=5, w=3, images=1, threads=2, mask=1,
                                                     outputs=all_out, pixels=bytes(range(7, 250, 3)))
    s["nan_inf_pixels"] = session_record(1, mask=3, outputs=all_out, pixels=nan_inf)
    s["options_null"] = session_record(0, a=1)
    s["fresh_model_freed"] = session_record(2, b=4 | 8 | 16 | 32, outputs=all_out)
    s["copy_too_small"] = session_record(0, outputs=((131, -1, 0), (132, -128, 0), (130, 5, 0), (1, -2, 0)))  # kind >= 128: raw delta
    s["raw_size_not_multiple"] = session_record(0, a=4, h=33, w=32)
    s["raw_size_big"] = session_record(1, a=4, h=14 * 300, w=14 * 300)
    s["raw_size_negative"] = session_record(0, a=4, h=-8, w=16)
    s["raw_batch_huge"] = session_record(0, a=2, batch=1 << 30)
    s["raw_threads_bad"] = session_record(0, a=8, threads=-1)
    s["raw_mask_all"] = session_record(0, b=1, mask=(1 << 64) - 1)
    s["raw_isa_avx512"] = session_record(0, b=2, isa=3)
    s["raw_isa_bad"] = session_record(0, b=2, isa=77)
    s["raw_struct_size_small"] = session_record(0, a=32, ss=8)
    s["raw_arena_tiny"] = session_record(0, a=16, arena=100)
    s["raw_images_huge"] = session_record(0, a=128, images=(1 << 63) + 5)
    return s


def main():
    for target, seeds in (("session", session_seeds()), ("loader", loader_seeds())):
        out = os.path.join(HERE, "corpus", target)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
        print(f"{target} seeds:", len(os.listdir(out)))


if __name__ == "__main__":
    main()
