"""Patch matching with DINOv2 patch tokens: the math, in numpy only.

Used by examples/python/match.py, scripts/match_accuracy.py and
tests/python/test_matching.py. Nothing here knows about Tessera or Pillow:

- ``l2_normalize``: unit-length rows.
- ``mutual_nearest_neighbors``: mutual nearest neighbours by cosine similarity
  between two sets of features, with an optional Lowe ratio test.
- ``patch_centers`` / ``index_to_rowcol``: where a patch token sits, in pixels
  of the image as it was run (the "run size").
- Point maps of the known transforms used to measure accuracy (``Shift``,
  ``CropScale``, ``Rotate``, ``Identity``), in the same pixel coordinates, and
  ``correct_matches`` that compares a matched pair with the truth.

Coordinates are continuous pixel coordinates (x to the right, y down): pixel
(i, j) covers [j, j+1) x [i, i+1), so the centre of the patch in grid row r and
column c of a model with patch size P is ((c + 0.5) P, (r + 0.5) P). This is
also Pillow's convention for crop boxes, resize and rotate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

__all__ = [
    "Matches", "l2_normalize", "mutual_nearest_neighbors", "patch_centers",
    "index_to_rowcol", "grid_shape", "Identity", "Shift", "CropScale", "Rotate",
    "correct_matches", "stereo_consistent",
]


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """x divided by its L2 norm along ``axis`` (float32; zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, np.float32(eps))


@dataclass(frozen=True)
class Matches:
    """Matched pairs: token ``a[k]`` of the first image with ``b[k]`` of the second.

    ``similarity[k]`` is their cosine similarity. Sorted by decreasing
    similarity (ties: by ``a``).
    """

    a: np.ndarray           # int64 [M]
    b: np.ndarray           # int64 [M]
    similarity: np.ndarray  # float32 [M]

    def __len__(self) -> int:
        return int(self.a.shape[0])


def _ratio_pass(sim: np.ndarray, ratio: float) -> np.ndarray:
    """Lowe's ratio test along axis 1 of a cosine-similarity matrix.

    For unit vectors the Euclidean distance is sqrt(2 - 2 cos). Row i passes
    when d(best) < ratio * d(second best). With fewer than two columns every
    row passes.
    """
    n = sim.shape[1]
    if n < 2:
        return np.ones(sim.shape[0], dtype=bool)
    top2 = -np.partition(-sim, 1, axis=1)[:, :2]   # [rows, 2]: best, second best
    dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * top2.astype(np.float64)))
    return dist[:, 0] < ratio * dist[:, 1]


