#!/usr/bin/env bash
# run.sh — builds and runs the C checks against libtessera.so.
#
#   tests/c/run.sh [path/to/libtessera.so]      (default .build/release/libtessera.so)
#
# 1. compiles examples/c/embed.c and tests/c/test_api.c with -Werror against
#    include/tessera.h and the library;
# 2. tests/c/check_exports.sh: the .so exports exactly the header's functions;
# 3. test_api Tests/Fixtures: the whole C API against the reference fixtures;
#    test_outputs: outputs on demand, session info and views; test_abi_0_1: a
#    program built against the 0.1.0 header;
# 4. the example on one fixture (and on its reference image when it has one).
#
# Environment: CC (default cc), BUILD_DIR (default build/c), FIXTURES
# (default Tests/Fixtures), VALGRIND=1 to run test_api under valgrind's
# leak checker as well (TESSERA_TEST_CYCLES shortens the cycle test there).
# Exits non-zero if any step fails.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

lib="${1:-.build/release/libtessera.so}"
CC="${CC:-cc}"
BUILD_DIR="${BUILD_DIR:-build/c}"
FIXTURES="${FIXTURES:-Tests/Fixtures}"

status=0
step() { echo; echo "== $*"; }
bad() { echo "run.sh: FAILED: $*"; status=1; }

if [ ! -f "$lib" ]; then
    echo "run.sh: $lib not found; build it with: swift build -c release --product tessera" >&2
    exit 1
fi
libdir="$(cd "$(dirname "$lib")" && pwd)"
libname="$(basename "$lib")"
lib_abs="$libdir/$libname"
mkdir -p "$BUILD_DIR"

cflags=(-std=c11 -Wall -Wextra -Werror -O2 -g -Iinclude)
if [ "$libname" = "libtessera.so" ]; then link=(-L"$libdir" -ltessera); else link=("$lib_abs"); fi
link+=(-Wl,-rpath,"$libdir" -lm -pthread)

step "include/tessera.h compiles on its own (C99 and C11 -Wpedantic, C++ if available)"
printf '#include "tessera.h"\n#include "tessera.h"\nint tessera_header_check(void) { return TESSERA_OK; }\n' >"$BUILD_DIR/header_check.c"
for std in c99 c11; do
    "$CC" -std=$std -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$BUILD_DIR/header_check.c" \
        -o "$BUILD_DIR/header_check_$std.o" && echo "ok: -std=$std" || bad "tessera.h under -std=$std -Wpedantic"
done
CXX="${CXX:-c++}"
if command -v "$CXX" >/dev/null 2>&1; then
    cp "$BUILD_DIR/header_check.c" "$BUILD_DIR/header_check.cpp"
    "$CXX" -std=c++11 -Wall -Wextra -Wpedantic -Werror -Iinclude -c "$BUILD_DIR/header_check.cpp" \
        -o "$BUILD_DIR/header_check_cxx.o" && echo "ok: -std=c++11" || bad "tessera.h as C++11"
fi

step "build examples/c/embed.c"
"$CC" "${cflags[@]}" examples/c/embed.c -o "$BUILD_DIR/embed" "${link[@]}" || bad "build embed.c"

step "build tests/c/test_api.c"
"$CC" "${cflags[@]}" -pthread tests/c/test_api.c -o "$BUILD_DIR/test_api" "${link[@]}" || bad "build test_api.c"

step "build tests/c/test_outputs.c; outputs on demand, session info, borrowed views"
if "$CC" "${cflags[@]}" tests/c/test_outputs.c -o "$BUILD_DIR/test_outputs" "${link[@]}"; then
    "$BUILD_DIR/test_outputs" "$FIXTURES" >"$BUILD_DIR/test_outputs.out" 2>&1 || bad "test_outputs"
    tail -n 5 "$BUILD_DIR/test_outputs.out"
else
    bad "build test_outputs.c"
fi

step "a program built against tessera.h 0.1.0 (tests/c/abi) runs against this library"
"$CC" "${cflags[@]/-Iinclude/-Itests/c/abi}" tests/c/test_abi_0_1.c -o "$BUILD_DIR/test_abi_0_1" "${link[@]}" &&
    "$BUILD_DIR/test_abi_0_1" "$FIXTURES/dinov2_reg_hf" || bad "test_abi_0_1"

