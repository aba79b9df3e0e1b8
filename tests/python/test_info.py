"""Model.info and labels for every fixture, against its config.json."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import helpers
import tessera
from tessera import _library

FIXTURE_DIRS = helpers.fixture_dirs()


@pytest.fixture(scope="module", params=FIXTURE_DIRS, ids=lambda d: d.name)
def loaded(request, lib):
    with tessera.Model(request.param) as m:
        yield request.param, m


def test_info_is_frozen_dataclass_with_every_field(loaded):
    _, m = loaded
    info = m.info
    assert isinstance(info, tessera.ModelInfo)
    names = [f.name for f in dataclasses.fields(info)]
    assert names == [n for n, _ in _library.tessera_model_info._fields_ if n != "struct_size"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.hidden_size = 1
    assert isinstance(info.isa_name, str) and isinstance(info.architecture, str)
    assert len(info.image_mean) == 3 and len(info.image_std) == 3


def test_info_matches_config(loaded):
    fixture, m = loaded
    info = m.info
    expected = helpers.expected_info(helpers.load_config(fixture),
                                     helpers.load_preprocessor(fixture))
    got = {k: getattr(info, k) for k in expected}
    assert got == expected


def test_info_is_consistent(loaded):
    fixture, m = loaded
    i = m.info
    assert i.family in (tessera.FAMILY_VIT, tessera.FAMILY_DEIT, tessera.FAMILY_DINOV2, tessera.FAMILY_DINOV3)
    assert i.family_name in ("vit", "deit", "dinov2", "dinov3")
    assert i.hidden_size > 0 and i.hidden_size % i.num_heads == 0
    assert i.num_layers >= 2, "the fixtures request layers 0 and 1"
    assert i.mlp_size > 0 and i.patch_size > 0
    assert i.image_height % i.patch_size == 0 and i.image_width % i.patch_size == 0
    assert i.num_channels == 3
    assert i.num_classes >= 0 and i.num_register_tokens >= 0
    assert i.num_prefix_tokens >= 1 + i.num_register_tokens
    assert i.pos_resize in (tessera.POS_RESIZE_BICUBIC, tessera.POS_RESIZE_BICUBIC_ANTIALIAS,
                            tessera.POS_RESIZE_BICUBIC_OFFSET, tessera.POS_RESIZE_NONE_ROPE)
    assert (i.family == tessera.FAMILY_DINOV3) == (i.pos_resize == tessera.POS_RESIZE_NONE_ROPE)
    assert i.isa in (tessera.ISA_PORTABLE, tessera.ISA_AVX2, tessera.ISA_AVX512)
    assert i.isa_name, "isa_name is empty"
    assert i.architecture, "architecture is empty"
    assert i.gemm_kc > 0 and i.gemm_mc > 0, (i.gemm_kc, i.gemm_mc)
    assert i.blocking_source in ("tuned", "cached", "formula", "environment"), i.blocking_source
    assert i.int8_kernel, "int8_kernel is empty"
    assert all(s > 0 for s in i.image_std), i.image_std
    assert all(np.isfinite(i.image_mean)), i.image_mean
    d, m_, L = i.hidden_size, i.mlp_size, i.num_layers
    core = L * (4 * d * d + 2 * d * m_)  # the block matrices alone
    in_file = helpers.safetensors_elements(fixture / "model.safetensors")
    assert core <= i.num_parameters <= in_file, (
        f"num_parameters {i.num_parameters}: expected between the block matrices ({core}) "
        f"and the tensors in the file ({in_file})"
    )
    assert i.weight_bytes > 0
    assert i.l1d_bytes > 0 and i.l2_bytes > 0


def test_mean_std_agree_with_reference_pixels(loaded):
    """pixel_values in the references are rgb8 normalized with the model's mean/std."""
    fixture, m = loaded
    refs = helpers.references(fixture)
    if not refs:
        pytest.skip("no references")
    ref = helpers.read_safetensors(refs[0].path)
    want = ref["pixel_values"]
    got = helpers.normalize_rgb8(ref["rgb8"], m.info.image_mean, m.info.image_std)
    diff = float(np.max(np.abs(got - want)))
    assert diff <= 1e-5, (
        f"normalizing rgb8 with info.image_mean={m.info.image_mean}, "
        f"image_std={m.info.image_std} differs from pixel_values by {diff:.3g}"
    )


def test_labels(loaded):
    fixture, m = loaded
    config = helpers.load_config(fixture)
    n = m.info.num_classes
    id2label = config.get("id2label") or {}
    if n == 0:
        assert m.labels is None
        assert m.label(0) is None
        return
    if id2label:
        want = [id2label.get(str(i)) for i in range(n)]
        assert m.labels == want
        assert m.label(0) == want[0] and m.label(n - 1) == want[n - 1]
    assert m.label(n) is None
    assert m.label(-1) is None
    assert m.label(2**40) is None


def test_model_accepts_safetensors_file_path(loaded):
    fixture, m = loaded
    with tessera.Model(fixture / "model.safetensors") as m2:
        assert m2.info == m.info


def test_model_repr_and_close(loaded):
    fixture, _ = loaded
    m = tessera.Model(str(fixture))
    assert fixture.name in repr(m)
    m.close()
    m.close()  # idempotent
    assert m.closed
    with pytest.raises(tessera.StateError):
        m.info
    with pytest.raises(tessera.StateError):
        m.session()
