#!/usr/bin/env python3
"""Writes Tests/Fixtures/resize/: a random 37x23 RGB image and Pillow's
resizes of it, which Tests/TesseraTests/ImageResizeTests.swift compares
TesseraKernelCore's ImageResize against.

Run from the repository root with the reference environment's Pillow:

    /work/refvenv/bin/python scripts/make_resize_fixture.py

Every file is raw 8-bit RGB, rows top to bottom, no header; sizes and filters
are listed in manifest.json. Seeded: a rerun writes identical files.

Pillow 13 chooses which 1-D pass runs first (see ImageResize.PassOrder);
Pillow 12 and earlier always ran the horizontal pass first, so regenerating
with an older Pillow changes the vertical-first cases by a level or so.
"""
import json
import os
import random

import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "resize")

SRC_W, SRC_H = 37, 23
# (width, height): shrink both, enlarge both, identity, mixed, strong shrink,
# height only, and two where Pillow 13 runs the vertical pass first (the
# height shrinks by more than twice as many pixels as the width does).
SIZES = [(16, 11), (50, 40), (37, 23), (20, 30), (5, 3), (37, 12), (40, 10), (33, 8)]
FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20240611)
    # Random pixels plus a few hard edges, so that ringing and clamping show.
    data = bytearray(rng.randrange(256) for _ in range(SRC_W * SRC_H * 3))
    for y in range(SRC_H):
        for x in range(SRC_W):
            if 10 <= x < 20 and 5 <= y < 15:
                data[(y * SRC_W + x) * 3:(y * SRC_W + x) * 3 + 3] = b"\xff\xff\xff"
            elif 25 <= x < 30:
                data[(y * SRC_W + x) * 3:(y * SRC_W + x) * 3 + 3] = b"\x00\x00\x00"
    src = Image.frombytes("RGB", (SRC_W, SRC_H), bytes(data))
    manifest = {
        "generator": "scripts/make_resize_fixture.py",
        "pillow": PIL.__version__,
        "source": {"file": "source_37x23.rgb", "width": SRC_W, "height": SRC_H},
        "resized": [],
    }
    with open(os.path.join(OUT, "source_37x23.rgb"), "wb") as f:
        f.write(src.tobytes())
    for name, flt in FILTERS.items():
        for (w, h) in SIZES:
            out = src.resize((w, h), flt)  # reducing_gap=None: no pre-reduction
            fname = f"{name}_{w}x{h}.rgb"
            with open(os.path.join(OUT, fname), "wb") as f:
                f.write(out.tobytes())
            manifest["resized"].append({"file": fname, "filter": name, "width": w, "height": h})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(manifest['resized']) + 1} images to {OUT}")


if __name__ == "__main__":
    main()
