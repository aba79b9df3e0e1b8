#!/usr/bin/env bash
# Tessera installed as its users install it, used from outside the repository:
#
# 1. scripts/install.sh --prefix into a temporary directory; the library's
#    SONAME and symlinks; nothing missing in ldd; examples/c/embed.c built
#    from /tmp with pkg-config and with a CMake project (find_package), both
#    run on a fixture; the installed CLI runs.
# 2. pip install ./bindings/python into a new venv, then Python from /tmp
#    (no TESSERA_LIBRARY): the package's own libtessera.so.
# 3. pip wheel ./bindings/python: a py3-none-linux_x86_64 wheel that installs
#    into another new venv and runs with no Swift toolchain on PATH.
#
# Environment: KEEP=1 keeps the temporary directory. Needs network access to
# PyPI for the venvs' numpy and setuptools.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tmp="$(mktemp -d /tmp/tessera-packaging.XXXXXX)"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
fixture="$root/Tests/Fixtures/vit_hf"
status=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; status=1; }
check() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

echo "== 1. scripts/install.sh --prefix $tmp/prefix"
if bash "$root/scripts/install.sh" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
    pass "install.sh"
else
    tail -20 "$tmp/install.log"; fail "install.sh"
fi
p="$tmp/prefix"
version="$(sed -n 's/^#define TESSERA_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/tessera.h")"
major="${version%%.*}"
check "lib/libtessera.so.$version has SONAME libtessera.so.$major" \
    bash -c "readelf -d '$p/lib/libtessera.so.$version' | grep -q 'SONAME.*\[libtessera.so.$major\]'"
check "symlinks libtessera.so -> .so.$major -> .so.$version" \
    test "$(readlink "$p/lib/libtessera.so")" = "libtessera.so.$major" -a "$(readlink "$p/lib/libtessera.so.$major")" = "libtessera.so.$version"
check "ldd: nothing missing" bash -c "! ldd '$p/lib/libtessera.so.$version' | grep -q 'not found'"
check "include/tessera.h, pkgconfig, cmake files" \
    test -f "$p/include/tessera.h" -a -f "$p/lib/pkgconfig/tessera.pc" -a -f "$p/lib/cmake/Tessera/TesseraConfig.cmake"

mkdir -p "$tmp/c" && cp "$root/examples/c/embed.c" "$tmp/c/"
(
    cd /tmp
    export PKG_CONFIG_PATH="$p/lib/pkgconfig"
    check "pkg-config --modversion tessera = $version" test "$(pkg-config --modversion tessera)" = "$version"
    # shellcheck disable=SC2046
    check "cc embed.c \$(pkg-config --cflags --libs tessera) from /tmp" \
        cc -std=c11 -Wall -Werror "$tmp/c/embed.c" -o "$tmp/c/embed-pc" $(pkg-config --cflags --libs tessera) -lm
    check "the pkg-config build needs libtessera.so.$major from the prefix" \
        bash -c "ldd '$tmp/c/embed-pc' | grep -q 'libtessera.so.$major => $p/lib/'"
    check "the pkg-config build runs on $(basename "$fixture")" bash -c "'$tmp/c/embed-pc' '$fixture' | grep -q '^embedding '"
)

mkdir -p "$tmp/cmake"
cat >"$tmp/cmake/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(tessera_user C)
find_package(Tessera $major REQUIRED)
add_executable(embed $tmp/c/embed.c)
target_link_libraries(embed PRIVATE Tessera::tessera m)
CMAKE
if (cd /tmp && cmake -S "$tmp/cmake" -B "$tmp/cmake/build" -DCMAKE_PREFIX_PATH="$p" >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$tmp/cmake/build" >>"$tmp/cmake.log" 2>&1); then
    pass "CMake project with find_package(Tessera $major) builds"
    check "the CMake build runs on $(basename "$fixture")" bash -c "'$tmp/cmake/build/embed' '$fixture' | grep -q '^embedding '"
else
    tail -20 "$tmp/cmake.log"; fail "CMake project with find_package(Tessera)"
fi
check "installed CLI: tessera info" bash -c "cd /tmp && '$p/bin/tessera' info '$fixture' | grep -q '^family'"

echo "== 2. pip install ./bindings/python into a new venv, used from /tmp"
python3 -m venv "$tmp/venv"
if "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$root/bindings/python" >"$tmp/pip.log" 2>&1; then
    pass "pip install ./bindings/python"
else
    tail -20 "$tmp/pip.log"; fail "pip install ./bindings/python"
fi
cat >"$tmp/use.py" <<'PY'
import os, sys
import numpy as np
import tessera
lib = tessera.library_path()
assert os.path.dirname(lib) == os.path.dirname(tessera.__file__), lib
assert "site-packages" in lib, lib
with tessera.Model(sys.argv[1]) as m:
    s = m.session(outputs=["embedding"])
    out = s.run(np.zeros((m.info.image_height, m.info.image_width, 3), np.uint8))
    assert out["embedding"].shape == (1, m.info.hidden_size)
print("ok", tessera.version(), lib)
PY
check "import tessera from /tmp uses the package's own library" \
    bash -c "cd /tmp && env -u TESSERA_LIBRARY '$tmp/venv/bin/python' '$tmp/use.py' '$fixture'"

echo "== 3. pip wheel ./bindings/python, installed without a Swift toolchain"
if "$tmp/venv/bin/pip" wheel -q --disable-pip-version-check --no-deps "$root/bindings/python" -w "$tmp/wheels" \
    >"$tmp/wheel.log" 2>&1; then
    pass "pip wheel"
else
    tail -20 "$tmp/wheel.log"; fail "pip wheel"
fi
wheel="$(ls "$tmp"/wheels/tessera-*.whl 2>/dev/null | head -1)"
check "a platform wheel: $(basename "${wheel:-none}")" bash -c "[[ '$wheel' == *-py3-none-linux_x86_64.whl ]]"
check "the wheel holds libtessera.so" bash -c "python3 -m zipfile -l '$wheel' | grep -q 'tessera/libtessera.so'"
python3 -m venv "$tmp/venv2"
nosw="/usr/local/bin:/usr/bin:/bin"
check "the wheel installs into a fresh venv" \
    env PATH="$nosw" "$tmp/venv2/bin/pip" install -q --disable-pip-version-check "$wheel"
check "and runs from /tmp with no swift on PATH" \
    bash -c "cd /tmp && ! PATH='$nosw' command -v swift >/dev/null && env -u TESSERA_LIBRARY PATH='$nosw' '$tmp/venv2/bin/python' '$tmp/use.py' '$fixture'"

echo
if [ "$status" -eq 0 ]; then echo "packaging: all checks passed"; else echo "packaging: some checks FAILED"; fi
exit "$status"
