"""Unusual input values and layouts: NaN/Inf pixels, float64 beyond float32's
range, negative strides, byte-swapped dtypes.

The library does not check float input values. A NaN or an infinity anywhere
in an image propagates through attention to every token, so every output of
that image is NaN; the other images of the batch are unaffected and nothing
crashes (include/tessera.h, tessera_run_f32).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import helpers
import tessera


def _outputs_nan_for_image0_only(out):
    for k, v in out.items():
        assert v.dtype == np.float32
        assert np.isnan(v[0]).all(), f"{k}: image 0 should be all NaN, {np.isnan(v[0]).mean():.2f} is"
        assert np.isfinite(v[1]).all(), f"{k}: image 1 should be untouched"


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("isa", ["portable", "auto"])
def test_non_finite_pixel_gives_nan_outputs_for_that_image(model, value, isa):
    i = model.info
    with model.session(batch=2, isa=isa, layers=[0]) as s:
        f, _ = helpers.random_inputs(2, s.height, s.width)
        clean = s.run(f)
        for k, v in clean.items():
            assert np.isfinite(v).all(), k
        for (c, y, x) in [(0, 0, 0), (2, s.height - 1, s.width - 1)]:
            bad = f.copy()
            bad[0, c, y, x] = value
            out = s.run(bad)
            _outputs_nan_for_image0_only(out)
            for k in out:  # image 1 is exactly as without the bad pixel in image 0
                np.testing.assert_array_equal(out[k][1], clean[k][1], err_msg=k)
        # The session is fine afterwards.
        again = s.run(f)
        for k in clean:
            np.testing.assert_array_equal(again[k], clean[k], err_msg=k)
    assert i.num_channels == 3


def test_float64_beyond_float32_range_becomes_inf_then_nan(model):
    with model.session(batch=2) as s:
        f, _ = helpers.random_inputs(2, s.height, s.width)
        f64 = f.astype(np.float64)
        f64[0, 0, 0, 0] = 1e300  # float32 conversion gives inf (numpy warns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = s.run(f64)
        _outputs_nan_for_image0_only(out)


def test_negative_strides_and_byte_swapped(model):
    with model.session() as s:
        f, u = helpers.random_inputs(1, s.height, s.width)
        base_f, base_u = s.run(f), s.run(u)
        # A horizontally flipped view of the flipped image is the image again.
        flipped = np.ascontiguousarray(f[..., ::-1])[..., ::-1]
        assert flipped.strides[-1] < 0
        out = s.run(flipped)
        for k in base_f:
            np.testing.assert_array_equal(out[k], base_f[k], err_msg=k)
        flipped_u = np.ascontiguousarray(u[:, :, ::-1])[:, :, ::-1]
        out = s.run(flipped_u)
        for k in base_u:
            np.testing.assert_array_equal(out[k], base_u[k], err_msg=k)
        # Big-endian float32 is converted to native float32, values unchanged.
        out = s.run(f.astype(">f4"))
        for k in base_f:
            np.testing.assert_array_equal(out[k], base_f[k], err_msg=k)


def test_uint8_needs_no_checks(model):
    """uint8 input cannot be non-finite: extreme pixels give finite outputs."""
    with model.session(batch=2) as s:
        u = np.zeros((2, s.height, s.width, 3), np.uint8)
        u[1] = 255
        for k, v in s.run(u).items():
            assert np.isfinite(v).all(), k
