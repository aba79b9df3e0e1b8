#!/usr/bin/env python3
"""Retrieval demonstration: transformed copies must find their originals.

    python examples/python/retrieval_demo.py MODEL [--photos data/photos] [--size 224] [--no-doc]
        [--precision int8]

The photos (scripts/fetch_photos.sh) are the corpus, indexed exactly as
examples/python/retrieve.py does it (CLS embedding after the final norm,
L2-normalized, FAISS IndexFlatIP; PIL bicubic resize to --size). Copies of
every photo, made by known transforms at the photo's own resolution, are the
queries (written to --copies, default data/retrieval_copies):

  crop70    the central 70%, resized back
  crop50tl  the top-left 60% x 60% box, resized back (an off-centre crop)
  rot10     rotated 10° about the centre (bicubic, mean-colour corners)
  rot15     rotated 15°
  shift10   moved right by 10% of the width (mean-colour band)
  bright    contrast x1.3, brightness +30
  dark      contrast x0.8, brightness -40
  flip      mirrored left-right
  blur      Gaussian blur, radius 2% of the shorter side
  jpeg30    re-encoded as JPEG at quality 30
  gray      converted to grey (and back to RGB)

A copy passes when its own original is the first result. The report (a
Markdown table per transform and the failures, if any) is printed and, unless
--no-doc, written into docs/matching.md between the retrieval_demo markers.
The FAISS ranking is also checked against numpy brute force. --layer and
--pool choose another embedding (e.g. --layer 9 for a fine-tuned model whose
last blocks were specialised); the doc section is then named after them.
Exits 1 when some copy does not find its original first.
"""

from __future__ import annotations

import argparse
import datetime
import io
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402
import retrieval  # noqa: E402
import retrieve  # noqa: E402

REPO = common.REPO
DOC = REPO / "docs" / "matching.md"


def copy_transforms():
    from PIL import Image, ImageFilter, ImageOps

    def crop(frac_box):
        def f(im):
            w, h = im.size
            l, t, r, b = frac_box
            return common.crop_scale_image(im, (l * w, t * h, r * w, b * h))
        return f

    def jpeg(im, q=30):
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=q)
        buf.seek(0)
        return Image.open(buf).convert("RGB")

    return [
        ("crop70", crop((0.15, 0.15, 0.85, 0.85))),
        ("crop50tl", crop((0.0, 0.0, 0.6, 0.6))),
        ("rot10", lambda im: common.rotate_image(im, 10)),
        ("rot15", lambda im: common.rotate_image(im, 15)),
        ("shift10", lambda im: common.shift_image(im, int(round(0.1 * im.size[0])))),
        ("bright", lambda im: common.brightness_contrast(im, 1.3, 30)),
        ("dark", lambda im: common.brightness_contrast(im, 0.8, -40)),
        ("flip", lambda im: ImageOps.mirror(im)),
        ("blur", lambda im: im.filter(ImageFilter.GaussianBlur(0.02 * min(im.size)))),
        ("jpeg30", jpeg),
        ("gray", lambda im: ImageOps.grayscale(im).convert("RGB")),
    ]


