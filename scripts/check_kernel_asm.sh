#!/usr/bin/env bash
# Checks the machine code of the GEMM micro-kernel loops: for each variant,
# the main FMA loop of each function of the GEMM driver that holds one
# (gemmPart, gemmBlock) must be vector FMAs on the
# variant's registers (ymm for AVX2, zmm for AVX-512) with loads and
# broadcasts only — no calls (retain/release, runtime checks), no traps
# (ud2, bounds checks).
set -euo pipefail
build="${1:-.build/release}"
passed=0; failed=0; found=""
check() {
    local module="$1" reg="$2" fn="$3"
    local dis; dis=$(objdump -d --no-show-raw-insn "$build/$module.build/"*.o |
        awk -v fn="$fn" '$0 ~ (fn ".*>:$") {on=1; next} /^$/ {on=0} on')
    [ -n "$dis" ] || return 0
    # Loops: a backward conditional jump closes a body that starts at its
    # target; the micro-kernel's is the smallest one with at least 12 FMAs.
    local body; body=$(awk -v reg="$reg" '
        { addr = $1; sub(":", "", addr); line[NR] = $0; at[addr] = NR }
        /\tj(ne|nz|b|l|g|a|e|ae|be|le|ge) / {
            target = $(NF-1); if (target in at && at[target] < NR) {
                start = at[target]; fma = 0
                for (i = start; i <= NR; i++) if (line[i] ~ ("vfmadd...ps.*%" reg)) fma++
                # The innermost such loop: the fewest instructions.
                if (fma >= 12 && (best == 0 || NR - start < best)) { best = NR - start; bs = start; be = NR }
            }
        }
        END { for (i = bs; i <= be; i++) print line[i] }' <<<"$dis")
    local fmas; fmas=$(grep -c "vfmadd...ps.*%$reg" <<<"$body" || true)
    # A function without an FMA loop (the driver calling, not inlining, the
    # loop's function) holds nothing to check.
    [ "$(grep -c "vfmadd...ps.*%$reg" <<<"$dis" || true)" -gt 0 ] || return 0
    local bad; bad=$(grep -E "call|ud2|retain|release" <<<"$body" || true)
    if [ "$fmas" -ge 12 ] && [ -z "$bad" ]; then
        echo "ok   $module $fn: inner loop of $(wc -l <<<"$body") instructions, $fmas vfmadd…ps on $reg, no calls or traps"
        passed=$((passed + 1)); found="$found $module"
    else
        echo "FAIL $module $fn: inner loop has $fmas FMAs on $reg; offending: ${bad:-none}"
        echo "$body" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}
for fn in gemmPart gemmBlock; do
    check TesseraKernelsAVX2 ymm "$fn"
    check TesseraKernelsAVX512 zmm "$fn"
done
for module in TesseraKernelsAVX2 TesseraKernelsAVX512; do
    grep -qw "$module" <<<"$found" || { echo "FAIL $module: no GEMM loop found"; failed=$((failed + 1)); }
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
