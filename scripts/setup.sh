#!/usr/bin/env bash
# Installs what building and testing Tessera needs on a fresh Debian machine
# with the Swift toolchain: C libraries for the CLI's image decoding, cmake and
# patchelf for the install test, and a
# Python virtual environment (.venv-py) with numpy and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in pkg-config libpng-dev libjpeg62-turbo-dev cmake patchelf; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv-py/bin/python ]; then
    echo "setup: creating .venv-py"
    python3 -m venv .venv-py
fi
# numpy for the binding; pytest, Pillow, FAISS and Ray Data for the tests and examples.
.venv-py/bin/python -c "import numpy, pytest, PIL, faiss, ray.data" 2>/dev/null ||
    .venv-py/bin/pip install -q --disable-pip-version-check numpy pytest "pillow==13.0.0" "faiss-cpu==1.15.1" "ray[data]==2.60.0"