def make_copies(photos, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    made = []   # (copy path, original index, transform name)
    for i, p in enumerate(photos):
        im = common.load_rgb(p)
        for name, f in copy_transforms():
            dst = out / f"{p.stem}__{name}.png"
            f(im).save(dst)
            made.append((dst, i, name))
    return made


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model directory (config.json + model.safetensors)")
    p.add_argument("--photos", default=str(REPO / "data" / "photos"),
                   help="corpus directory (default data/photos; scripts/fetch_photos.sh)")
    p.add_argument("--copies", default=str(REPO / "data" / "retrieval_copies"),
                   help="where the transformed copies are written (default data/retrieval_copies)")
    p.add_argument("--size", default="224", help="run size N or WIDTHxHEIGHT, PIL bicubic (default 224)")
    p.add_argument("--layer", type=int, default=None,
                   help="embed with block K's tokens (0-based, before the final norm)")
    p.add_argument("--pool", choices=("cls", "mean"), default="cls",
                   help="CLS token (default) or mean patch token")
    p.add_argument("--exclude", nargs="*", default=["motorcycle_right.png"],
                   help="photos left out of the corpus (default: motorcycle_right.png, the "
                        "second view of the motorcycle_left scene, which is the same image "
                        "for retrieval purposes)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--no-doc", action="store_true", help="do not write docs/matching.md")
    p.add_argument("--precision", default="fp32", choices=["fp32", "int8"],
                   help="the sessions' arithmetic (default fp32)")
    args = p.parse_args(argv)

    tessera = common.import_tessera()
    photos_dir = Path(args.photos)
    if not photos_dir.is_dir() or not common.list_images(photos_dir):
        raise SystemExit(f"retrieval_demo: no photos in {photos_dir}; run scripts/fetch_photos.sh")
    size = common.parse_size(args.size)
    t0 = time.perf_counter()
    with tessera.Model(args.model) as model:
        info = model.info
        common.check_size(size, info.patch_size)
        paths, index, emb = retrieve.corpus_index(model, args.model, photos_dir, size, None,
                                                  args.batch, args.threads, args.layer,
                                                  args.pool, args.exclude, args.precision)
        copies = make_copies(paths, Path(args.copies))
        q = retrieve.embed_paths(model, [c for c, _, _ in copies], size, args.batch,
                                 args.threads, args.layer, args.pool, args.precision)
    n = len(paths)
    scores, idx = retrieve.search(index, emb, q, n)
    ref_scores, ref_idx = retrieval.topk_cosine(q, emb, n, normalize=False)
    same_order = bool(np.array_equal(idx, ref_idx))
    max_diff = float(np.max(np.abs(scores - ref_scores)))
    seconds = time.perf_counter() - t0

    full = q @ emb.T
    per_tf = {}
    failures = []
    for k, (path, orig, tf) in enumerate(copies):
        rank = retrieval.rank_of(full[k], orig)
        own = float(full[k, orig])
        others = np.delete(full[k], orig)
        margin = own - float(others.max()) if others.size else float("nan")
        d = per_tf.setdefault(tf, {"n": 0, "top1": 0, "own": [], "margin": []})
        d["n"] += 1
        d["top1"] += int(idx[k, 0] == orig)
        d["own"].append(own)
        d["margin"].append(margin)
        if idx[k, 0] != orig:
            failures.append(f"- `{path.name}`: first `{paths[idx[k, 0]].name}` "
                            f"({scores[k, 0]:.3f}), own original `{paths[orig].name}` "
                            f"rank {rank + 1} ({own:.3f})")

    total = len(copies)
    top1 = sum(d["top1"] for d in per_tf.values())
    lines = ["| copy transform | queries | original first | mean cosine to own original "
             "| min margin over the next image |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for tf, d in per_tf.items():
        lines.append(f"| {tf} | {d['n']} | {d['top1']}/{d['n']} | {np.mean(d['own']):.3f} "
                     f"| {np.min(d['margin']):+.3f} |")
    lines.append(f"| **all** | {total} | **{top1}/{total}** | "
                 f"{np.mean([s for d in per_tf.values() for s in d['own']]):.3f} | "
                 f"{min(m for d in per_tf.values() for m in d['margin']):+.3f} |")
    report = "\n".join(lines)
    how = "FAISS IndexFlatIP" if index is not None else "numpy brute force (faiss not installed)"
    excluded = f" (left out: {', '.join(args.exclude)})" if args.exclude else ""
    header = (f"Model `{args.model}` ({info.architecture}, hidden {info.hidden_size}), corpus: "
              f"the {n} photos of `{photos_dir.name}/` ({', '.join(p.name for p in paths)})"
              f"{excluded}; queries: {total} transformed copies ({len(per_tf)} per photo). "
              f"Embedding: {retrieve.describe(args.layer, args.pool)}, {args.precision}, at {size[0]}x{size[1]} "
              f"(PIL bicubic), "
              f"searched with {how}. The margin is the cosine to the own original minus the "
              f"best cosine to any other photo (negative: a failure).")
    check = (f"FAISS ranking identical to numpy brute force: {same_order} "
             f"(largest score difference {max_diff:.2e}).") if index is not None else ""
    print(header)
    print()
    print(report)
    print()
    if failures:
        print("Copies whose original was not first:")
        print("\n".join(failures))
        print()
    if check:
        print(check)
    print(f"({seconds:.1f} s)")

    if not args.no_doc:
        cmd = "python " + " ".join(shlex.quote(a) for a in
                                   ["examples/python/retrieval_demo.py"]
                                   + list(argv if argv is not None else sys.argv[1:]))
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        parts = [f"Measured {date} on {platform.machine()} (kernels {info.isa_name}) with:", "",
                 "```sh", cmd, "```", "", header, "", report, ""]
        if failures:
            parts += ["Copies whose original was not first:", "", *failures, ""]
        else:
            parts += [f"Every copy retrieved its own original first ({top1}/{total}).", ""]
        if check:
            parts.append(check)
        name = "retrieval_demo"
        if args.layer is not None or args.pool != "cls":
            name += f" {args.pool}" + (f" layer {args.layer}" if args.layer is not None else "")
        if args.precision == "int8":
            name += " int8"
        common.update_doc_section(DOC, name, "\n".join(parts))
        print(f"wrote {DOC.relative_to(REPO)}")
    return 0 if top1 == total else 1


if __name__ == "__main__":
    sys.exit(main())
