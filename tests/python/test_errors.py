"""Errors seen from Python: the right exception class, with a message that says what."""

from __future__ import annotations

import ctypes
import json
import os

import numpy as np
import pytest

import helpers
import tessera
from tessera import _library


def mentions(error: BaseException, *words: str) -> bool:
    text = str(error).lower()
    return any(w.lower() in text for w in words)


def raises(cls, fn, *words):
    """Calls fn, expects cls; the message must be non-empty and name one of words."""
    with pytest.raises(cls) as info:
        fn()
    e = info.value
    assert str(e).strip(), f"{cls.__name__} with an empty message"
    if words:
        assert mentions(e, *words), f"{cls.__name__} message {str(e)!r} names none of {words}"
    return e


# --- loading ---------------------------------------------------------------------


def test_nonexistent_path(lib, tmp_path):
    path = tmp_path / "does-not-exist"
    e = raises(tessera.TesseraIOError, lambda: tessera.Model(path), "does-not-exist")
    assert e.status == tessera.TesseraIOError.status == 2
    assert isinstance(e, OSError) and isinstance(e, tessera.TesseraError)


def test_directory_without_config(lib, model_copy):
    (model_copy / "config.json").unlink()
    raises(tessera.TesseraIOError, lambda: tessera.Model(model_copy), "config.json")


def test_malformed_config(lib, model_copy):
    (model_copy / "config.json").write_text('{"model_type": "vit", "hidden_size": ')
    raises(tessera.FormatError, lambda: tessera.Model(model_copy), "config", "json")


def test_config_not_an_object(lib, model_copy):
    (model_copy / "config.json").write_text("[1, 2, 3]")
    raises(tessera.FormatError, lambda: tessera.Model(model_copy), "config", "json")


def test_missing_safetensors(lib, model_copy):
    (model_copy / "model.safetensors").unlink()
    raises(tessera.TesseraIOError, lambda: tessera.Model(model_copy), "safetensors")


