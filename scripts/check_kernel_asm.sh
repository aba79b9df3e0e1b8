#!/usr/bin/env bash
# Checks the machine code of the GEMM micro-kernel loops: for each variant,
# every innermost FMA loop of each function of the GEMM driver that holds one
# (gemmPart, gemmBlock), the main tile's among them, must be vector FMAs on the
# variant's registers (ymm for AVX2, zmm for AVX-512) with loads and
# broadcasts only — no calls (retain/release, runtime checks), no traps
# (ud2, bounds checks).
set -euo pipefail
build="${1:-.build/release}"
passed=0; failed=0; found=""
check() {
    local module="$1" reg="$2" fn="$3" need="$4"
    local dis; dis=$(objdump -d --no-show-raw-insn "$build/$module.build/"*.o |
        awk -v fn="$fn" '$0 ~ (fn ".*>:$") {on=1; next} /^$/ {on=0} on')
    [ -n "$dis" ] || return 0
    # A function without an FMA loop (the driver calling, not inlining, the
    # loop's function) holds nothing to check.
    [ "$(grep -c "vfmadd...ps.*%$reg" <<<"$dis" || true)" -gt 0 ] || return 0
    # Loops: a backward conditional jump closes a body that starts at its
    # target. The kernels' loops are the innermost ones with at least 12 FMAs
    # (the main tile's, unrolled, and the short-tile kernel's); each is
    # printed as "start end fmas".
    local loops; loops=$(awk -v reg="$reg" '
        { addr = $1; sub(":", "", addr); line[NR] = $0; at[addr] = NR }
        /\tj(ne|nz|b|l|g|a|e|ae|be|le|ge) / {
            target = $(NF-1); if (target in at && at[target] < NR) {
                start = at[target]; fma = 0
                for (i = start; i <= NR; i++) if (line[i] ~ ("vfmadd...ps.*%" reg)) fma++
                if (fma >= 12) { n++; s[n] = start; e[n] = NR; f[n] = fma }
            }
        }
        END {
            for (i = 1; i <= n; i++) {
                inner = 1
                for (j = 1; j <= n; j++) if (j != i && s[j] >= s[i] && e[j] <= e[i] && (s[j] != s[i] || e[j] != e[i])) inner = 0
                if (inner) print s[i], e[i], f[i]
            }
        }' <<<"$dis" | sort -u)
    local most=0
    while read -r start end fmas; do
        [ -n "$start" ] || continue
        local body; body=$(sed -n "${start},${end}p" <<<"$dis")
        local bad; bad=$(grep -E "call|ud2|retain|release" <<<"$body" || true)
        if [ -z "$bad" ]; then
            echo "ok   $module $fn: loop of $((end - start + 1)) instructions, $fmas vfmadd…ps on $reg, no calls or traps"
            passed=$((passed + 1))
        else
            echo "FAIL $module $fn: loop with $fmas FMAs on $reg has: $bad"
            echo "$body" | sed 's/^/    /'
            failed=$((failed + 1))
        fi
        [ "$fmas" -gt "$most" ] && most=$fmas
    done <<<"$loops"
    # The main tile's loop must be among them: at least a full tile's FMAs per pass.
    if [ "$most" -ge "$need" ]; then found="$found $module"
    else echo "FAIL $module $fn: no loop with $need or more FMAs (the main tile's)"; failed=$((failed + 1)); fi
}
for fn in gemmPart gemmBlock; do
    check TesseraKernelsAVX2 ymm "$fn" 12
    check TesseraKernelsAVX512 zmm "$fn" 24
done
for module in TesseraKernelsAVX2 TesseraKernelsAVX512; do
    grep -qw "$module" <<<"$found" || { echo "FAIL $module: no GEMM loop found"; failed=$((failed + 1)); }
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
