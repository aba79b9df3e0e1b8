#!/usr/bin/env python3
"""Find the images of a directory most similar to a query image.

    python examples/python/retrieve.py MODEL DIR --query IMG [--k 5] [--index index.faiss]

Every image directly in DIR is resized to the run size with Pillow's BICUBIC
resampler (default 224x224, no crop or padding), run through Tessera, and its
global embedding (the CLS token after the final norm; --layer and --pool
choose another) is L2-normalized. The
embeddings go into a FAISS IndexFlatIP (exact inner product, which is the
cosine for unit vectors); the query is embedded the same way and the top k are
printed with their cosine similarity.

--index PATH saves the index (and PATH.json, the list of files it holds and
how they were embedded); a later run with the same DIR, model and size loads
it instead of embedding DIR again. Without faiss (pip install faiss-cpu) the
search falls back to numpy brute force, which gives the same ranking.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import retrieval  # noqa: E402


def describe(layer=None, pool="cls") -> str:
    """What embed_images returns, in words."""
    what = "CLS token" if pool == "cls" else "mean of the patch tokens"
    where = "after the final norm" if layer is None else f"of block {layer} (before the final norm)"
    return f"{what} {where}, L2-normalized"


def global_features(out: dict, layer, pool: str, prefix: int) -> np.ndarray:
    """[N, D] from one run's outputs: the CLS token or the mean patch token, of
    the final norm's output or of block ``layer``'s."""
    if pool not in ("cls", "mean"):
        raise ValueError(f"pool must be 'cls' or 'mean', got {pool!r}")
    if layer is None:
        return out["embedding"] if pool == "cls" else out["patch_tokens"].mean(axis=1)
    tokens = out[f"layer_{int(layer)}"]
    return tokens[:, 0] if pool == "cls" else tokens[:, prefix:].mean(axis=1)


def embed_images(model, images: Sequence, size: Tuple[int, int], batch: int = 8,
                 threads: int = 0, layer=None, pool: str = "cls", precision: str = "fp32") -> np.ndarray:
    """L2-normalized global embeddings [N, D] of Pillow images, resized (PIL
    bicubic) to size = (width, height). Default: the model's embedding output
    (CLS after the final norm); see ``describe`` for the others."""
    w, h = size
    batch = max(1, min(batch, len(images)))
    resized = [common.resize(im, size) for im in images]
    prefix = model.info.num_prefix_tokens
    out = []
    with model.session(batch=batch, height=h, width=w, threads=threads,
                       outputs=common.session_outputs(layer, pool), precision=precision) as session:
        for start in range(0, len(resized), batch):
            res = session.run(common.to_array(resized[start:start + batch]))
            out.append(global_features(res, layer, pool, prefix))
    return retrieval.l2_normalize(np.concatenate(out, axis=0))


def embed_paths(model, paths: Sequence[Path], size, batch: int = 8, threads: int = 0,
                layer=None, pool: str = "cls", precision: str = "fp32") -> np.ndarray:
    out = []
    for start in range(0, len(paths), 64):   # bounded memory for large directories
        images = [common.load_rgb(p) for p in paths[start:start + 64]]
        out.append(embed_images(model, images, size, batch, threads, layer, pool, precision))
    return np.concatenate(out, axis=0)


def _manifest(model_dir, size, paths: List[Path], layer=None, pool="cls", precision="fp32") -> dict:
    return {
        "model": str(Path(model_dir).resolve()),
        "size": list(size),
        "embedding": describe(layer, pool) + "; PIL bicubic resize" + ("; int8" if precision == "int8" else ""),
        "files": [{"name": p.name, "bytes": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
                  for p in paths],
    }


def corpus_index(model, model_dir, directory: Path, size, index_path, batch, threads,
                 layer=None, pool="cls", exclude=(), precision="fp32"):
    """(paths, index or None, embeddings or None): loads --index when it matches,
    else embeds the directory (and saves the index when asked)."""
    paths = [p for p in common.list_images(directory) if p.name not in set(exclude)]
    if not paths:
        raise SystemExit(f"retrieve: no images in {directory}")
    manifest = _manifest(model_dir, size, paths, layer, pool, precision)
    if index_path is not None:
        side = Path(str(index_path) + ".json")
        if Path(index_path).is_file() and side.is_file():
            try:
                if json.loads(side.read_text()) == manifest:
                    index = retrieval.FlatIPIndex.load(index_path)
                    print(f"loaded {index_path} ({index.ntotal} images)")
                    return paths, index, None
            except (OSError, ValueError, RuntimeError):
                pass
            print(f"{index_path} is stale or unreadable; rebuilding")
    emb = embed_paths(model, paths, size, batch, threads, layer, pool, precision)
    if not retrieval.have_faiss():
        if index_path is not None:
            raise SystemExit("retrieve: --index needs faiss: pip install faiss-cpu")
        print("faiss is not installed (pip install faiss-cpu); using numpy brute force",
              file=sys.stderr)
        return paths, None, emb
    index = retrieval.FlatIPIndex.build(emb, normalize=False)
    if index_path is not None:
        index.save(index_path)
        Path(str(index_path) + ".json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"wrote {index_path} ({index.ntotal} images)")
    return paths, index, emb


def search(index, emb, queries: np.ndarray, k: int):
    if index is not None:
        return index.search(queries, k, normalize=False)
    return retrieval.topk_cosine(queries, emb, k, normalize=False)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Resampling: Pillow Image.resize(..., Image.BICUBIC) to the run size; "
               "embedding: CLS token after the final norm, L2-normalized.",
    )
    p.add_argument("model", help="model directory (config.json + model.safetensors)")
    p.add_argument("dir", help="directory of images (not recursive)")
    p.add_argument("--query", required=True, help="query image")
    p.add_argument("--k", type=int, default=5, help="results to print (default 5)")
    p.add_argument("--index", default=None,
                   help="save the FAISS index here (and reuse it when DIR, model and size match)")
    p.add_argument("--size", default="224",
                   help="run size N or WIDTHxHEIGHT, PIL bicubic resize (default 224)")
    p.add_argument("--layer", type=int, default=None,
                   help="use block K's tokens (0-based, before the final norm) instead of the "
                        "final ones")
    p.add_argument("--pool", choices=("cls", "mean"), default="cls",
                   help="global embedding: the CLS token (default) or the mean patch token")
    p.add_argument("--batch", type=int, default=8, help="images per run (default 8)")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.k < 1:
        raise SystemExit("retrieve: --k must be >= 1")

    tessera = common.import_tessera()
    size = common.parse_size(args.size)
    with tessera.Model(args.model) as model:
        common.check_size(size, model.info.patch_size)
        paths, index, emb = corpus_index(model, args.model, Path(args.dir), size, args.index,
                                         args.batch, args.threads, args.layer, args.pool)
        query = embed_images(model, [common.load_rgb(args.query)], size, 1, args.threads,
                             args.layer, args.pool)
    scores, idx = search(index, emb, query, args.k)
    how = "FAISS IndexFlatIP" if index is not None else "numpy brute force"
    print(f"query {args.query}: top {scores.shape[1]} of {len(paths)} images in {args.dir} "
          f"({how}; cosine of the {describe(args.layer, args.pool)}, at {size[0]}x{size[1]})")
    for rank, (s, i) in enumerate(zip(scores[0], idx[0]), start=1):
        print(f"  {rank:2d}. {s:+.4f}  {paths[i].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
