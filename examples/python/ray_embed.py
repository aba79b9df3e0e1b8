#!/usr/bin/env python3
"""Embed a folder of photos with Ray Data, one Tessera session per actor,
then index the embeddings with FAISS and query them.

    python examples/python/ray_embed.py MODEL DIR --out OUT_DIR [--actors 2] [--batch 8]
        [--cpus-per-actor 1] [--size 224] [--query IMAGE] [--repeat R] [--address auto]

The pipeline is Ray Data's own: `read_images` decodes (Pillow, RGB), then
`map_batches(Embedder, compute=ActorPoolStrategy(size=N))` runs each batch
through an actor that holds one `tessera.Model` and one session with the CPUs
Ray gives it; the library resizes each photo (`session.preprocess`, Pillow's
bicubic byte for byte), so every embedding is bit for bit what
`tessera embed MODEL DIR` writes for the same file.

Writes OUT_DIR/embeddings.npy (float32 [N, D], CLS after the final norm, as
`tessera embed`), OUT_DIR/paths.txt (row order), OUT_DIR/embeddings.parquet
(path + embedding, from Ray) and OUT_DIR/index.faiss (inner product on the
L2-normalized embeddings), then prints the top matches of --query (default:
the first photo).

On one machine it starts a local Ray with the machine's cores (`--cpus` to
cap them); with `--address auto` (or ray://HOST:10001) it joins a running
cluster instead, and the same script spreads the actors over its nodes: the
model directory and the photos must then be readable at the same paths on
every node (a shared filesystem, or object storage paths that
`ray.data.read_images` understands, such as s3://bucket/photos).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402


class Embedder:
    """A Ray Data actor: one model, one session, `threads` CPUs."""

    def __init__(self, model_dir: str, height: int, width: int, batch: int, threads: int):
        tessera = common.import_tessera()
        self.model = tessera.Model(model_dir)
        self.session = self.model.session(batch=batch, height=height, width=width, threads=threads,
                                          outputs=["embedding"])

    def __call__(self, rows: dict) -> dict:
        photos = [np.asarray(im, dtype=np.uint8) for im in rows["image"]]
        out = np.empty((len(photos), self.model.info.hidden_size), np.float32)
        b = self.session.batch
        for start in range(0, len(photos), b):
            chunk = photos[start:start + b]
            out[start:start + len(chunk)] = self.session.run(chunk)["embedding"]
        return {"path": np.asarray(rows["path"]), "embedding": out}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model directory (config.json + model.safetensors)")
    p.add_argument("photos", help="a directory of PNG/JPEG photos (or a path Ray reads, e.g. s3://...)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--actors", type=int, default=1, help="actors in the pool (default 1)")
    p.add_argument("--cpus-per-actor", type=int, default=1, help="CPUs (and Tessera threads) per actor")
    p.add_argument("--batch", type=int, default=8, help="images per map_batches batch and per run")
    p.add_argument("--size", default=None, help="run size N or WIDTHxHEIGHT (default: the model's trained size)")
    p.add_argument("--query", default=None, help="photo to search for (default: the first one)")
    p.add_argument("--top", type=int, default=3)
    p.add_argument("--repeat", type=int, default=1, help="read the photos R times (a larger corpus for timing)")
    p.add_argument("--address", default=None, help="a running Ray cluster (auto, ray://...); default: start one here")
    p.add_argument("--cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    return p.parse_args(argv)


def embed(args) -> tuple:
    import ray
    from ray.data import ActorPoolStrategy

    tessera = common.import_tessera()
    with tessera.Model(args.model) as m:
        info = m.info
    if args.size:
        w, h = common.parse_size(args.size)
        common.check_size((w, h), info.patch_size)
    else:
        h, w = info.image_height, info.image_width
    paths = [str(p) for p in common.list_images(args.photos)] if os.path.isdir(args.photos) else [args.photos]
    if not paths:
        raise SystemExit(f"ray_embed: no PNG or JPEG files in {args.photos}")
    # Decoding is light next to the model: the read tasks claim no CPU, so
    # that actors holding every CPU of a small cluster do not starve them,
    # and there are few of them (each starts a Python worker process).
    files = paths * args.repeat
    ds = ray.data.read_images(files, mode="RGB", include_paths=True, num_cpus=0,
                              override_num_blocks=max(1, min(len(files), 2 * args.actors)))
    t0 = time.perf_counter()
    out = ds.map_batches(
        Embedder,
        fn_constructor_kwargs=dict(model_dir=os.path.abspath(args.model), height=h, width=w,
                                   batch=args.batch, threads=args.cpus_per_actor),
        batch_size=args.batch, batch_format="numpy",
        compute=ActorPoolStrategy(size=args.actors), num_cpus=args.cpus_per_actor)
    out = out.materialize()
    seconds = time.perf_counter() - t0
    if os.environ.get("RAY_EMBED_STATS"):
        print(out.stats())
    rows = out.take_all()
    # Ray keeps no order across actors: sort back to the files' order.
    order = {p: i for i, p in enumerate(paths)}
    rows.sort(key=lambda r: order.get(str(r["path"]), len(order)))
    emb = np.stack([np.asarray(r["embedding"], np.float32) for r in rows])
    got_paths = [str(r["path"]) for r in rows]
    os.makedirs(args.out, exist_ok=True)
    out.write_parquet(os.path.join(os.path.abspath(args.out), "embeddings.parquet"))
    return emb, got_paths, seconds, (h, w)


def main(argv=None) -> int:
    args = parse_args(argv)
    import faiss
    import ray

    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        emb, paths, seconds, (h, w) = embed(args)
    finally:
        ray.shutdown()
    np.save(os.path.join(args.out, "embeddings.npy"), emb)
    with open(os.path.join(args.out, "paths.txt"), "w") as f:
        f.write("\n".join(paths) + "\n")
    n = len(paths)
    print(f"embedded {n} photos at {h}x{w} with {args.actors} actor(s) x {args.cpus_per_actor} CPU(s): "
          f"{seconds:.2f} s, {n / seconds:.1f} images/s")
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(unit.shape[1])
    index.add(unit)
    faiss.write_index(index, os.path.join(args.out, "index.faiss"))
    q = paths.index(args.query) if args.query in paths else 0
    scores, ids = index.search(unit[q:q + 1], min(args.top + 1, n))
    print(f"nearest to {Path(paths[q]).name}:")
    for s, i in zip(scores[0], ids[0]):
        print(f"  {s:.4f}  {Path(paths[i]).name}")
    print(f"wrote {args.out}/embeddings.npy, paths.txt, embeddings.parquet, index.faiss")
    return 0


if __name__ == "__main__":
    sys.exit(main())
