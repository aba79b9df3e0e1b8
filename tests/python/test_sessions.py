"""Sessions: several per model, partial batches, determinism, input forms, lifetime."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import helpers
import tessera


def _run_equal(a: dict, b: dict, what: str):
    assert set(a) == set(b), f"{what}: {sorted(a)} vs {sorted(b)}"
    for k in a:
        assert a[k].shape == b[k].shape, f"{what}: {k} shape {a[k].shape} vs {b[k].shape}"
        assert np.array_equal(a[k], b[k]), (
            f"{what}: {k} differs, max abs {np.max(np.abs(a[k] - b[k])):.3g}"
        )


@pytest.fixture(scope="module")
def ref(any_reference):
    return any_reference, helpers.read_safetensors(any_reference.path)


def _ref_session(model, ref, **kw):
    r, data = ref
    kw.setdefault("batch", data["pixel_values"].shape[0])
    return model.session(height=r.height, width=r.width, layers=(0, 1), **kw)


def _outputs(data):
    return {k: v for k, v in data.items() if k not in helpers.INPUT_KEYS}


def test_two_sessions_from_one_model(model, ref):
    r, data = ref
    i = model.info
    s1 = _ref_session(model, ref)
    s2 = model.session(batch=1, layers=(1,))  # trained size
    f2, _ = helpers.random_inputs(1, i.image_height, i.image_width, seed=3)
    a1 = s1.run(data["pixel_values"])
    a2 = s2.run(f2)
    b1 = s1.run(data["pixel_values"])
    b2 = s2.run(f2)
    _run_equal(a1, b1, "session 1 after session 2 ran")
    _run_equal(a2, b2, "session 2 after session 1 ran")
    for name, want in _outputs(data).items():
        helpers.assert_close(name, a1[name], want)
    assert "layer_1" in a2 and "layer_0" not in a2
    s1.close()
    s2.close()


def test_fewer_images_than_batch(model, ref):
    r, data = ref
    pixels = data["pixel_values"]
    b = pixels.shape[0]
    want = _outputs(data)
    with _ref_session(model, ref, batch=b + 2) as s:
        got = s.run(pixels)
        for name in want:
            assert got[name].shape[0] == b
            helpers.assert_close(f"{b} of {b + 2}: {name}", got[name], want[name])
        one = s.run(pixels[:1])
        for name in want:
            assert one[name].shape[0] == 1, f"{name}: {one[name].shape}"
            helpers.assert_close(f"1 of {b + 2}: {name}", one[name], want[name][:1])
        assert s.output("embedding").shape[0] == 1
    with _ref_session(model, ref, batch=1) as s1:
        single = s1.run(pixels[:1])
    for name in want:
        helpers.assert_close(f"batch 1: {name}", single[name], want[name][:1])


def test_repeated_runs_identical(model, ref):
    r, data = ref
    f, u = data["pixel_values"], data["rgb8"]
    other = helpers.random_inputs(f.shape[0], r.height, r.width, seed=7)[0]
    with _ref_session(model, ref) as s:
        first = s.run(f)
        second = s.run(f)
        s.run(other)
        third = s.run(f)
        _run_equal(first, second, "second run")
        _run_equal(first, third, "run after a different input")
        u1 = s.run(u)
        u2 = s.run(u)
        _run_equal(u1, u2, "uint8 runs")


def test_threads_identical(model, ref):
    r, data = ref
    results = {}
    for threads in (1, 2, 0):
        with _ref_session(model, ref, threads=threads) as s:
            results[threads] = s.run(data["pixel_values"])
    _run_equal(results[1], results[2], "threads=1 vs threads=2")
    _run_equal(results[1], results[0], "threads=1 vs threads=0 (all cores)")


def test_isa_variants(model, ref):
    """Every variant up to the one chosen matches the reference."""
    r, data = ref
    want = _outputs(data)
    for isa in ("portable", "avx2", "avx512")[: max(model.info.isa, 1)]:
        with _ref_session(model, ref, isa=isa) as s:
            got = s.run(data["pixel_values"])
        for name in want:
            helpers.assert_close(f"isa={isa} {name}", got[name], want[name])


def test_avx512_tiles_built_for_avx2(model, ref, monkeypatch):
    """The AVX-512 variant's tile shapes, built for AVX2 (TESSERA_ISA names
    them), match the reference: their logic is checked on every AVX2 CPU."""
    if model.info.isa < tessera.ISA_AVX2:
        pytest.skip("this CPU has no AVX2")
    monkeypatch.setenv("TESSERA_ISA", "avx512-on-avx2")
    r, data = ref
    want = _outputs(data)
    with _ref_session(model, ref) as s:
        got = s.run(data["pixel_values"])
    for name in want:
        helpers.assert_close(f"avx512-on-avx2 {name}", got[name], want[name])


def test_session_attributes(model, ref):
    r, data = ref
    b = data["pixel_values"].shape[0]
    with _ref_session(model, ref) as s:
        assert (s.batch, s.height, s.width, s.layers) == (b, r.height, r.width, (0, 1))
        assert s.arena_bytes > 0
        assert s.model is model
        assert "layer_1" in s.output_names
        assert "Session" in repr(s)
    with model.session() as s:
        assert (s.height, s.width) == (model.info.image_height, model.info.image_width)
        assert s.batch == 1 and s.layers == ()


def test_arena_grows_with_batch(model):
    with model.session(batch=1) as a, model.session(batch=4) as b:
        assert b.arena_bytes > a.arena_bytes


# --- input forms ---------------------------------------------------------------


def test_single_image_forms(model, ref):
    r, data = ref
    with _ref_session(model, ref) as s:
        batched = s.run(data["pixel_values"][:1])
        chw = s.run(data["pixel_values"][0])
        hwc = s.run(data["rgb8"][0])
        nhwc = s.run(data["rgb8"][:1])
    _run_equal(batched, chw, "CHW float vs [1,C,H,W]")
    _run_equal(nhwc, hwc, "HWC uint8 vs [1,H,W,C]")
    assert chw["embedding"].shape[0] == 1


def test_float64_and_float16(model, ref):
    r, data = ref
    f = data["pixel_values"]
    with _ref_session(model, ref) as s:
        f32 = s.run(f)
        f64 = s.run(f.astype(np.float64))
        f16 = s.run(f.astype(np.float16))
    _run_equal(f32, f64, "float64 input")  # float32 -> float64 -> float32 is exact
    for k in f32:
        assert f16[k].dtype == np.float32
        _, cos = helpers.compare(f16[k], f32[k])
        assert cos > 0.99, f"float16 input: {k} cosine {cos}"


def test_non_contiguous_inputs(model, ref):
    r, data = ref
    f, u = data["pixel_values"], data["rgb8"]
    with _ref_session(model, ref) as s:
        base_f = s.run(f)
        base_u = s.run(u)
        # NCHW float as a transposed view of an NHWC buffer.
        view_f = np.ascontiguousarray(f.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
        assert not view_f.flags.c_contiguous
        _run_equal(base_f, s.run(view_f), "non-contiguous float")
        # NHWC uint8 as a strided slice of a wider buffer.
        wide = np.zeros(u.shape[:2] + (u.shape[2] * 2, 3), np.uint8)
        wide[:, :, ::2] = u
        view_u = wide[:, :, ::2]
        assert not view_u.flags.c_contiguous
        _run_equal(base_u, s.run(view_u), "non-contiguous uint8")
        # Fortran order.
        _run_equal(base_f, s.run(np.asfortranarray(f)), "Fortran-ordered float")


def test_list_input_of_floats(model):
    i = model.info
    f, _ = helpers.random_inputs(1, i.image_height, i.image_width)
    with model.session() as s:
        _run_equal(s.run(f), s.run(f.tolist()), "nested list of floats")


def test_outputs_are_owned_copies(model, ref):
    r, data = ref
    with _ref_session(model, ref) as s:
        a = s.run(data["pixel_values"])
        keep = {k: v.copy() for k, v in a.items()}
        for v in a.values():
            assert v.flags.writeable and v.flags.c_contiguous and v.flags.owndata
            v[...] = 0
        b = s.run(data["pixel_values"])
        e = s.output("embedding")
        e[...] = 1
        _run_equal(keep, b, "after writing to returned arrays")
        assert not np.array_equal(s.output("embedding"), e)


def test_rgb8_equals_normalized_float(model, ref):
    """The uint8 path equals normalizing in numpy with info's mean/std."""
    r, data = ref
    f = helpers.normalize_rgb8(data["rgb8"], model.info.image_mean, model.info.image_std)
    with _ref_session(model, ref) as s:
        via_u8 = s.run(data["rgb8"])
        via_f = s.run(f)
    for k in via_u8:
        helpers.assert_close(f"rgb8 vs numpy-normalized {k}", via_u8[k], via_f[k])


