"""Retrieval (examples/python/retrieval.py): the numpy top-k against plain
loops, FAISS IndexFlatIP against numpy (skipped without faiss), and a fixture
model for which each image's slightly brightened copy must rank its own
original first among a handful of random images.

Needs numpy only; the FAISS tests skip with a reason when faiss is absent.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import helpers
import tessera

sys.path.insert(0, str(helpers.REPO / "examples" / "python"))
import retrieval  # noqa: E402

try:
    import faiss  # noqa: F401
    HAVE_FAISS = True
except ImportError:
    HAVE_FAISS = False
needs_faiss = pytest.mark.skipif(not HAVE_FAISS, reason="faiss is not installed "
                                 "(pip install faiss-cpu); the numpy reference is tested anyway")
FIXTURE = helpers.FIXTURES / "dinov2_hf"


def naive_topk(queries, corpus, k):
    """Cosine top-k with loops: sort by (-score, index)."""
    out_s, out_i = [], []
    for q in queries:
        q = np.asarray(q, np.float64)
        scores = []
        for j, c in enumerate(corpus):
            c = np.asarray(c, np.float64)
            nq, nc = np.linalg.norm(q), np.linalg.norm(c)
            scores.append((float(q @ c / (nq * nc)) if nq and nc else 0.0, j))
        scores.sort(key=lambda t: (-t[0], t[1]))
        top = scores[:k]
        out_s.append([s for s, _ in top])
        out_i.append([j for _, j in top])
    return np.array(out_s), np.array(out_i)


def test_topk_matches_naive_loops():
    rng = np.random.default_rng(0)
    for q, n, d, k in [(1, 1, 3, 1), (3, 10, 8, 4), (5, 37, 16, 37), (4, 20, 5, 50)]:
        queries = rng.standard_normal((q, d)) * rng.uniform(0.1, 10, (q, 1))
        corpus = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, (n, 1))
        s, i = retrieval.topk_cosine(queries, corpus, k)
        ws, wi = naive_topk(queries, corpus, k)
        assert s.shape == (q, min(k, n)) and i.dtype == np.int64
        np.testing.assert_array_equal(i, wi)
        np.testing.assert_allclose(s, ws, atol=1e-5)


def test_topk_ties_go_to_the_lower_index():
    corpus = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
    s, i = retrieval.topk_cosine(np.array([[1.0, 0.0]]), corpus, 5)
    assert i[0].tolist() == [0, 2, 3, 1, 4]
    np.testing.assert_allclose(s[0], [1, 1, 1, 0, 0], atol=1e-6)
    assert retrieval.rank_of((np.array([[1.0, 0.0]]) @ retrieval.l2_normalize(corpus).T)[0], 3) == 2


def test_topk_errors():
    with pytest.raises(ValueError):
        retrieval.topk_cosine(np.ones((1, 3)), np.ones((2, 4)), 1)
    with pytest.raises(ValueError):
        retrieval.topk_cosine(np.ones((1, 3)), np.ones((2, 3)), 0)


@needs_faiss
def test_faiss_flat_ip_agrees_with_numpy(tmp_path):
    rng = np.random.default_rng(1)
    corpus = rng.standard_normal((200, 24)).astype(np.float32)
    queries = rng.standard_normal((15, 24)).astype(np.float32)
    index = retrieval.FlatIPIndex.build(corpus)
    assert index.ntotal == 200
    s, i = index.search(queries, 10)
    ws, wi = retrieval.topk_cosine(queries, corpus, 10)
    np.testing.assert_array_equal(i, wi)
    np.testing.assert_allclose(s, ws, atol=1e-5)
    path = tmp_path / "index.faiss"
    index.save(path)
    s2, i2 = retrieval.FlatIPIndex.load(path).search(queries, 10)
    np.testing.assert_array_equal(i2, i)
    np.testing.assert_allclose(s2, s)


def _random_images(n, size, seed):
    """Random colour images (uniform per-pixel noise), uint8 NHWC."""
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


@pytest.mark.skipif(not (FIXTURE / "model.safetensors").is_file(), reason=f"no fixture {FIXTURE}")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixture_model_brightened_copies_find_their_originals(seed):
    # The fixture is a tiny random model: its CLS embeddings of noise images
    # are all close (cosine ~0.99), so the margins are small (~0.006 for
    # these seeds) but far above float noise (~1e-6).
    size, n = 56, 6
    originals = _random_images(n, size, seed)
    copies = np.clip(originals.astype(np.int16) + 8, 0, 255).astype(np.uint8)
    with tessera.Model(FIXTURE) as model:
        with model.session(batch=n, height=size, width=size, threads=1) as s:
            corpus = retrieval.l2_normalize(s.run(originals)["embedding"])
            queries = retrieval.l2_normalize(s.run(copies)["embedding"])
    scores, idx = retrieval.topk_cosine(queries, corpus, n, normalize=False)
    assert idx[:, 0].tolist() == list(range(n)), (idx, scores)
    assert np.all(scores[:, 0] - scores[:, 1] > 1e-3), scores
    if HAVE_FAISS:
        fs, fi = retrieval.FlatIPIndex.build(corpus, normalize=False).search(queries, n, normalize=False)
        np.testing.assert_array_equal(fi, idx)
        np.testing.assert_allclose(fs, scores, atol=1e-5)
