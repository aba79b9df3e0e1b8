#!/usr/bin/env bash
# scripts/install.sh --prefix DIR: installs Tessera for C and C++ hosts and
# the command-line tool:
#
#   DIR/lib/libtessera.so.X.Y.Z        SONAME libtessera.so.X (X: the major version)
#   DIR/lib/libtessera.so.X, libtessera.so   symlinks
#   DIR/include/tessera.h
#   DIR/lib/pkgconfig/tessera.pc       cc app.c $(pkg-config --cflags --libs tessera)
#   DIR/lib/cmake/Tessera/             find_package(Tessera) -> Tessera::tessera
#   DIR/bin/tessera                    the CLI
#
# Builds the release library and CLI first (swift build -c release). Needs
# patchelf (to set the SONAME on the installed copy; the build tree keeps the
# unversioned library that the repository's own tests link); installs it with
# apt-get when it is missing. With PKG_CONFIG_PATH=DIR/lib/pkgconfig and
# CMAKE_PREFIX_PATH=DIR, a prefix outside the system's paths works too.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
prefix=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:-}"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown argument '$1'; usage: scripts/install.sh --prefix DIR" >&2; exit 2 ;;
    esac
done
[ -n "$prefix" ] || { echo "install.sh: --prefix DIR is required" >&2; exit 2; }

version="$(sed -n 's/^#define TESSERA_VERSION_STRING "\(.*\)"$/\1/p' include/tessera.h)"
major="${version%%.*}"
[ -n "$version" ] || { echo "install.sh: no TESSERA_VERSION_STRING in include/tessera.h" >&2; exit 1; }

if ! command -v patchelf >/dev/null; then
    echo "install.sh: installing patchelf"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq patchelf >/dev/null
fi

echo "install.sh: building the library and the CLI (release)"
swift build -c release --product tessera 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
swift build -c release --product tessera-cli 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
for f in .build/release/libtessera.so .build/release/tessera-cli; do
    [ -f "$f" ] || { echo "install.sh: $f was not built" >&2; exit 1; }
done

mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
lib="$prefix/lib"
mkdir -p "$lib/pkgconfig" "$lib/cmake/Tessera" "$prefix/include" "$prefix/bin"

real="libtessera.so.$version"
install -m 0755 .build/release/libtessera.so "$lib/$real"
patchelf --set-soname "libtessera.so.$major" "$lib/$real"
ln -sfn "$real" "$lib/libtessera.so.$major"
ln -sfn "libtessera.so.$major" "$lib/libtessera.so"
install -m 0644 include/tessera.h "$prefix/include/tessera.h"
install -m 0755 .build/release/tessera-cli "$prefix/bin/tessera"

sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" scripts/install/tessera.pc.in >"$lib/pkgconfig/tessera.pc"
sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" scripts/install/TesseraConfig.cmake.in \
    >"$lib/cmake/Tessera/TesseraConfig.cmake"
sed -e "s|@VERSION@|$version|g" scripts/install/TesseraConfigVersion.cmake.in \
    >"$lib/cmake/Tessera/TesseraConfigVersion.cmake"

echo "install.sh: installed Tessera $version into $prefix"
echo "  C:     cc app.c \$(pkg-config --cflags --libs tessera)   (PKG_CONFIG_PATH=$lib/pkgconfig)"
echo "  CMake: find_package(Tessera REQUIRED); target_link_libraries(app Tessera::tessera)   (CMAKE_PREFIX_PATH=$prefix)"
echo "  CLI:   $prefix/bin/tessera --help"