# --- lifetime --------------------------------------------------------------------


def test_session_keeps_model_alive(fixture_dir, ref):
    r, data = ref
    s = _ref_session(tessera.Model(fixture_dir), ref)
    gc.collect()
    got = s.run(data["pixel_values"])
    for name, want in _outputs(data).items():
        helpers.assert_close(name, got[name], want)
    s.close()


def test_model_close_closes_sessions(fixture_dir):
    m = tessera.Model(fixture_dir)
    s1, s2 = m.session(), m.session(batch=2)
    s1.close()
    m.close()
    assert m.closed and s1.closed and s2.closed
    with pytest.raises(tessera.StateError):
        s2.run(np.zeros((1, 3, s2.height, s2.width), np.float32))
    m.close()
    s2.close()


def test_context_managers(fixture_dir):
    with tessera.Model(fixture_dir) as m:
        with m.session() as s:
            s.run(np.zeros((1, s.height, s.width, 3), np.uint8))
        assert s.closed and not m.closed
    assert m.closed


def test_garbage_collection_in_any_order(fixture_dir):
    for _ in range(3):
        m = tessera.Model(fixture_dir)
        sessions = [m.session() for _ in range(3)]
        sessions[0].run(np.zeros((1, 3, m.info.image_height, m.info.image_width), np.float32))
        m.cycle = sessions  # model <-> sessions: finalizers run in any order
        del m, sessions
        gc.collect()


def test_threads_share_a_model(model, ref):
    r, data = ref
    with _ref_session(model, ref) as s:
        want = s.run(data["pixel_values"])
    results, errors = [None] * 2, []

    def work(k):
        try:
            with _ref_session(model, ref, threads=1) as s:
                for _ in range(2):
                    results[k] = s.run(data["pixel_values"])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got in results:
        _run_equal(want, got, "run on another thread")


def test_concurrent_run_on_one_session_is_busy_or_serial(model):
    """Two threads on one session: each run either succeeds or raises BusyError."""
    i = model.info
    f, _ = helpers.random_inputs(1, i.image_height, i.image_width)
    outcomes = []
    with model.session(threads=1) as s:
        want = s.run(f)["embedding"]

        def work():
            for _ in range(3):
                try:
                    outcomes.append(np.array_equal(s.run(f)["embedding"], want))
                except tessera.BusyError:
                    outcomes.append("busy")

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(outcomes) == 6
    assert all(o is True or o == "busy" for o in outcomes), outcomes
    assert any(o is True for o in outcomes)
