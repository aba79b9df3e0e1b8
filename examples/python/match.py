#!/usr/bin/env python3
"""Match two images with DINOv2 patch tokens and draw the matches.

    python examples/python/match.py MODEL A B [--size 448] [--ratio 0.9] [--out matches.png]

Both images are resized to the run size with Pillow's BICUBIC resampler
(antialiased when shrinking; no crop or padding, so the aspect ratio follows
--size), run through Tessera in one batch, and their patch tokens are
L2-normalized. A patch of A and a patch of B match when each is the other's
most similar patch (cosine): mutual nearest neighbours, optionally filtered by
Lowe's ratio test. The pair is drawn side by side at its original resolution
with a line between the centres of every matched pair of patches.

Needs numpy, Pillow and the tessera binding (bindings/python; found in the
repository when it is not installed).
"""

from __future__ import annotations

import argparse
import colorsys
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import matching  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Resampling: Pillow Image.resize(..., Image.BICUBIC) to the run size, "
               "both images, no crop or padding.",
    )
    p.add_argument("model", help="model directory (config.json + model.safetensors)")
    p.add_argument("a", help="first image (any format Pillow reads)")
    p.add_argument("b", help="second image")
    p.add_argument("--size", default="448",
                   help="run size N (N x N) or WIDTHxHEIGHT, multiples of the patch size; "
                        "both images are resized to it with PIL BICUBIC (default 448)")
    p.add_argument("--ratio", type=float, default=None, metavar="R",
                   help="Lowe's ratio test in (0, 1]: keep a mutual match (i, j) only if "
                        "i's distance to j < R x its distance to its second-nearest patch of "
                        "B (e.g. 0.8, as tessera match --ratio)")
    p.add_argument("--ratio-both", action="store_true",
                   help="apply the ratio test from B's side as well")
    p.add_argument("--layer", type=int, default=None, metavar="K",
                   help="match the patch tokens of block K (0-based, before the final norm) "
                        "instead of the final patch tokens")
    p.add_argument("--out", default="matches.png", help="drawing of the matches (default matches.png); "
                   "'' to skip")
    p.add_argument("--max-lines", type=int, default=300,
                   help="draw at most this many matches, the most similar first (default 300)")
    p.add_argument("--threads", type=int, default=0, help="threads (0: all cores)")
    p.add_argument("--print", type=int, default=10, dest="show",
                   help="print this many matches (default 10)")
    return p.parse_args(argv)


def patch_features(model, images, size, threads=0, layer=None):
    """L2-normalized patch tokens [N, Hp*Wp, D] of Pillow images at size (w, h):
    the final ones, or block ``layer``'s."""
    w, h = size
    key = common.feature_key(layer)
    resized = [common.resize(im, size) for im in images]
    with model.session(batch=len(resized), height=h, width=w, threads=threads,
                       outputs=common.session_outputs(layer)) as session:
        tokens = session.run(common.to_array(resized))[key]
    return matching.l2_normalize(common.patch_part(tokens, key, model.info.num_prefix_tokens))


def draw_matches(img_a, img_b, centers_a, centers_b, run_size, out, max_lines=300):
    """Side-by-side drawing at the original resolutions; centres are in run pixels."""
    from PIL import Image, ImageDraw

    wa, ha = img_a.size
    wb, hb = img_b.size
    canvas = Image.new("RGB", (wa + wb, max(ha, hb)), (255, 255, 255))
    canvas.paste(img_a, (0, 0))
    canvas.paste(img_b, (wa, 0))
    draw = ImageDraw.Draw(canvas)
    rw, rh = run_size
    pa = centers_a * np.array([wa / rw, ha / rh])
    pb = centers_b * np.array([wb / rw, hb / rh]) + np.array([wa, 0.0])
    n = min(len(pa), max_lines)
    width = max(1, round(max(wa, wb) / 400))
    r = 2 * width
    for k in range(n):
        hue = (k * 0.61803398875) % 1.0
        color = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.9, 1.0))
        (xa, ya), (xb, yb) = pa[k], pb[k]
        draw.line([(xa, ya), (xb, yb)], fill=color, width=width)
        draw.ellipse([xa - r, ya - r, xa + r, ya + r], outline=color, width=width)
        draw.ellipse([xb - r, yb - r, xb + r, yb + r], outline=color, width=width)
    canvas.save(out)
    return n


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.ratio is not None and not 0.0 < args.ratio <= 1.0:
        raise SystemExit(f"match.py: --ratio must be in (0, 1], got {args.ratio}")
    tessera = common.import_tessera()
    try:
        size = common.parse_size(args.size)
    except ValueError as e:
        raise SystemExit(f"match.py: {e}")
    img_a, img_b = common.load_rgb(args.a), common.load_rgb(args.b)
    with tessera.Model(args.model) as model:
        patch = model.info.patch_size
        common.check_size(size, patch)
        feats = patch_features(model, [img_a, img_b], size, args.threads, args.layer)
    gh, gw = matching.grid_shape(size[1], size[0], patch)
    m = matching.mutual_nearest_neighbors(feats[0], feats[1], ratio=args.ratio, normalize=False,
                                         ratio_both=args.ratio_both)
    centers = matching.patch_centers(gh, gw, patch)

    ratio = f", ratio test {args.ratio}" if args.ratio else ""
    ratio += " (both directions)" if args.ratio and args.ratio_both else ""
    ratio += f", block {args.layer} tokens" if args.layer is not None else ""
    print(f"{args.a} ({img_a.size[0]}x{img_a.size[1]}) vs {args.b} ({img_b.size[0]}x{img_b.size[1]}), "
          f"run at {size[0]}x{size[1]} (PIL bicubic), grid {gh}x{gw}, patch {patch}")
    print(f"{len(m)} mutual nearest-neighbour matches of {gh * gw} patches{ratio}")
    if len(m):
        print(f"cosine similarity: median {np.median(m.similarity):.3f}, "
              f"min {m.similarity.min():.3f}, max {m.similarity.max():.3f}")
    ra, ca = matching.index_to_rowcol(m.a, gw)
    rb, cb = matching.index_to_rowcol(m.b, gw)
    for k in range(min(args.show, len(m))):
        print(f"  ({ra[k]:3d}, {ca[k]:3d}) -> ({rb[k]:3d}, {cb[k]:3d})  cos {m.similarity[k]:.3f}")
    if args.out:
        n = draw_matches(img_a, img_b, centers[m.a], centers[m.b], size, args.out, args.max_lines)
        print(f"wrote {args.out} ({n} of {len(m)} matches drawn)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
