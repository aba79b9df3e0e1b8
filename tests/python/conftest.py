"""pytest setup for the Python binding's tests.

Run from the repository root:  .venv-py/bin/python -m pytest tests/python -q

The binding is imported from bindings/python (no install needed); the
library is found as the binding finds it (TESSERA_LIBRARY, or the
repository's .build/release). Fixtures come from Tests/Fixtures/*/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "bindings" / "python"))

import helpers  # noqa: E402
import tessera  # noqa: E402

FIXTURE_DIRS = helpers.fixture_dirs()
REFERENCES = helpers.all_references()


def pytest_report_header(config):
    lines = [f"tessera binding from {Path(tessera.__file__).parent}"]
    try:
        lines.append(f"libtessera {tessera.version()} from {tessera.library_path()}")
    except Exception as e:  # reported again by every test that needs it
        lines.append(f"libtessera not loadable: {e}")
    lines.append(f"fixtures: {[d.name for d in FIXTURE_DIRS] or 'none in ' + str(helpers.FIXTURES)}")
    return lines


@pytest.fixture(scope="session")
def lib():
    """The loaded library (fails the test with the binding's message if it cannot load)."""
    from tessera import _library

    return _library.lib()


def _need_fixtures():
    if not FIXTURE_DIRS:
        pytest.skip(f"no fixtures in {helpers.FIXTURES}")


@pytest.fixture(scope="session")
def fixture_dir(lib) -> Path:
    """The smallest fixture with float32 weights (by file size), for the error and
    session tests."""
    _need_fixtures()
    return min(FIXTURE_DIRS, key=lambda d: (not helpers.all_f32(d),
                                            (d / "model.safetensors").stat().st_size))


@pytest.fixture(scope="session")
def model(fixture_dir):
    m = tessera.Model(fixture_dir)
    yield m
    m.close()


@pytest.fixture
def model_copy(fixture_dir, tmp_path) -> Path:
    """A copy of the smallest fixture's config.json and model.safetensors in tmp_path."""
    dst = tmp_path / "model"
    dst.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(fixture_dir / name, dst / name)
    return dst


@pytest.fixture(scope="session")
def any_reference(fixture_dir) -> helpers.Reference:
    """A reference of the smallest fixture (fewest pixels)."""
    refs = helpers.references(fixture_dir)
    if not refs:
        pytest.skip(f"no reference_<H>x<W>.safetensors in {fixture_dir}")
    return min(refs, key=lambda r: r.height * r.width)


@pytest.fixture(scope="module", params=[d.name for d in FIXTURE_DIRS])
def any_model(request):
    """Each fixture model in turn, loaded once per test module."""
    m = tessera.Model(helpers.FIXTURES / request.param)
    yield m
    m.close()
