#!/usr/bin/env python3
"""Accuracy of patch matching where the truth is known.

    python scripts/match_accuracy.py MODEL [--size 448] [--photos data/photos] [--no-doc]
        [--precision int8]

For each photo (default: astronaut, coffee, chelsea, rocket), the photo is
resized to the run size (Pillow BICUBIC, square unless --size WxH) and paired
with copies made by known transforms at that size:

  crop+scale 70%     the central 70% box resized back (bicubic)
  shift 10%          content moved right by round(10% of the width) pixels,
                     the uncovered band filled with the image's mean colour
  shift 1 patch      content moved right by exactly one patch
  rotate 5/10/15     Pillow rotate about the centre, bicubic, corners filled
                     with the mean colour
  contrast+bright    v -> clip((v - 128) * 1.3 + 128 + 30)

Patch tokens of the original and the copy are L2-normalized and matched by
mutual nearest neighbours (cosine; --ratio adds Lowe's test). Each matched
patch centre of the original is mapped through the transform; the match is
correct when it lands within one patch (less than patch_size pixels at the
run size, Euclidean) of the centre of the patch it was matched to; the last
column uses half a patch.

Also the rectified Middlebury stereo pair motorcycle_left/right: a match is
geometrically right when its vertical offset is at most one patch and its
disparity x_left - x_right is not negative.

Prints a Markdown table and writes it into docs/matching.md with the command
and the date, unless --no-doc: between the markers <!-- BEGIN match_accuracy -->
and <!-- END match_accuracy --> (names extended by " layer K" and " ratio R"
when those options are given), appended at the end when they are missing.
Run scripts/fetch_photos.sh first for the photos.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples" / "python"))
import common  # noqa: E402
import matching  # noqa: E402

DOC = REPO / "docs" / "matching.md"
DEFAULT_PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")


def transforms(size, patch):
    """[(label, make_image(pil) -> pil, point map)] at run size (w, h)."""
    w, h = size
    dx = int(round(0.10 * w))
    f = 0.70
    box = ((1 - f) / 2 * w, (1 - f) / 2 * h, (1 + f) / 2 * w, (1 + f) / 2 * h)
    out = [
        ("crop+scale (central 70%)", lambda im: common.crop_scale_image(im, box),
         matching.CropScale(box, w, h)),
        (f"shift right 10% ({dx} px)", lambda im: common.shift_image(im, dx),
         matching.Shift(dx)),
        (f"shift right 1 patch ({patch} px)", lambda im: common.shift_image(im, patch),
         matching.Shift(patch)),
    ]
    for deg in (5, 10, 15):
        out.append((f"rotate {deg}°", lambda im, d=deg: common.rotate_image(im, d),
                    matching.Rotate(deg, w / 2, h / 2)))
    out.append(("contrast ×1.3, brightness +30", lambda im: common.brightness_contrast(im, 1.3, 30),
                matching.Identity()))
    return out


def features(session, images, layer, prefix):
    key = common.feature_key(layer)
    tokens = common.run_batches(session, images, session.batch, key)
    return matching.l2_normalize(common.patch_part(tokens, key, prefix))


def measure(model_dir, size, photos_dir, names, ratio, threads, layer=None, precision="fp32"):
    tessera = common.import_tessera()
    rows, per_photo = [], {}
    with tessera.Model(model_dir) as model:
        patch = model.info.patch_size
        common.check_size(size, patch)
        gh, gw = matching.grid_shape(size[1], size[0], patch)
        centers = matching.patch_centers(gh, gw, patch)
        tfs = transforms(size, patch)
        batch = 1 + len(tfs)
        prefix = model.info.num_prefix_tokens
        with model.session(batch=batch, height=size[1], width=size[0], threads=threads,
                           outputs=common.session_outputs(layer), precision=precision) as session:
            stats = {label: [] for label, _, _ in tfs}
            for name in names:
                orig = common.resize(common.load_rgb(photos_dir / name), size)
                images = [orig] + [make(orig) for _, make, _ in tfs]
                feats = features(session, images, layer, prefix)
                for k, (label, _, tf) in enumerate(tfs, start=1):
                    m = matching.mutual_nearest_neighbors(feats[0], feats[k], ratio=ratio,
                                                          normalize=False)
                    ok = matching.correct_matches(m, centers, centers, tf, tolerance=patch)
                    half = matching.correct_matches(m, centers, centers, tf, tolerance=patch / 2)
                    stats[label].append((len(m), int(ok.sum()), int(half.sum())))
                    per_photo.setdefault(name, {})[label] = (len(m), int(ok.sum()))
            for label, _, _ in tfs:
                s = stats[label]
                n = sum(a for a, _, _ in s)
                good = sum(b for _, b, _ in s)
                half = sum(c for _, _, c in s)
                nan = float("nan")
                rows.append((label, len(s), n / max(len(s), 1), good / n if n else nan,
                             half / n if n else nan))

            stereo = None
            left, right = photos_dir / "motorcycle_left.png", photos_dir / "motorcycle_right.png"
            if left.is_file() and right.is_file():
                imgs = [common.resize(common.load_rgb(p), size) for p in (left, right)]
                feats = features(session, imgs, layer, prefix)
                m = matching.mutual_nearest_neighbors(feats[0], feats[1], ratio=ratio, normalize=False)
                ok = matching.stereo_consistent(m, centers, centers, max_dy=patch)
                disp = (centers[m.a, 0] - centers[m.b, 0])[ok] if len(m) else np.zeros(0)
                stereo = (len(m), int(ok.sum()), float(np.median(disp)) if disp.size else float("nan"))
        info = model.info
    return rows, per_photo, stereo, info, gh * gw


def table(rows, stereo, size, patch):
    lines = ["| transform | pairs | matches per pair (mean) | precision | precision (< ½ patch) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, pairs, mean, prec, half in rows:
        lines.append(f"| {label} | {pairs} | {mean:.1f} | {prec:.3f} | {half:.3f} |")
    if stereo is not None:
        n, good, med = stereo
        prec = good / n if n else float("nan")
        lines.append(f"| stereo motorcycle_left/right (dy ≤ {patch} px, disparity ≥ 0) | 1 | "
                     f"{n:.1f} | {prec:.3f} | – |")
    return "\n".join(lines)


def per_photo_table(per_photo, labels):
    head = "| photo | " + " | ".join(labels) + " |"
    lines = [head, "| --- |" + " ---: |" * len(labels)]
    for name, d in per_photo.items():
        cells = []
        for label in labels:
            n, good = d[label]
            cells.append(f"{good}/{n}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="Resampling: PIL Image.resize(..., BICUBIC) to the run size.")
    p.add_argument("model", help="model directory (config.json + model.safetensors)")
    p.add_argument("--size", default="448", help="run size N or WIDTHxHEIGHT, PIL bicubic (default 448)")
    p.add_argument("--photos", default=str(REPO / "data" / "photos"),
                   help="photo directory (scripts/fetch_photos.sh; default data/photos)")
    p.add_argument("--images", nargs="+", default=list(DEFAULT_PHOTOS),
                   help="photo file names in --photos (default: %(default)s)")
    p.add_argument("--ratio", type=float, default=None, help="Lowe ratio test (default: none)")
    p.add_argument("--layer", type=int, default=None,
                   help="match block K's patch tokens (0-based, before the final norm) instead "
                        "of the final ones")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--no-doc", action="store_true", help="do not write docs/matching.md")
    p.add_argument("--precision", default="fp32", choices=["fp32", "int8"],
                   help="the session's arithmetic (default fp32)")
    args = p.parse_args(argv)

    photos = Path(args.photos)
    missing = [n for n in args.images if not (photos / n).is_file()]
    if missing:
        raise SystemExit(f"match_accuracy: missing {', '.join(missing)} in {photos}; "
                         f"run scripts/fetch_photos.sh {photos}")
    size = common.parse_size(args.size)
    t0 = time.perf_counter()
    rows, per_photo, stereo, info, npatch = measure(args.model, size, photos, args.images,
                                                    args.ratio, args.threads, args.layer, args.precision)
    seconds = time.perf_counter() - t0
    patch = info.patch_size

    main_table = table(rows, stereo, size, patch)
    detail = per_photo_table(per_photo, [r[0] for r in rows])
    cmd = "python " + " ".join(shlex.quote(a) for a in
                               [str(Path(sys.argv[0]).resolve().relative_to(REPO))
                                if Path(sys.argv[0]).resolve().is_relative_to(REPO) else sys.argv[0]]
                               + list(argv if argv is not None else sys.argv[1:]))
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ratio = (f"Lowe ratio test {args.ratio} (original -> copy)" if args.ratio
             else "no ratio test")
    tokens = ("final patch tokens (after the last norm)" if args.layer is None
              else f"patch tokens of block {args.layer} (0-based, before the final norm)")
    header = (f"Model `{args.model}` ({info.architecture}, hidden {info.hidden_size}, "
              f"{args.precision}, "
              f"patch {patch}), run at {size[0]}x{size[1]} ({npatch} patches), "
              f"PIL bicubic resize, {tokens}, mutual nearest neighbours by cosine, {ratio}; "
              f"correct = the true position of the original patch's centre is less than "
              f"{patch} px (one patch) from the matched patch's centre (last column: "
              f"{patch / 2:g} px). "
              f"Photos: {', '.join(args.images)}.")
    print(header)
    print()
    print(main_table)
    print()
    print("Correct/total matches per photo:")
    print()
    print(detail)
    print(f"\n({seconds:.1f} s, kernels {info.isa_name})")

    if not args.no_doc:
        section = "\n".join([
            f"Measured {date} on {platform.machine()} (kernels {info.isa_name}) with:",
            "",
            "```sh",
            cmd,
            "```",
            "",
            header,
            "",
            main_table,
            "",
            "Correct/total matches per photo:",
            "",
            detail,
        ])
        name = "match_accuracy"
        name += f" layer {args.layer}" if args.layer is not None else ""
        name += f" ratio {args.ratio:g}" if args.ratio else ""
        name += " int8" if args.precision == "int8" else ""
        common.update_doc_section(DOC, name, section)
        print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