step "build tests/c/test_no_alloc.c"
"$CC" "${cflags[@]}" tests/c/test_no_alloc.c -o "$BUILD_DIR/test_no_alloc" "${link[@]}" || bad "build test_no_alloc.c"
# Every kernel variant this CPU runs (TESSERA_ISA picks it; the AVX-512 tile
# shapes built for AVX2 stand in for AVX-512 where the CPU lacks it), on a
# model with registers and layer scale, on a plain ViT and on DINOv3 (RoPE, SwiGLU).
variants=(portable)
grep -qw avx2 /proc/cpuinfo && variants+=(avx2 avx512-on-avx2)
grep -qw avx512f /proc/cpuinfo && variants+=(avx512)
for isa in "${variants[@]}"; do
    for fixture in dinov2_reg_hf vit_hf dinov3_swiglu_hf; do
        for threads in 1 2 3; do
            step "no heap allocation inside run ($isa, $fixture, $threads threads)"
            TESSERA_ISA=$isa "$BUILD_DIR/test_no_alloc" "$FIXTURES/$fixture" "$threads" ||
                bad "test_no_alloc $isa $fixture $threads"
        done
    done
done
# The int8 tiles a CPU with VNNI does not pick by default (vpmaddubsw, 7-bit).
grep -qw avx_vnni /proc/cpuinfo && { step "no heap allocation inside run (avx2, int8 tile avx2 7-bit)"
    TESSERA_ISA=avx2 TESSERA_INT8_TILE=avx2 "$BUILD_DIR/test_no_alloc" "$FIXTURES/vit_hf" 2 || bad "test_no_alloc avx2 7-bit"; }
grep -qw avx512_vnni /proc/cpuinfo && { step "no heap allocation inside run (avx512, int8 tile avx512-bw 7-bit)"
    TESSERA_INT8_TILE=avx512-bw "$BUILD_DIR/test_no_alloc" "$FIXTURES/vit_hf" 2 || bad "test_no_alloc avx512-bw 7-bit"; }

step "build tests/c/test_threads.c"
"$CC" "${cflags[@]}" -pthread tests/c/test_threads.c -o "$BUILD_DIR/test_threads" "${link[@]}" || bad "build test_threads.c"
step "threads: shared model, per-thread sessions; concurrent runs on one session"
"$BUILD_DIR/test_threads" "$FIXTURES/dinov2_reg_hf" 100 || bad "test_threads"

step "check exports of $lib_abs"
bash "$here/check_exports.sh" "$lib_abs" include/tessera.h || bad "check_exports.sh"

if [ -x "$BUILD_DIR/test_api" ]; then
    step "test_api $FIXTURES"
    "$BUILD_DIR/test_api" "$FIXTURES" || bad "test_api"
    if grep -qw avx2 /proc/cpuinfo; then
        step "test_api $FIXTURES with the AVX-512 tile shapes built for AVX2"
        TESSERA_ISA=avx512-on-avx2 "$BUILD_DIR/test_api" "$FIXTURES" >"$BUILD_DIR/test_api_wide.out" 2>&1 ||
            { tail -n 30 "$BUILD_DIR/test_api_wide.out"; bad "test_api (avx512-on-avx2)"; }
        grep -q "isa=avx512-on-avx2" "$BUILD_DIR/test_api_wide.out" || bad "test_api did not run avx512-on-avx2"
        tail -n 1 "$BUILD_DIR/test_api_wide.out"
    fi
    # An AVX-512 CPU that can fault CPUID poses as an AVX2 machine without
    # VNNI (benchmarks/hide_avx512.c): the library must then pick the avx2
    # variant and the 7-bit int8 tile by itself, as it would on such a CPU.
    if grep -qw avx512f /proc/cpuinfo && grep -qw cpuid_fault /proc/cpuinfo; then
        step "test_api $FIXTURES with AVX-512 and VNNI hidden from CPUID"
        "$CC" -O2 -shared -fPIC benchmarks/hide_avx512.c -o "$BUILD_DIR/hide_avx512.so" || bad "build hide_avx512.c"
        LD_PRELOAD="$BUILD_DIR/hide_avx512.so" "$BUILD_DIR/test_api" "$FIXTURES" >"$BUILD_DIR/test_api_hidden.out" 2>&1 ||
            { tail -n 30 "$BUILD_DIR/test_api_hidden.out"; bad "test_api (AVX-512 hidden)"; }
        grep -q "isa=avx2" "$BUILD_DIR/test_api_hidden.out" || bad "test_api with AVX-512 hidden did not pick avx2"
        grep -q "isa=avx512" "$BUILD_DIR/test_api_hidden.out" && bad "test_api with AVX-512 hidden still ran avx512"
        LD_PRELOAD="$BUILD_DIR/hide_avx512.so" "$BUILD_DIR/test_no_alloc" "$FIXTURES/vit_hf" 2 >"$BUILD_DIR/no_alloc_hidden.out" 2>&1 ||
            { cat "$BUILD_DIR/no_alloc_hidden.out"; bad "test_no_alloc (AVX-512 hidden)"; }
        grep -q "int8 avx2 6x16 7-bit" "$BUILD_DIR/no_alloc_hidden.out" || bad "no VNNI: the int8 tile is not avx2 7-bit"
        tail -n 1 "$BUILD_DIR/test_api_hidden.out"
    fi
    if [ "${VALGRIND:-0}" = "1" ]; then
        step "test_api under valgrind"
        valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite "$BUILD_DIR/test_api" "$FIXTURES" >"$BUILD_DIR/valgrind.out" 2>&1
        rc=$?
        tail -n 25 "$BUILD_DIR/valgrind.out"
        [ "$rc" -eq 0 ] || bad "test_api under valgrind (exit $rc, log $BUILD_DIR/valgrind.out)"
    fi
