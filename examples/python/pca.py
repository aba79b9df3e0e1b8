#!/usr/bin/env python3
"""The standard DINO picture: a photo's patch features, their first three
principal components shown as red, green and blue.

    python examples/python/pca.py MODEL IMAGE --out pca.png [--size 448] [--layer K]

numpy does the PCA (an SVD of the centred patch tokens); each component is
stretched over its 1st-99th percentile; the colour map is resized to the
photo (Pillow bicubic) and written beside it. `tessera pca` draws the same
picture from the command line (the sign of each component fixed the same
way: its largest coefficient positive).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def principal_colors(tokens: np.ndarray, k: int = 3) -> np.ndarray:
    """[N, D] features -> [N, 3] uint8: the first k principal components,
    each mapped to 0..255 over its 1st-99th percentile."""
    x = tokens.astype(np.float64)
    x -= x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps *= signs[:, None]
    scores = x @ comps.T
    lo = np.percentile(scores, 1, axis=0, method="lower")
    hi = np.percentile(scores, 99, axis=0, method="lower")
    return np.clip(np.rint((scores - lo) / np.maximum(hi - lo, 1e-12) * 255), 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("image")
    p.add_argument("--out", required=True)
    p.add_argument("--size", default="448", help="N or WIDTHxHEIGHT, a multiple of the patch (default 448)")
    p.add_argument("--layer", type=int, default=None, help="block K's tokens instead of the final ones")
    args = p.parse_args(argv)
    tessera = common.import_tessera()
    Image = common.import_pil()
    w, h = common.parse_size(args.size)
    with tessera.Model(args.model) as model:
        common.check_size((w, h), model.info.patch_size)
        key = common.feature_key(args.layer)
        with model.session(height=h, width=w, outputs=common.session_outputs(args.layer)) as session:
            photo = session.preprocess(np.asarray(common.load_rgb(args.image)))
            tokens = session.run(photo)[key][0]
        patches = common.patch_part(tokens[None], key, model.info.num_prefix_tokens)[0]
        gh, gw = h // model.info.patch_size, w // model.info.patch_size
    grid = principal_colors(patches).reshape(gh, gw, 3)
    colour = np.asarray(Image.fromarray(grid).resize((w, h), Image.BICUBIC))
    Image.fromarray(np.concatenate([photo, colour], axis=1)).save(args.out)
    print(f"wrote {args.out}: {2 * w}x{h}, {args.image} and its first three principal components as RGB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
