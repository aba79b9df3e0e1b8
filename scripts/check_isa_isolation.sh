#!/usr/bin/env bash
# Each kernel variant is compiled with its own -target-cpu. Code symbols that
# the linker may merge across object files (weak definitions) must belong to
# their own module: a shared specialization (e.g. of a standard-library
# generic) would let the linker run AVX-512 code on an AVX2-only CPU.
set -euo pipefail
build="${1:-.build/release}"
fail=0; checked=0
for module in TesseraKernelsAVX2 TesseraKernelsAVX512 TesseraKernelsPortable TesseraKernelsCheck; do
    objs=("$build/$module.build/"*.o)
    [ -e "${objs[0]}" ] || { echo "FAIL $module: no objects under $build"; fail=$((fail + 1)); continue; }
    bad=$(nm "${objs[@]}" | awk '$2 == "W" {print $3}' | sort -u |
          grep -v -- "$module" | grep -v '^__swift_instantiateConcreteTypeFromMangledName' || true)
    checked=$((checked + 1))
    if [ -n "$bad" ]; then
        echo "FAIL $module defines shared code symbols of other modules:"; echo "$bad" | sed 's/^/    /'
        fail=$((fail + 1))
    else
        echo "ok   $module: every weak code symbol is its own"
    fi
done
echo "$((checked - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
