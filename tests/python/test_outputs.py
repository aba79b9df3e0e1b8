"""Outputs on demand: outputs=[...], run(out=...), session.info."""

from __future__ import annotations

import numpy as np
import pytest

import helpers
import tessera


def test_asking_for_less_returns_exactly_that_with_the_same_bits(any_model):
    m = any_model
    last = m.info.num_layers - 1
    full = m.session(batch=2, layers=range(last + 1), **helpers.small_size(m))
    x = helpers.session_images(full)
    want = full.run(x)
    finals = [k for k in ("logits", "embedding", "patch_tokens", "register_tokens") if k in want]
    for names in (["layer_0"], [f"layer_{last}"], ["embedding"], ["patch_tokens", "layer_0"],
                  finals, finals[:1] + [f"layer_{last}"]):
        with m.session(batch=2, outputs=names, **helpers.small_size(m)) as s:
            got = s.run(x)
            assert sorted(got) == sorted(set(names)), names
            for k, v in got.items():
                assert np.array_equal(v, want[k]), f"{names}: {k}"
            assert s.output_names == list(s.info.outputs)


def test_a_layer_alone_runs_only_the_blocks_it_needs(any_model):
    m = any_model
    layers = m.info.num_layers
    default = m.session(layers=[0], **helpers.small_size(m))
    alone = m.session(outputs=["layer_0"], **helpers.small_size(m))
    assert default.info.blocks_run == layers
    assert alone.info.blocks_run == 1
    assert alone.info.ops < default.info.ops
    assert alone.info.arena_bytes <= default.info.arena_bytes
    assert alone.info.outputs == ("layer_0",)
    assert alone.arena_bytes == alone.info.arena_bytes
    assert set(alone.run(helpers.session_images(alone))) == {"layer_0"}
    with pytest.raises(tessera.UnavailableError, match="not asked for"):
        alone.output_shape("embedding")
    with pytest.raises(tessera.UnavailableError, match="TESSERA_OUTPUT_BIT"):
        alone.output("embedding")


def test_outputs_and_layers_combine(model):
    with model.session(outputs=["embedding"], layers=[1]) as s:
        assert set(s.run(helpers.session_images(s))) == {"embedding", "layer_1"}
        assert s.layers == (1,)


@pytest.mark.parametrize("bad, error", [
    (["nope"], tessera.InvalidArgumentError),
    ([3], tessera.InvalidArgumentError),
    (["layer_x"], tessera.InvalidArgumentError),
    (["layer_999"], tessera.InvalidArgumentError),
    ([], tessera.InvalidArgumentError),
    (7, tessera.InvalidArgumentError),
])
def test_bad_outputs(model, bad, error):
    with pytest.raises(error):
        model.session(outputs=bad)


def test_an_output_the_model_lacks(lib):
    for d in helpers.fixture_dirs():
        with tessera.Model(d) as m:
            for name, missing in (("logits", m.info.num_classes == 0),
                                  ("register_tokens", m.info.num_register_tokens == 0)):
                if missing:
                    with pytest.raises(tessera.UnavailableError, match="the model"):
                        m.session(outputs=[name])


def test_info_reports_what_runs(model):
    s = model.session(threads=0)
    i = s.info
    assert i.threads >= 1 and s.threads == i.threads
    assert i.isa == model.info.isa_name and s.isa == i.isa
    assert i.isa != "auto"
    assert (i.gemm_kc, i.gemm_mc) == (model.info.gemm_kc, model.info.gemm_mc)
    assert i.blocking_source in ("tuned", "cached", "formula", "environment")
    assert i.arena_bytes == s.arena_bytes > 0
    assert (i.batch, i.height, i.width) == (1, model.info.image_height, model.info.image_width)
    p = model.info.patch_size
    grid = (i.height // p) * (i.width // p)
    assert i.tokens == model.info.num_prefix_tokens + grid
    assert s.output_names == list(i.outputs)
    two = model.session(threads=2, isa="portable")
    assert (two.info.threads, two.info.isa) == (2, "portable")


def test_run_into_caller_arrays(model):
    s = model.session(batch=3, layers=[0])
    x = helpers.session_images(s, 2)
    want = s.run(x)
    out = {k: np.full(s.output_shape(k, 2), np.nan, np.float32) for k in want}
    got = s.run(x, out=out)
    for k in want:
        assert got[k] is out[k], k
        assert np.array_equal(out[k], want[k]), k
    # Some outputs only: the others come back as new arrays.
    emb = np.empty(s.output_shape("embedding", 2), np.float32)
    got = s.run(x, out={"embedding": emb})
    assert got["embedding"] is emb and set(got) == set(want)


def test_run_into_bad_arrays(model):
    s = model.session(batch=2)
    x = helpers.session_images(s, 2)
    good = s.output_shape("embedding", 2)
    ro = np.zeros(good, np.float32)
    ro.flags.writeable = False
    for bad, msg in ((np.zeros(good, np.float64), "float32"),
                     (np.zeros((3,) + good[1:], np.float32), "shape"),
                     (np.zeros((good[1], good[0]), np.float32).T, "C-contiguous"),
                     (ro, "read-only"),
                     ([0.0] * good[1], "numpy array")):
        with pytest.raises(tessera.InvalidArgumentError, match=msg):
            s.run(x, out={"embedding": bad})
    with pytest.raises(tessera.InvalidArgumentError, match="unknown output"):
        s.run(x, out={"bogus": np.zeros(good, np.float32)})
    with pytest.raises(tessera.UnavailableError, match="not asked for"):
        s.run(x, out={"layer_0": np.zeros((2, 5, 5), np.float32)})
    with pytest.raises(tessera.InvalidArgumentError, match="dict"):
        s.run(x, out=[np.zeros(good, np.float32)])
