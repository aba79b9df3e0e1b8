"""The library itself: version, the header mirrored by _library.py, lookup."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import helpers
import tessera
from tessera import _library
from tessera import errors

HEADER_TEXT = helpers.HEADER.read_text()
BINDING = str(helpers.REPO / "bindings" / "python")


def _header_define(name: str) -> str:
    m = re.search(rf"^#define\s+{name}\s+(\S+)", HEADER_TEXT, re.M)
    assert m, f"{name} not in {helpers.HEADER}"
    return m.group(1)


def test_version(lib):
    v = tessera.version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", v), v
    assert v == _header_define("TESSERA_VERSION_STRING").strip('"')
    major, minor, patch = (int(x) for x in v.split("."))
    assert (major, minor, patch) == (
        int(_header_define("TESSERA_VERSION_MAJOR")),
        int(_header_define("TESSERA_VERSION_MINOR")),
        int(_header_define("TESSERA_VERSION_PATCH")),
    )
    assert _library.VERSION_STRING == v


def test_status_strings(lib):
    for status in range(0, 10):
        s = tessera.status_string(status)
        assert isinstance(s, str) and s, f"empty name for status {status}"
    assert tessera.status_string(12345) is not None  # unknown codes are not a crash


def test_last_error_empty_or_string(lib):
    assert isinstance(_library.decode(lib.tessera_last_error()), str)


# --- the header, mirrored --------------------------------------------------------

_CTYPE_SIZES = {
    "size_t": 8, "int32_t": 4, "uint32_t": 4, "int64_t": 8, "uint64_t": 8,
    "float": 4, "char": 1, "tessera_family": 4, "tessera_pos_resize": 4,
    "tessera_isa": 4, "tessera_status": 4, "tessera_output": 4, "tessera_precision": 4,
}


def _header_struct(name: str):
    m = re.search(rf"typedef struct {name} \{{(.*?)\}} {name};", HEADER_TEXT, re.S)
    assert m, f"struct {name} not in the header"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    fields = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        fm = re.fullmatch(r"(\w+)\s+(\w+)(?:\[(\d+)\])?", decl)
        assert fm, f"cannot parse field {decl!r} of {name}"
        fields.append((fm.group(2), fm.group(1), int(fm.group(3) or 1)))
    return fields


@pytest.mark.parametrize("struct", [_library.tessera_model_info,
                                    _library.tessera_session_options,
                                    _library.tessera_session_options_48,
                                    _library.tessera_session_info],
                         ids=lambda s: s.__name__)
def test_struct_mirrors_header(struct):
    header_fields = _header_struct(struct.__name__)
    py_fields = struct._fields_
    assert [f[0] for f in py_fields] == [f[0] for f in header_fields]
    for (name, ctype), (_, ctype_name, count) in zip(py_fields, header_fields):
        assert ctypes.sizeof(ctype) == _CTYPE_SIZES[ctype_name] * count, (
            f"{struct.__name__}.{name}: {ctypes.sizeof(ctype)} bytes, header says "
            f"{ctype_name}[{count}]"
        )


def test_struct_offsets_match_c_compiler(tmp_path):
    """Compiles a tiny C program against the header and compares every offset."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    lines = []
    for struct in (_library.tessera_model_info, _library.tessera_session_options,
                   _library.tessera_session_options_48, _library.tessera_session_info):
        n = struct.__name__
        lines.append(f'printf("{n} sizeof %zu\\n", sizeof({n}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{n} {field} %zu\\n", offsetof({n}, {field}));')
    src = tmp_path / "offsets.c"
    src.write_text(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"tessera.h\"\n"
        "int main(void) {\n" + "\n".join(lines) + "\nreturn 0; }\n"
    )
    exe = tmp_path / "offsets"
    subprocess.run([cc, "-I", str(helpers.HEADER.parent), str(src), "-o", str(exe)],
                   check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        sname, field, value = line.split()
        struct = getattr(_library, sname)
        got = ctypes.sizeof(struct) if field == "sizeof" else getattr(struct, field).offset
        assert got == int(value), f"{sname}.{field}: ctypes {got}, C {value}"


def test_constants_match_header():
    defines = dict(re.findall(r"^#define\s+TESSERA_(\w+)\s+(-?\d+)\b", HEADER_TEXT, re.M))
    assert defines, "no numeric #defines found"
    for name, value in defines.items():
        assert getattr(_library, name) == int(value), f"TESSERA_{name}"
    assert _library.OUTPUT_LAYER(3) == int(defines["OUTPUT_LAYER_BASE"]) + 3
    assert re.search(r"#define TESSERA_OUTPUTS_EXPLICIT\s+\(1u << 31\)", HEADER_TEXT)
    assert _library.OUTPUTS_EXPLICIT == 1 << 31
    assert re.search(r"#define TESSERA_OUTPUT_BIT\(which\) \(1u << \(which\)\)", HEADER_TEXT)
    assert _library.OUTPUT_BIT(_library.OUTPUT_PATCH_TOKENS) == 1 << 2
    statuses = {int(v) for k, v in defines.items() if k.startswith("ERR_")}
    assert statuses == set(errors.ERRORS), "one exception class per status code"
    for code, cls in errors.ERRORS.items():
        assert cls.status == code and issubclass(cls, tessera.TesseraError)


def test_functions_match_header():
    text = re.sub(r"/\*.*?\*/", "", HEADER_TEXT, flags=re.S)
    protos = dict(
        (name, params)
        for name, params in re.findall(r"\b(tessera_\w+)\s*\(([^)]*)\)\s*;", text)
    )
    assert set(protos) == set(_library.FUNCTIONS)
    for name, params in protos.items():
        params = params.strip()
        count = 0 if params in ("", "void") else params.count(",") + 1
        assert len(_library.FUNCTIONS[name][1]) == count, f"{name}: argument count"


# --- lookup ----------------------------------------------------------------------


def _python(code: str, env_extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra)
    prog = f"import sys; sys.path.insert(0, {BINDING!r})\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", prog], env=env, capture_output=True,
                          text=True, timeout=120)


def test_env_var_is_used(lib):
    path = tessera.library_path()
    r = _python("import tessera; print(tessera.library_path()); print(tessera.version())",
                {"TESSERA_LIBRARY": path})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [path, tessera.version()]


def test_env_var_wrong_path_names_it(tmp_path):
    bogus = str(tmp_path / "nowhere" / "libtessera.so")
    r = _python(
        """
        import tessera
        try:
            tessera.version()
        except tessera.LibraryNotFoundError as e:
            print("ERR", e)
        """,
        {"TESSERA_LIBRARY": bogus},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ERR"), r.stdout
    assert bogus in r.stdout and "TESSERA_LIBRARY" in r.stdout


def test_import_does_not_need_the_library(tmp_path):
    r = _python("import tessera; print(tessera.__version__)",
                {"TESSERA_LIBRARY": str(tmp_path / "missing.so")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == _library.VERSION_STRING


def test_candidate_paths_order(monkeypatch):
    monkeypatch.delenv("TESSERA_LIBRARY", raising=False)
    paths = _library.candidate_paths()
    pkg = os.path.dirname(os.path.abspath(tessera.__file__))
    assert paths[0] == os.path.join(pkg, "libtessera.so")
    release = str(helpers.REPO / ".build" / "release" / "libtessera.so")
    debug = str(helpers.REPO / ".build" / "debug" / "libtessera.so")
    assert release in paths and debug in paths
    assert paths.index(release) < paths.index(debug)
    monkeypatch.setenv("TESSERA_LIBRARY", "/x/libtessera.so")
    assert _library.candidate_paths() == ["/x/libtessera.so"]
