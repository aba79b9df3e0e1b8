#!/usr/bin/env bash
# Checks the machine code of the GEMM micro-kernel loops (and of the int8
# tiles, at the end): for each variant,
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
# The int8 tiles (C, CTesseraInt8): each tile's k loop must hold a whole
# tile's dot-product instructions on its registers, loads and broadcasts, and
# no calls or traps.
tile() {
    local fn="$1" pattern="$2" need="$3"
    local dis; dis=$(objdump -d --no-show-raw-insn "$build/CTesseraInt8.build/"*.o |
        awk -v fn="$fn" '$0 ~ ("<" fn ">:$") {on=1; next} /^$/ {on=0} on')
    if [ -z "$dis" ]; then echo "FAIL int8 $fn: not found"; failed=$((failed + 1)); return; fi
    local best; best=$(awk -v pat="$pattern" '
        { addr = $1; sub(":", "", addr); line[NR] = $0; at[addr] = NR }
        /\tj(ne|nz|b|l|g|a|e|ae|be|le|ge) / {
            target = $(NF-1); if (target in at && at[target] < NR) {
                n = 0; bad = 0
                for (i = at[target]; i <= NR; i++) { if (line[i] ~ pat) n++; if (line[i] ~ /call|ud2/) bad = 1 }
                if (n > most && !bad) { most = n; len = NR - at[target] + 1 }
            }
        }
        END { print most + 0, len + 0 }' <<<"$dis")
    read -r n len <<<"$best"
    if [ "$n" -ge "$need" ]; then
        echo "ok   int8 $fn: loop of $len instructions, $n matching /$pattern/, no calls or traps"; passed=$((passed + 1))
    else
        echo "FAIL int8 $fn: no call-free loop with $need or more /$pattern/ (best $n)"; failed=$((failed + 1))
    fi
}
tile tessera_i8_tile_avx512vnni_12x32 'vpdpbusd .*%zmm' 24
tile tessera_i8_tile_avx512bw_7bit_12x32 'vpmaddubsw .*%zmm' 24
tile tessera_i8_tile_avxvnni_6x16 'vpdpbusd .*%ymm' 12
tile tessera_i8_tile_avx2_7bit_6x16 'vpmaddubsw .*%ymm' 12
tile tessera_i8_tile_check_12x32 'vpmaddwd .*%ymm' 96
# The row quantizers: four rows' conversions to bytes in one call-free loop
# (AVX2 and SSE2 pack two rows' bytes at once: count their 32-to-16 packs).
tile tessera_i8_quantize_rows_avx512 'vpmovdb .*%zmm' 4
tile tessera_i8_quantize_rows_avx2 'vpackssdw' 4
tile tessera_i8_quantize_rows_sse2 'packssdw' 4
# Their rotation, 8 vectors held in registers in one call-free pass: the
# in-vector butterflies' multiply-adds by +-1 (4 per zmm, 3 per ymm), and for
# SSE2 (its own function, also the weights') the multiplies (2 per xmm).
tile tessera_i8_quantize_rows_avx512 'vfmadd[0-9]*ps .*%zmm' 32
tile tessera_i8_quantize_rows_avx2 'vfmadd[0-9]*ps .*%ymm' 24
tile rotate_sse2 'mulps' 16
for module in TesseraKernelsAVX2 TesseraKernelsAVX512; do
    grep -qw "$module" <<<"$found" || { echo "FAIL $module: no GEMM loop found"; failed=$((failed + 1)); }
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
