#!/usr/bin/env bash
# Side-by-side end-to-end benchmark of Tessera against ONNX Runtime, OpenVINO
# and PyTorch eager. One command:
#
#     benchmarks/run.sh            # full run (about 15-20 minutes on 2 cores)
#     benchmarks/run.sh --quick    # a short run to try it out
#     benchmarks/run.sh --rows base   # only the rows whose name contains "base"
#     benchmarks/run.sh --paired      # all runtimes in one process per row, one
#                                     # run each in turn: per-round ratios (paired.py)
#     benchmarks/run.sh --hide-avx512 [...]   # every runtime sees this CPU without
#                                     # AVX-512, AVX-VNNI and AMX (hide_avx512.c):
#                                     # the kernels of an AVX2 machine without VNNI
#
# Every other argument is passed to benchmarks/run.py (see --help there).
#
# It (1) sets up the virtual environment benchmarks/.venv with the pinned
# versions in benchmarks/requirements.txt, (2) compiles the C probes into
# benchmarks/.bin, (3) makes the random-weight models in benchmarks/.models
# (cached) and (4) runs the driver, which writes benchmarks/results/latest.md.
#
# The environment: benchmarks/.venv is always a venv of its own. When
# /work/refvenv (or $TESSERA_BENCH_SEED) exists, the new venv is seeded from
# it: a .pth file puts the seed's site-packages on the path *after* the venv's
# own, so the seed's torch/timm/onnx/onnxruntime (several GB with the CUDA
# wheels) are reused instead of downloaded again, and only what is missing
# (openvino) is installed into benchmarks/.venv. pip never modifies the seed.
# Without a seed everything is installed from PyPI into benchmarks/.venv
# (slow: torch's wheel pulls the CUDA libraries). Set TESSERA_BENCH_SEED=none
# to force that.
#
# The library under test: $TESSERA_LIBRARY, default .build/release/libtessera.so
# of this repository (run.sh does not build it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="$HERE/.venv"
SEED="${TESSERA_BENCH_SEED:-/work/refvenv}"
REQ="$HERE/requirements.txt"
BIN="$HERE/.bin"
export TESSERA_LIBRARY="${TESSERA_LIBRARY:-$ROOT/.build/release/libtessera.so}"

log() { printf '[run.sh] %s\n' "$*" >&2; }

if [[ ! -f "$TESSERA_LIBRARY" ]]; then
    log "no $TESSERA_LIBRARY: build it first (swift build -c release --product tessera) or set TESSERA_LIBRARY"
    exit 1
fi

# --- 1. the virtual environment ---------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    if [[ "$SEED" != none && -x "$SEED/bin/python" ]]; then
        log "creating $VENV seeded from $SEED"
        "$SEED/bin/python" -m venv "$VENV"
        site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        seed_site="$("$SEED/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        echo "$seed_site" > "$site/_tessera_bench_seed.pth"
    else
        log "creating $VENV (no seed: everything comes from PyPI, torch with its CUDA wheels is slow)"
        python3 -m venv "$VENV"
    fi
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "installing the pinned requirements into $VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
    echo "$want" > "$stamp"
fi

# --- 2. the C programs ---------------------------------------------------------
mkdir -p "$BIN"
CC="${CC:-cc}"
build() { # out src flags...
    local out="$1" src="$2"; shift 2
    if [[ ! -x "$out" || "$src" -nt "$out" ]]; then
        log "compiling $(basename "$out")"
        "$CC" "$@" -o "$out" "$src"
    fi
}
build "$BIN/fma_peak_avx2"   "$HERE/fma_peak.c" -O2 -mavx2 -mfma -DPEAK_AVX2
build "$BIN/fma_peak_avx512" "$HERE/fma_peak.c" -O2 -mavx512f -mfma -DPEAK_AVX512
libdir="$(dirname "$TESSERA_LIBRARY")"
if [[ ! -x "$BIN/bench_tessera" || "$HERE/bench_tessera.c" -nt "$BIN/bench_tessera" \
      || "$ROOT/include/tessera.h" -nt "$BIN/bench_tessera" ]]; then
    log "compiling bench_tessera"
    "$CC" -O2 -std=c11 -Wall -Wextra -I"$ROOT/include" -o "$BIN/bench_tessera" \
        "$HERE/bench_tessera.c" -L"$libdir" -l:"$(basename "$TESSERA_LIBRARY")" \
        -Wl,-rpath,"$libdir" -lm
fi

# --hide-avx512 (anywhere among the arguments): every process started from
# here on sees the CPU without AVX-512, AVX-VNNI and AMX (CPUID faulting,
# benchmarks/hide_avx512.c), so that Tessera, ONNX Runtime, OpenVINO and
# PyTorch all pick their AVX2 kernels; refused where the kernel cannot fault
# CPUID, rather than measuring the unmasked CPU under that name.
args=()
hide=0
for a in "$@"; do
    if [[ "$a" == --hide-avx512 ]]; then hide=1; else args+=("$a"); fi
done
set -- "${args[@]+"${args[@]}"}"
if (( hide )); then
    build "$BIN/hide_avx512.so" "$HERE/hide_avx512.c" -O2 -shared -fPIC
    export LD_PRELOAD="$BIN/hide_avx512.so${LD_PRELOAD:+:$LD_PRELOAD}"
    if ! "$VENV/bin/python" -c 'import os, sys; sys.exit(os.environ.get("hide_avx512_active") != "1")'; then
        log "--hide-avx512: this kernel cannot fault CPUID (no cpuid_fault), so the features cannot be hidden"
        exit 1
    fi
    log "AVX-512, AVX-VNNI and AMX hidden from every runtime (benchmarks/hide_avx512.c)"
fi

# --- 3 + 4. models and the driver ----------------------------------------------
export PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
"$VENV/bin/python" "$HERE/make_models.py"
if [[ "${1:-}" == --paired ]]; then
    shift
    exec "$VENV/bin/python" "$HERE/paired.py" "$@"
fi
exec "$VENV/bin/python" "$HERE/run.py" "$@"