@pytest.mark.parametrize("keep", ["half", "header_only", "8_bytes"])
def test_truncated_safetensors(lib, model_copy, keep):
    st = model_copy / "model.safetensors"
    _, data_start = helpers.read_header(st)
    size = {"half": st.stat().st_size // 2, "header_only": data_start + 7, "8_bytes": 8}[keep]
    with open(st, "r+b") as f:
        f.truncate(size)
    raises(tessera.FormatError, lambda: tessera.Model(model_copy),
           "safetensors", "truncat", "size", "bytes", "offset", "short", "end", "header")


def _rewrite_header(st, change):
    header, start = helpers.read_header(st)
    data = st.read_bytes()[start:]
    name = change(header)
    helpers.write_safetensors_raw(st, header, data)
    return name


def _pick_matrix(header):
    """A 2-D block weight with rows != cols (an MLP matrix, if there is one)."""
    cands = [(k, m) for k, m in sorted(header.items())
             if k != "__metadata__" and len(m["shape"]) == 2 and m["shape"][0] != m["shape"][1]]
    mlp = [c for c in cands if any(w in c[0] for w in ("intermediate", "fc1", "mlp"))]
    assert cands, "no non-square matrix in the fixture"
    return (mlp or cands)[0]


def test_tensor_of_wrong_shape(lib, model_copy):
    """A matrix stored transposed: the file is consistent, the shape is wrong for the config."""
    def change(header):
        name, meta = _pick_matrix(header)
        meta["shape"] = meta["shape"][::-1]
        return name

    name = _rewrite_header(model_copy / "model.safetensors", change)
    raises(tessera.FormatError, lambda: tessera.Model(model_copy), name, "shape")


def test_tensor_shape_disagrees_with_its_bytes(lib, model_copy):
    def change(header):
        name, meta = _pick_matrix(header)
        meta["shape"] = [meta["shape"][0] + 1, meta["shape"][1]]
        return name

    name = _rewrite_header(model_copy / "model.safetensors", change)
    raises(tessera.FormatError, lambda: tessera.Model(model_copy),
           name, "shape", "bytes", "offset", "size")


def test_missing_tensor(lib, model_copy):
    def change(header):
        name, _ = _pick_matrix(header)
        del header[name]
        return name

    name = _rewrite_header(model_copy / "model.safetensors", change)
    raises(tessera.FormatError, lambda: tessera.Model(model_copy), name, "missing")


def test_garbage_header(lib, model_copy):
    st = model_copy / "model.safetensors"
    st.write_bytes((16).to_bytes(8, "little") + b"this is not json")
    raises(tessera.FormatError, lambda: tessera.Model(model_copy), "safetensors", "header", "json")


# --- sessions --------------------------------------------------------------------


def test_height_not_multiple_of_patch(model):
    p = model.info.patch_size
    bad = p * 2 + 1
    e = raises(tessera.InvalidArgumentError, lambda: model.session(height=bad), "patch", str(bad))
    assert isinstance(e, ValueError)
    raises(tessera.InvalidArgumentError, lambda: model.session(width=p * 3 - 1), "patch", str(p * 3 - 1))


@pytest.mark.parametrize("kwargs,word", [
    ({"batch": 0}, "batch"),
    ({"batch": -1}, "batch"),
    ({"threads": -1}, "threads"),
    ({"height": -16}, "height"),
    ({"layers": [-1]}, "layers"),
    ({"layers": [64]}, "layers"),
    ({"isa": "sse9"}, "isa"),
    ({"batch": 1.5}, "batch"),
])
def test_bad_session_options(model, kwargs, word):
    raises(tessera.InvalidArgumentError, lambda: model.session(**kwargs), word)


def test_layer_beyond_model(model):
    n = model.info.num_layers
    if n >= 64:
        pytest.skip("model has 64+ blocks")
    raises(tessera.InvalidArgumentError, lambda: model.session(layers=[n]), "layers", str(n))


def test_library_checks_options_too(model, lib):
    """Bypasses the Python checks: the library itself refuses bad options."""
    handle = model._require()
    for field, value in (("batch", 0), ("layers_mask", 1 << 63), ("num_threads", -1),
                         ("height", model.info.patch_size + 1), ("width", -8), ("isa", 7),
                         ("struct_size", 0), ("precision", 2), ("precision", -1), ("reserved", 1)):
        opts = _library.tessera_session_options()
        assert lib.tessera_session_options_init(ctypes.byref(opts), ctypes.sizeof(opts)) == 0
        setattr(opts, field, value)
        out = _library.session_p()
        status = lib.tessera_session_create(handle, ctypes.byref(opts), ctypes.byref(out))
        assert status == _library.ERR_INVALID_ARGUMENT, f"{field}={value}: status {status}"
        assert out.value is None
        assert _library.decode(lib.tessera_last_error()), f"{field}={value}: no message"


def test_isa_beyond_this_cpu(model):
    if model.info.isa >= tessera.ISA_AVX512:
        pytest.skip("this CPU runs the highest variant")
    e = raises((tessera.UnsupportedError, tessera.InvalidArgumentError),
               lambda: model.session(isa="avx512"), "avx512", "avx-512")
    assert e.status in (_library.ERR_UNSUPPORTED, _library.ERR_INVALID_ARGUMENT)


def test_default_options(lib):
    opts = _library.tessera_session_options()
    assert lib.tessera_session_options_init(ctypes.byref(opts), ctypes.sizeof(opts)) == 0
    assert opts.struct_size == ctypes.sizeof(_library.tessera_session_options) == 56
    assert opts.batch == 1 and opts.height == 0 and opts.width == 0
    assert opts.num_threads == 0 and opts.layers_mask == 0 and opts.max_arena_bytes == 0
    assert opts.isa == _library.ISA_AUTO and opts.outputs == 0
    assert opts.precision == _library.PRECISION_FP32 and opts.reserved == 0
    # The symbol programs built against 0.1 and 0.2 call: their 48 bytes.
    old = lib.tessera_session_default_options()
    assert old.struct_size == ctypes.sizeof(old) == 48 and old.batch == 1


def test_arena_cap(model):
    with model.session() as s:
        need = s.arena_bytes
    assert need > 0
    raises(tessera.OutOfMemoryError, lambda: model.session(max_arena_bytes=1), "arena", "cap", "bytes")
    raises(tessera.OutOfMemoryError, lambda: model.session(max_arena_bytes=need - 1),
           "arena", "cap", "bytes")
    with model.session(max_arena_bytes=need) as s:
        assert s.arena_bytes == need


# --- running ---------------------------------------------------------------------


@pytest.fixture
def session(model):
    with model.session(batch=2) as s:
        yield s


def _hw(session):
    return session.height, session.width


def test_batch_larger_than_session(session):
    h, w = _hw(session)
    f, u = helpers.random_inputs(3, h, w)
    raises(tessera.InvalidArgumentError, lambda: session.run(f), "batch", "3")
    raises(tessera.InvalidArgumentError, lambda: session.run(u), "batch", "3")


def test_library_checks_image_count_too(session, lib):
    h, w = _hw(session)
    f, u = helpers.random_inputs(3, h, w)
    handle = session._require()
    fp = f.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    up = u.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    for images in (0, 3):
        assert lib.tessera_run_f32(handle, fp, images) == _library.ERR_INVALID_ARGUMENT, images
        assert _library.decode(lib.tessera_last_error())
        assert lib.tessera_run_rgb8(handle, up, images) == _library.ERR_INVALID_ARGUMENT, images
    assert lib.tessera_run_f32(handle, None, 1) == _library.ERR_INVALID_ARGUMENT
    assert lib.tessera_run_rgb8(handle, None, 1) == _library.ERR_INVALID_ARGUMENT
    assert lib.tessera_run_f32(None, fp, 1) == _library.ERR_INVALID_ARGUMENT


def test_empty_batch(session):
    h, w = _hw(session)
    raises(tessera.InvalidArgumentError,
           lambda: session.run(np.zeros((0, 3, h, w), np.float32)), "images", "batch")


def test_wrong_image_size(session):
    h, w = _hw(session)
    p = session.model.info.patch_size
    f, u = helpers.random_inputs(1, h + p, w)
    raises(tessera.InvalidArgumentError, lambda: session.run(f), f"{h + p}x{w}", "height")
    raises(tessera.InvalidArgumentError, lambda: session.run(u), f"{h + p}x{w}", "height")
    f, u = helpers.random_inputs(1, h, w + p)
    raises(tessera.InvalidArgumentError, lambda: session.run(f), f"{h}x{w + p}", "width")


def test_uint8_nchw_refused(session):
    h, w = _hw(session)
    _, u = helpers.random_inputs(2, h, w)
    nchw = np.ascontiguousarray(u.transpose(0, 3, 1, 2))
    e = raises(ValueError, lambda: session.run(nchw), "NHWC")
    assert isinstance(e, tessera.InvalidArgumentError)
    raises(ValueError, lambda: session.run(nchw[0]), "NHWC")  # CHW uint8


def test_float_nhwc_refused(session):
    h, w = _hw(session)
    f, _ = helpers.random_inputs(2, h, w)
    nhwc = np.ascontiguousarray(f.transpose(0, 2, 3, 1))
    e = raises(ValueError, lambda: session.run(nhwc), "NCHW")
    assert isinstance(e, tessera.InvalidArgumentError)
    raises(ValueError, lambda: session.run(nhwc[0]), "NCHW")  # HWC float


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, np.bool_, np.complex64])
def test_wrong_dtype(session, dtype):
    h, w = _hw(session)
    a = np.zeros((1, h, w, 3), dtype=dtype)
    raises(ValueError, lambda: session.run(a), "dtype", "uint8")