fi

if [ -x "$BUILD_DIR/embed" ]; then
    # The first model fixture (a directory with config.json and model.safetensors).
    fixture=""
    for d in "$FIXTURES"/*/; do
        if [ -f "$d/config.json" ] && [ -f "$d/model.safetensors" ]; then fixture="${d%/}"; break; fi
    done
    if [ -z "$fixture" ]; then
        bad "no model fixture in $FIXTURES for the example"
    else
        step "embed $fixture (synthetic image)"
        "$BUILD_DIR/embed" "$fixture" || bad "embed $fixture"
        # A raw RGB file of the trained size (a black image), and one of the wrong size.
        size="$("$BUILD_DIR/embed" "$fixture" 2>/dev/null | sed -nE 's/.*trained size ([0-9]+)x([0-9]+) \(HxW\).*/\1 \2/p')"
        if [ -n "$size" ]; then
            read -r h w <<<"$size"
            head -c $((w * h * 3)) /dev/zero >"$BUILD_DIR/black.rgb"
            step "embed $fixture black.rgb $w $h"
            "$BUILD_DIR/embed" "$fixture" "$BUILD_DIR/black.rgb" "$w" "$h" || bad "embed with an image file"
            head -c $((w * h * 3 - 1)) /dev/zero >"$BUILD_DIR/short.rgb"
            if "$BUILD_DIR/embed" "$fixture" "$BUILD_DIR/short.rgb" "$w" "$h" >/dev/null 2>"$BUILD_DIR/embed.err"; then
                bad "embed with a file one byte short should exit non-zero"
            else
                echo "short image file -> $(cat "$BUILD_DIR/embed.err")"
            fi
        fi
        step "embed usage errors"
        if "$BUILD_DIR/embed" "$FIXTURES/does-not-exist" >/dev/null 2>"$BUILD_DIR/embed.err"; then
            bad "embed on a nonexistent model should exit non-zero"
        else
            echo "nonexistent model -> $(cat "$BUILD_DIR/embed.err")"
        fi
    fi
fi

# ---- examples/c/match.c (patch matching example; self-contained block) ----
# Builds it with -Werror and runs it on the dinov2_hf fixture (patch 14, 56x56):
# an image against itself must give every patch (16) as its own match.
step "build and run examples/c/match.c on $FIXTURES/dinov2_hf"
if "$CC" "${cflags[@]}" examples/c/match.c -o "$BUILD_DIR/match" "${link[@]}"; then
    mfix="$FIXTURES/dinov2_hf"
    # Two deterministic 56x56 RGB images: bytes of the fixture's weight file.
    tail -c +4097 "$mfix/model.safetensors" | head -c $((56 * 56 * 3)) >"$BUILD_DIR/match_a.rgb"
    tail -c +40001 "$mfix/model.safetensors" | head -c $((56 * 56 * 3)) >"$BUILD_DIR/match_b.rgb"
    "$BUILD_DIR/match" "$mfix" "$BUILD_DIR/match_a.rgb" "$BUILD_DIR/match_b.rgb" 56 56 5 ||
        bad "match A B"
    "$BUILD_DIR/match" "$mfix" "$BUILD_DIR/match_a.rgb" "$BUILD_DIR/match_a.rgb" 56 56 3 \
        >"$BUILD_DIR/match_self.out" || bad "match A A"
    cat "$BUILD_DIR/match_self.out"
    grep -q '^16 mutual nearest-neighbour matches of 16 patches$' "$BUILD_DIR/match_self.out" ||
        bad "match A A should match all 16 patches"
    if "$BUILD_DIR/match" "$mfix" "$BUILD_DIR/match_a.rgb" "$BUILD_DIR/match_b.rgb" 42 56 \
        >/dev/null 2>"$BUILD_DIR/match.err"; then
        bad "match at a size that is not the files' size should exit non-zero"
    else
        echo "wrong size -> $(cat "$BUILD_DIR/match.err")"
    fi
else
    bad "build match.c"
fi
# ---- end of examples/c/match.c block ----

echo
if [ "$status" -eq 0 ]; then echo "run.sh: all C checks passed"; else echo "run.sh: some C checks FAILED"; fi
exit "$status"
