"""Image retrieval by cosine similarity of global embeddings.

Used by examples/python/retrieve.py, examples/python/retrieval_demo.py and
tests/python/test_retrieval.py.

- ``l2_normalize``: unit-length rows (cosine = inner product).
- ``topk_cosine``: brute-force top-k in numpy, the reference. Ties go to the
  lower corpus index, so the order is fully determined.
- ``FlatIPIndex``: the same search with a FAISS ``IndexFlatIP`` (exact inner
  product) over normalized vectors; faiss is imported only when an index is
  made (``have_faiss()`` says whether it can be).

numpy is the only import needed to use the reference.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

__all__ = ["l2_normalize", "topk_cosine", "have_faiss", "FlatIPIndex", "rank_of"]


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """float32 copy of x with unit L2 norm along ``axis`` (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), np.float32(eps))


def topk_cosine(queries: np.ndarray, corpus: np.ndarray, k: int,
                normalize: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(scores [Q, k'], indices [Q, k']) of the k most cosine-similar corpus rows
    to each query, best first; k' = min(k, N). Ties: lower index first."""
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    c = np.atleast_2d(np.asarray(corpus, dtype=np.float32))
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries are {q.shape[1]}-d, the corpus {c.shape[1]}-d")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if normalize:
        q, c = l2_normalize(q), l2_normalize(c)
    k = min(k, c.shape[0])
    scores = q @ c.T                                          # [Q, N]
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # stable: ties by index
    return np.take_along_axis(scores, order, axis=1), order.astype(np.int64)


def rank_of(scores_row: np.ndarray, target: int) -> int:
    """0-based rank of corpus item ``target`` in one query's full score row
    (ties broken by index, as in ``topk_cosine``)."""
    s = np.asarray(scores_row)
    better = np.sum(s > s[target]) + np.sum((s == s[target]) & (np.arange(s.size) < target))
    return int(better)


def have_faiss() -> bool:
    """Whether faiss imports (pip install faiss-cpu)."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class FlatIPIndex:
    """Exact cosine search with FAISS: IndexFlatIP over L2-normalized vectors."""

    def __init__(self, dim: int, index=None):
        import faiss  # noqa: F401 — raises ImportError with pip's hint below if absent

        self.faiss = faiss
        self.index = index if index is not None else faiss.IndexFlatIP(int(dim))
        if self.index.d != dim:
            raise ValueError(f"index is {self.index.d}-d, expected {dim}")

    @classmethod
    def build(cls, vectors: np.ndarray, normalize: bool = True) -> "FlatIPIndex":
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        self = cls(v.shape[1])
        self.add(v, normalize)
        return self

    def add(self, vectors: np.ndarray, normalize: bool = True) -> None:
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        v = l2_normalize(v) if normalize else v
        self.index.add(np.ascontiguousarray(v))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int,
               normalize: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """(scores [Q, k'], indices [Q, k']), best first, k' = min(k, ntotal)."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        q = l2_normalize(q) if normalize else q
        k = min(int(k), self.ntotal)
        if k < 1:
            raise ValueError("search needs k >= 1 and a non-empty index")
        scores, idx = self.index.search(np.ascontiguousarray(q), k)
        return scores, idx.astype(np.int64)

    def save(self, path) -> None:
        self.faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path, dim: Optional[int] = None) -> "FlatIPIndex":
        import faiss

        index = faiss.read_index(str(path))
        return cls(index.d if dim is None else dim, index)
