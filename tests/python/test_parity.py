"""Every reference of every fixture, through the float and the uint8 path."""

from __future__ import annotations

import numpy as np
import pytest

import helpers
import tessera

REFERENCES = helpers.all_references()

@pytest.fixture(scope="module")
def models(lib):
    """Models loaded once per fixture for the whole module."""
    loaded = {}
    yield loaded
    for m in loaded.values():
        m.close()


def _model(models, ref: helpers.Reference) -> tessera.Model:
    if ref.fixture not in models:
        models[ref.fixture] = tessera.Model(ref.fixture)
    return models[ref.fixture]


def _expected_outputs(data):
    return {k: v for k, v in data.items() if k not in helpers.INPUT_KEYS}


@pytest.mark.parametrize("path", ["f32", "rgb8"])
@pytest.mark.parametrize("ref", REFERENCES, ids=lambda r: r.id)
def test_parity(models, ref, path):
    data = helpers.read_safetensors(ref.path)
    pixels, rgb8 = data["pixel_values"], data["rgb8"]
    b = pixels.shape[0]
    assert pixels.dtype == np.float32 and pixels.shape == (b, 3, ref.height, ref.width)
    assert rgb8.dtype == np.uint8 and rgb8.shape == (b, ref.height, ref.width, 3)
    want = _expected_outputs(data)
    assert {"embedding", "patch_tokens", "layer_0", "layer_1"} <= set(want), sorted(want)

    model = _model(models, ref)
    with model.session(batch=b, height=ref.height, width=ref.width, layers=(0, 1)) as s:
        got = s.run(pixels if path == "f32" else rgb8)
        assert set(got) == set(want), (
            f"outputs {sorted(got)}, reference has {sorted(want)}"
        )
        for name in sorted(want):
            helpers.assert_close(f"{ref.id} {path} {name}", got[name], want[name])
        # session.output(name) gives the same arrays as run().
        for name in sorted(want):
            np.testing.assert_array_equal(s.output(name), got[name])


@pytest.mark.parametrize("ref", REFERENCES, ids=lambda r: r.id)
def test_output_shapes(models, ref):
    data = helpers.read_safetensors(ref.path)
    model = _model(models, ref)
    i = model.info
    b = data["pixel_values"].shape[0]
    grid = (ref.height // i.patch_size) * (ref.width // i.patch_size)
    tokens = i.num_prefix_tokens + grid
    expected = {
        "embedding": (b, i.hidden_size),
        "patch_tokens": (b, grid, i.hidden_size),
        "layer_0": (b, tokens, i.hidden_size),
        "layer_1": (b, tokens, i.hidden_size),
    }
    if i.num_classes:
        expected["logits"] = (b, i.num_classes)
    if i.num_register_tokens:
        expected["register_tokens"] = (b, i.num_register_tokens, i.hidden_size)
    for name, shape in expected.items():
        if name in data:
            assert data[name].shape == shape, f"reference {name}: {data[name].shape} vs {shape}"
    with model.session(batch=b, height=ref.height, width=ref.width, layers=(0, 1)) as s:
        got = s.run(data["pixel_values"])
    assert {k: v.shape for k, v in got.items()} == expected
