#!/usr/bin/env python3
"""Writes Tests/Fixtures/preprocess.json: what transformers' image processors
make of the sample photos, before rescaling and normalization, as SHA-256
digests of the uint8 [H, W, 3] bytes, so that Tessera's
tessera_preprocess_rgb8 (MODEL mode) can be checked byte for byte without
storing the pixels. The digests are of the PIL backend
(`BitImageProcessorPil`, `ViTImageProcessorPil`: Pillow's resize, which is
what the checkpoints were trained with); transformers 5's default backend
resizes with torchvision in float instead, and its largest difference from
the PIL backend is recorded beside each digest.

    benchmarks/.venv/bin/python scripts/make_preprocess_fixture.py   (transformers, Pillow, numpy)

The photos are data/photos (scripts/fetch_photos.sh: scikit-image 0.26.0's).
"""
import hashlib
import json
import os

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers import BitImageProcessor, BitImageProcessorPil, ViTImageProcessor, ViTImageProcessorPil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = os.path.join(ROOT, "data", "photos")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "preprocess.json")

# name -> (PIL-backend class, default-backend class, arguments)
PROCESSORS = {
    # facebook/dinov2-*: shortest edge 256, centre crop 224, bicubic.
    "dinov2_shortest256_crop224": (BitImageProcessorPil, BitImageProcessor, dict(
        size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224}, do_center_crop=True,
        resample=PIL.Image.BICUBIC)),
    # An odd leftover: transformers' (size - crop) // 2 origin.
    "bit_shortest225_crop196x154": (BitImageProcessorPil, BitImageProcessor, dict(
        size={"shortest_edge": 225}, crop_size={"height": 196, "width": 154}, do_center_crop=True,
        resample=PIL.Image.BICUBIC)),
    # google/vit-*: both sides to 224, bilinear.
    "vit_224_bilinear": (ViTImageProcessorPil, ViTImageProcessor, dict(
        size={"height": 224, "width": 224}, resample=PIL.Image.BILINEAR)),
}
PHOTO_NAMES = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"]


def main():
    out = {"made_with": {"transformers": transformers.__version__, "Pillow": PIL.__version__, "numpy": np.__version__},
           "processors": {}, "digests": {}}
    def pixels(proc, img):
        pv = proc(images=img, return_tensors="np")["pixel_values"][0]  # [3, H, W]
        px = pv.astype(np.float64).transpose(1, 2, 0)
        assert np.array_equal(px, np.round(px)) and px.min() >= 0 and px.max() <= 255
        return np.ascontiguousarray(px.astype(np.uint8))

    for name, (pil_cls, default_cls, args) in PROCESSORS.items():
        proc = pil_cls(do_rescale=False, do_normalize=False, **args)
        other = default_cls(do_rescale=False, do_normalize=False, **args)
        cfg = proc.to_dict()
        out["processors"][name] = {k: cfg[k] for k in ("do_resize", "size", "resample", "do_center_crop", "crop_size")
                                   if k in cfg}
        for photo in PHOTO_NAMES:
            img = Image.open(os.path.join(PHOTOS, photo)).convert("RGB")
            u8 = pixels(proc, img)
            tv = pixels(other, img)
            diff = int(np.abs(u8.astype(int) - tv.astype(int)).max())
            out["digests"][f"{name}/{photo}"] = {"shape": list(u8.shape),
                                                  "sha256": hashlib.sha256(u8.tobytes()).hexdigest(),
                                                  "torchvision_backend_max_abs_diff": diff}
            print(name, photo, u8.shape, "torchvision backend differs by up to", diff)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