def mutual_nearest_neighbors(feat_a: np.ndarray, feat_b: np.ndarray,
                             ratio: Optional[float] = None,
                             normalize: bool = True,
                             ratio_both: bool = False) -> Matches:
    """Mutual nearest neighbours by cosine similarity.

    ``feat_a`` is [Na, D], ``feat_b`` is [Nb, D]. Token i of A and token j of B
    match when j is i's most similar token in B *and* i is j's most similar
    token in A (ties go to the lower index). With ``ratio`` (Lowe's test, e.g.
    0.9), a pair is kept only if, among B, the distance from i to its best
    neighbour j is below ``ratio`` times the distance to its second best (as
    ``tessera match --ratio`` does); ``ratio_both=True`` also requires the
    same of j among A. ``normalize=False`` takes the features as already unit
    length.
    """
    a = np.asarray(feat_a, dtype=np.float32)
    b = np.asarray(feat_b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [Na, D] and [Nb, D], got {a.shape} and {b.shape}")
    if ratio is not None and not (0.0 < ratio <= 1.0):
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    empty = Matches(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    if a.shape[0] == 0 or b.shape[0] == 0:
        return empty
    if normalize:
        a, b = l2_normalize(a), l2_normalize(b)
    sim = a @ b.T                                   # [Na, Nb] cosine
    nn_ab = np.argmax(sim, axis=1)                  # first maximum: lowest index on ties
    nn_ba = np.argmax(sim, axis=0)
    ia = np.arange(a.shape[0])
    keep = nn_ba[nn_ab] == ia
    if ratio is not None:
        keep &= _ratio_pass(sim, ratio)
        if ratio_both:
            keep &= _ratio_pass(sim.T, ratio)[nn_ab]
    ia = ia[keep]
    ib = nn_ab[keep]
    s = sim[ia, ib]
    order = np.lexsort((ia, -s))
    return Matches(ia[order].astype(np.int64), ib[order].astype(np.int64),
                   s[order].astype(np.float32))


# --- patch grid ------------------------------------------------------------------


def grid_shape(height: int, width: int, patch: int) -> Tuple[int, int]:
    """(rows, cols) of the patch grid of an image run at height x width."""
    if height % patch or width % patch:
        raise ValueError(f"{height}x{width} is not a multiple of the patch size {patch}")
    return height // patch, width // patch


def index_to_rowcol(index, grid_w: int) -> Tuple[np.ndarray, np.ndarray]:
    """(row, col) of patch token ``index`` in a row-major grid ``grid_w`` wide."""
    index = np.asarray(index, dtype=np.int64)
    return index // grid_w, index % grid_w


def patch_centers(grid_h: int, grid_w: int, patch: int) -> np.ndarray:
    """[grid_h * grid_w, 2] float64 (x, y) centres of the patches, row-major,
    in pixels of the image as run."""
    rows, cols = np.divmod(np.arange(grid_h * grid_w, dtype=np.int64), grid_w)
    return np.stack([(cols + 0.5) * patch, (rows + 0.5) * patch], axis=1).astype(np.float64)


# --- known transforms: where a point of the original lands ------------------------


class Identity:
    """No geometric change (e.g. a brightness or contrast change)."""

    name = "identity"

    def map_points(self, xy: np.ndarray) -> np.ndarray:
        return np.asarray(xy, dtype=np.float64).copy()


@dataclass(frozen=True)
class Shift:
    """Content moved by (dx, dy) pixels: the point (x, y) lands at (x + dx, y + dy)."""

    dx: float
    dy: float = 0.0
    name: str = "shift"

    def map_points(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        return xy + np.array([self.dx, self.dy])


@dataclass(frozen=True)
class CropScale:
    """The box (left, top, right, bottom) of the original resized to out_w x out_h.

    As ``image.crop(box).resize((out_w, out_h))`` in Pillow: a point (x, y)
    lands at ((x - left) * out_w / (right - left), (y - top) * out_h / (bottom - top)).
    """

    box: Tuple[float, float, float, float]
    out_w: int
    out_h: int
    name: str = "crop+scale"

    def map_points(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        left, top, right, bottom = self.box
        sx = self.out_w / (right - left)
        sy = self.out_h / (bottom - top)
        return np.stack([(xy[:, 0] - left) * sx, (xy[:, 1] - top) * sy], axis=1)


@dataclass(frozen=True)
class Rotate:
    """Counter-clockwise rotation (as seen on screen) by ``degrees`` about (cx, cy).

    Pillow's ``Image.rotate(degrees)`` about the image centre (width/2,
    height/2) with ``expand=False``: with y pointing down, a point at (x, y)
    lands at (cx + c (x-cx) + s (y-cy), cy - s (x-cx) + c (y-cy)),
    c = cos(degrees), s = sin(degrees).
    """

    degrees: float
    cx: float
    cy: float
    name: str = "rotate"

    def map_points(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        t = math.radians(self.degrees)
        c, s = math.cos(t), math.sin(t)
        dx, dy = xy[:, 0] - self.cx, xy[:, 1] - self.cy
        return np.stack([self.cx + c * dx + s * dy, self.cy - s * dx + c * dy], axis=1)


def correct_matches(matches: Matches, centers_a: np.ndarray, centers_b: np.ndarray,
                    transform, tolerance: float) -> np.ndarray:
    """bool [M]: whether each match is right under a known transform.

    The centre of A's patch, mapped through ``transform``, must land within
    ``tolerance`` pixels (Euclidean, strictly less) of the centre of B's
    matched patch. Strictly: under a shift by exactly one patch, the patch
    at the *same* grid position is one patch away and must not count. A
    point mapped outside the second image has no true match there, so a
    match from it counts as wrong.
    """
    if len(matches) == 0:
        return np.zeros(0, dtype=bool)
    mapped = transform.map_points(centers_a[matches.a])
    dist = np.linalg.norm(mapped - centers_b[matches.b], axis=1)
    return dist < tolerance


def stereo_consistent(matches: Matches, centers_left: np.ndarray,
                      centers_right: np.ndarray, max_dy: float) -> np.ndarray:
    """bool [M]: matches geometrically possible in a rectified stereo pair.

    Rectified: corresponding points lie on the same row (|y_l - y_r| <= max_dy)
    and the disparity x_l - x_r is not negative.
    """
    if len(matches) == 0:
        return np.zeros(0, dtype=bool)
    pl = centers_left[matches.a]
    pr = centers_right[matches.b]
    return (np.abs(pl[:, 1] - pr[:, 1]) <= max_dy) & (pl[:, 0] - pr[:, 0] >= 0)