@pytest.mark.parametrize("shape", [(5,), (2, 3), (1, 1, 3, 8, 8), ()])
def test_wrong_rank(session, shape):
    raises(ValueError, lambda: session.run(np.zeros(shape, np.float32)), "NCHW")
    raises(ValueError, lambda: session.run(np.zeros(shape, np.uint8)), "NHWC")


def test_output_before_run(model):
    with model.session() as s:
        raises(tessera.StateError, lambda: s.output("embedding"), "run")


@pytest.mark.parametrize("fixture", helpers.fixture_dirs(), ids=lambda d: d.name)
def test_outputs_the_model_lacks(lib, fixture):
    with tessera.Model(fixture) as model, model.session(layers=[0]) as s:
        i = model.info
        s.run(helpers.random_inputs(1, i.image_height, i.image_width)[0])
        if i.num_classes == 0:
            raises(tessera.UnavailableError, lambda: s.output("logits"),
                   "logits", "classif", "head")
        else:
            assert s.output("logits").shape == (1, i.num_classes)
        if i.num_register_tokens == 0:
            raises(tessera.UnavailableError, lambda: s.output("register_tokens"), "register")
        else:
            assert s.output("register_tokens").shape == (1, i.num_register_tokens, i.hidden_size)
        e = raises(tessera.UnavailableError, lambda: s.output("layer_1"), "layer", "1")
        assert isinstance(e, LookupError)
        raises(tessera.InvalidArgumentError, lambda: s.output("pooler"), "pooler")
        assert set(s.run(helpers.random_inputs(1, i.image_height, i.image_width)[0])) == (
            {"embedding", "patch_tokens", "layer_0"}
            | ({"logits"} if i.num_classes else set())
            | ({"register_tokens"} if i.num_register_tokens else set())
        )


