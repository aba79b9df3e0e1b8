#!/usr/bin/env python3
"""Writes Tests/Fixtures/images/: small PNG and JPEG files in the layouts the
CLI's decoder (Sources/CTesseraImageIO) must handle, each with the 8-bit RGB
bytes it must decode to (`<file>.rgb`, raw, rows top to bottom) and a
manifest.json listing sizes and the allowed per-byte difference.

    /work/refvenv/bin/python scripts/make_image_fixtures.py

Expected bytes: for 8-bit PNG and for JPEG, Pillow's own decode followed by
`convert("RGB")` (alpha dropped, palette expanded, gray replicated, CMYK as
Pillow converts it). For 16-bit PNG (written here with a minimal encoder,
since Pillow cannot write 16-bit RGB), each sample v scaled to 8 bits as
libpng does, (v * 255 + 32895) >> 16, i.e. round(v / 257), alpha dropped.
Seeded: a rerun writes identical files.
"""
import io
import json
import os
import random
import struct
import zlib

import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "images")
W, H = 16, 12


def png16(path, width, height, channels, samples):
    """Minimal 16-bit PNG writer: color type 0 (gray), 2 (RGB) or 6 (RGBA)."""
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        for v in samples[y * width * channels:(y + 1) * width * channels]:
            raw += struct.pack(">H", v)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw), 9)))
        f.write(chunk(b"IEND", b""))


def scale16(v):
    return (v * 255 + 32895) >> 16


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    rng = random.Random(7)
    # A smooth gradient plus noise: random enough to catch channel mix-ups,
    # smooth enough for JPEG to stay close.
    rgb = bytearray()
    for y in range(H):
        for x in range(W):
            rgb += bytes([min(255, x * 15 + rng.randrange(16)),
                          min(255, y * 20 + rng.randrange(16)),
                          min(255, 128 + (x - y) * 5 + rng.randrange(16))])
    base = Image.frombytes("RGB", (W, H), bytes(rgb))
    alpha = Image.frombytes("L", (W, H), bytes(rng.randrange(256) for _ in range(W * H)))
    entries = []

    def add(fname, expected, tolerance, note):
        assert len(expected) == W * H * 3
        with open(os.path.join(OUT, fname + ".rgb"), "wb") as f:
            f.write(expected)
        entries.append({"file": fname, "expected": fname + ".rgb", "width": W, "height": H,
                        "tolerance": tolerance, "note": note})

    def save_pil(img, fname, note, **kw):
        path = os.path.join(OUT, fname)
        img.save(path, **kw)
        with Image.open(path) as back:
            add(fname, back.convert("RGB").tobytes(), 0, note)

    # PNG, 8-bit and below.
    save_pil(base, "rgb.png", "RGB 8-bit")
    save_pil(base.convert("L"), "gray.png", "gray 8-bit")
    save_pil(base.convert("1"), "bilevel.png", "gray 1-bit")
    la = base.convert("L"); la.putalpha(alpha)
    save_pil(la, "gray_alpha.png", "gray + alpha 8-bit: alpha dropped")
    rgba = base.copy(); rgba.putalpha(alpha)
    save_pil(rgba, "rgba.png", "RGBA 8-bit: alpha dropped, not composited")
    pal = base.quantize(colors=16)
    save_pil(pal, "palette.png", "palette, 16 colors (4-bit)")
    save_pil(pal, "palette_trns.png", "palette with a transparent entry: dropped", transparency=3)

    # PNG, 16-bit.
    g16 = [rng.randrange(65536) for _ in range(W * H)]
    png16(os.path.join(OUT, "gray16.png"), W, H, 1, g16)
    add("gray16.png", bytes(scale16(v) for v in g16 for _ in range(3)), 0, "gray 16-bit")
    c16 = [rng.randrange(65536) for _ in range(W * H * 3)]
    png16(os.path.join(OUT, "rgb16.png"), W, H, 3, c16)
    add("rgb16.png", bytes(scale16(v) for v in c16), 0, "RGB 16-bit")
    a16 = [rng.randrange(65536) for _ in range(W * H * 4)]
    png16(os.path.join(OUT, "rgba16.png"), W, H, 4, a16)
    add("rgba16.png", bytes(scale16(v) for i, v in enumerate(a16) if i % 4 != 3), 0,
        "RGBA 16-bit: alpha dropped, not premultiplied")

    # JPEG: Pillow's decode is the reference (libjpeg-turbo there too; the
    # integer IDCT and upsampling are exact, so allow only rounding noise).
    save_pil(base, "rgb.jpg", "YCbCr 4:2:0", quality=90)
    save_pil(base, "rgb444.jpg", "YCbCr 4:4:4, progressive", quality=95, subsampling=0, progressive=True)
    save_pil(base.convert("L"), "gray.jpg", "gray", quality=90)
    save_pil(base.convert("CMYK"), "cmyk.jpg", "CMYK (Adobe, inverted)", quality=95)
    for e in entries:
        if e["file"].endswith(".jpg"):
            e["tolerance"] = 1

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "scripts/make_image_fixtures.py", "pillow": PIL.__version__,
                   "images": entries}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(entries)} images to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
