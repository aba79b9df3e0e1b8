"""tessera_preprocess_rgb8 through Session.preprocess and run([...]): the
library's resize against Pillow, and its MODEL mode against transformers'
image processors (digests in Tests/Fixtures/preprocess.json, made by
scripts/make_preprocess_fixture.py), on the real photos."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import helpers
import tessera

PHOTOS = helpers.REPO / "data" / "photos"
NAMES = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"]


def photo(name: str) -> np.ndarray:
    path = PHOTOS / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run scripts/fetch_photos.sh (the test command does)")
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def dino():
    with tessera.Model(helpers.FIXTURES / "dinov2_hf") as m:  # patch 14
        yield m


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(224, 224), (336, 448), (70, 98), (1008, 1120)])
@pytest.mark.parametrize("resample", [None, "bilinear"])
def test_stretch_is_pillows_resize(dino, name, size, resample):
    img = photo(name)
    s = dino.session(height=size[0], width=size[1])
    got = s.preprocess(img, resample=resample)
    flt = Image.BILINEAR if resample == "bilinear" else Image.BICUBIC
    want = np.asarray(Image.fromarray(img).resize((size[1], size[0]), flt))
    assert got.shape == want.shape and np.array_equal(got, want), (
        f"{name} -> {size}: {int((got != want).sum())} bytes differ, max {int(np.abs(got.astype(int) - want).max())}")


@pytest.mark.parametrize("name", NAMES)
def test_cover_crop_is_pillow_resize_then_centre(dino, name):
    img = photo(name)
    h, w = 224, 168
    s = dino.session(height=h, width=w)
    got = s.preprocess(img, resize="cover")
    ih, iw = img.shape[:2]
    sx, sy = w / iw, h / ih
    rw, rh = (w, max(h, round(ih * sx))) if sx >= sy else (max(w, round(iw * sy)), h)
    big = np.asarray(Image.fromarray(img).resize((rw, rh), Image.BICUBIC))
    y0, x0 = int(round((rh - h) / 2)), int(round((rw - w) / 2))
    assert np.array_equal(got, big[y0:y0 + h, x0:x0 + w])


def model_with_preprocessor(tmp_path, config: dict):
    d = tmp_path / "model"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(helpers.FIXTURES / "dinov2_hf" / f, d / f)
    pre = {"image_processor_type": "BitImageProcessor", "image_mean": [0.485, 0.456, 0.406],
           "image_std": [0.229, 0.224, 0.225], **config}
    (d / "preprocessor_config.json").write_text(json.dumps(pre))
    return tessera.Model(d)


FIXTURE = json.loads((helpers.FIXTURES / "preprocess.json").read_text())


@pytest.mark.parametrize("processor", sorted(FIXTURE["processors"]))
def test_model_mode_is_transformers_processor(tmp_path, processor):
    cfg = FIXTURE["processors"][processor]
    with model_with_preprocessor(tmp_path, cfg) as m:
        for name in NAMES:
            want = FIXTURE["digests"][f"{processor}/{name}"]
            h, w, _ = want["shape"]
            s = m.session(height=h, width=w)
            got = s.preprocess(photo(name), resize="model")
            assert hashlib.sha256(got.tobytes()).hexdigest() == want["sha256"], f"{processor} {name}"


def test_model_mode_must_end_at_the_session_size(tmp_path):
    cfg = FIXTURE["processors"]["dinov2_shortest256_crop224"]
    with model_with_preprocessor(tmp_path, cfg) as m:
        s = m.session(height=112, width=112)
        with pytest.raises(tessera.InvalidArgumentError, match="makes a 224x224 input"):
            s.preprocess(photo("chelsea.png"), resize="model")


def test_a_model_without_preprocessing_stretches(tmp_path):
    d = tmp_path / "bare"
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(helpers.FIXTURES / "dinov2_hf" / f, d / f)
    img = photo("coffee.png")
    with tessera.Model(d) as m:
        s = m.session()
        assert np.array_equal(s.preprocess(img, resize="model"), s.preprocess(img))


def test_run_takes_photos_of_any_size(dino):
    a, b = photo("chelsea.png"), photo("coffee.png")[:123, :77]
    s = dino.session(batch=2)
    got = s.run([a, b])
    want = s.run(np.stack([s.preprocess(a), s.preprocess(b)]))
    for k in want:
        assert np.array_equal(got[k], want[k]), k
    cov = s.run([a, b], resize="cover")
    assert not np.array_equal(cov["embedding"], got["embedding"])


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((4, 4), np.uint8), "uint8 RGB"),
    (np.zeros((4, 4, 4), np.uint8), "uint8 RGB"),
    (np.zeros((4, 4, 3), np.float32), "uint8 RGB"),
    (np.zeros((0, 4, 3), np.uint8), "expected 1"),
])
def test_bad_images(dino, bad, msg):
    with pytest.raises(tessera.InvalidArgumentError, match=msg):
        dino.session().preprocess(bad)


def test_bad_arguments(dino):
    s = dino.session()
    img = photo("chelsea.png")
    with pytest.raises(tessera.InvalidArgumentError, match="resize must be"):
        s.preprocess(img, resize="squash")
    with pytest.raises(tessera.InvalidArgumentError, match="resample must be"):
        s.preprocess(img, resample="lanczos")
    with pytest.raises(tessera.InvalidArgumentError, match="empty list"):
        s.run([])
    with pytest.raises(tessera.InvalidArgumentError, match="resize= applies"):
        s.run(np.zeros((1, 56, 56, 3), np.uint8), resize="cover")
