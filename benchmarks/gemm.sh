#!/usr/bin/env bash
# GEMM GFLOP/s per kernel variant against numpy/OpenBLAS on the ViT shapes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product tessera-gemm-bench 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
exec .venv-py/bin/python benchmarks/gemm.py "$@"