def test_layer_beyond_model_is_unavailable(model):
    """TESSERA_OUTPUT_LAYER(k) for a block the model does not have is an output the
    model lacks: TESSERA_ERR_UNAVAILABLE (tessera.h, design: "Asking for an output
    the model does not have is TESSERA_ERR_UNAVAILABLE")."""
    i = model.info
    with model.session(layers=[0]) as s:
        s.run(helpers.random_inputs(1, i.image_height, i.image_width)[0])
        for k in (i.num_layers, i.num_layers + 5, 63, 64, 1000):
            raises(tessera.UnavailableError, lambda: s.output(f"layer_{k}"), "layer", str(k))


def test_raw_output_errors(model, lib):
    """tessera_output_shape/copy refuse bad arguments without crashing."""
    i = model.info
    with model.session() as s:
        s.run(helpers.random_inputs(1, i.image_height, i.image_width)[0])
        handle = s._require()
        shape = (ctypes.c_int64 * 4)()
        rank = ctypes.c_int32()
        assert lib.tessera_output_shape(handle, 1, shape, ctypes.byref(rank)) == _library.OK
        assert rank.value == 2 and list(shape[:2]) == [1, i.hidden_size]
        assert lib.tessera_output_shape(handle, 999, shape, ctypes.byref(rank)) in (
            _library.ERR_INVALID_ARGUMENT, _library.ERR_UNAVAILABLE)
        assert lib.tessera_output_shape(handle, 1, None, ctypes.byref(rank)) == \
            _library.ERR_INVALID_ARGUMENT
        small = np.empty(i.hidden_size - 1, np.float32)
        status = lib.tessera_output_copy(
            handle, 1, small.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), small.size)
        assert status == _library.ERR_INVALID_ARGUMENT
        assert _library.decode(lib.tessera_last_error())
        assert lib.tessera_output_copy(handle, 1, None, 10**6) == _library.ERR_INVALID_ARGUMENT


def test_raw_load_errors(lib):
    out = _library.model_p()
    assert lib.tessera_model_load(None, ctypes.byref(out)) == _library.ERR_INVALID_ARGUMENT
    assert lib.tessera_model_load(b"/nonexistent", None) == _library.ERR_INVALID_ARGUMENT
    info = _library.tessera_model_info()
    info.struct_size = ctypes.sizeof(info)
    assert lib.tessera_model_get_info(None, ctypes.byref(info)) == _library.ERR_INVALID_ARGUMENT


def test_raw_get_info_checks_struct_size(model, lib):
    info = _library.tessera_model_info()
    info.struct_size = 0
    assert lib.tessera_model_get_info(model._require(), ctypes.byref(info)) == \
        _library.ERR_INVALID_ARGUMENT
    assert "struct_size" in _library.decode(lib.tessera_last_error())
    assert lib.tessera_model_get_info(model._require(), None) == _library.ERR_INVALID_ARGUMENT


def test_raw_null_handles(lib):
    """NULL handles are reported or ignored, never a crash."""
    assert lib.tessera_model_label(None, 0) is None
    assert lib.tessera_session_arena_bytes(None) == 0
    lib.tessera_model_free(None)
    lib.tessera_session_free(None)


def test_closed_session(model):
    s = model.session()
    s.close()
    s.close()
    raises(tessera.StateError, lambda: s.run(np.zeros((1, 3, s.height, s.width), np.float32)),
           "closed")
    raises(tessera.StateError, lambda: s.output("embedding"), "closed")
    raises(tessera.StateError, lambda: s.arena_bytes, "closed")


def test_error_carries_status_and_library_message(lib, tmp_path):
    with pytest.raises(tessera.TesseraError) as info:
        tessera.Model(tmp_path / "nope")
    e = info.value
    assert e.status == _library.ERR_IO
    assert e.status_name == "TESSERA_ERR_IO"
    assert e.message == str(e) == _library.decode(lib.tessera_last_error())
