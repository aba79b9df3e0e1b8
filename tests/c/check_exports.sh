#!/usr/bin/env bash
# check_exports.sh — the .so exports exactly the functions of include/tessera.h.
#
#   tests/c/check_exports.sh [path/to/libtessera.so] [path/to/tessera.h]
#
# Fails (exit 1) when a function declared in the header is not exported, when
# a tessera_* symbol is exported that the header does not declare, or when any
# symbol other than the C API and the standard linker symbols (_init, _fini,
# __bss_start, _edata, _end) is exported. Ends with "N passed, M failed".
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="${1:-$root/.build/release/libtessera.so}"
header="${2:-$root/include/tessera.h}"

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

if [ ! -f "$header" ]; then fail "header $header exists"; finish; fi
if [ ! -f "$lib" ]; then fail "library $lib exists"; finish; fi
command -v nm >/dev/null || { fail "nm is installed (binutils)"; finish; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Functions declared in the header: preprocess (drops comments and macros,
# including function-like ones such as TESSERA_OUTPUT_LAYER), then every
# tessera_ identifier directly followed by "(".
cc_bin="${CC:-cc}"
if command -v "$cc_bin" >/dev/null 2>&1 &&
   "$cc_bin" -E -P -x c "$header" >"$tmp/header.i" 2>"$tmp/cpp.err"; then
    :
else
    # No preprocessor: strip comments and #define lines by hand.
    sed -e 's://.*$::' "$header" | perl -0pe 's:/\*.*?\*/::gs' | grep -v '^[[:space:]]*#' >"$tmp/header.i"
fi
# Functions the header defines itself (static inline) are not the library's.
grep -v 'static inline' "$tmp/header.i" | grep -oE '\btessera_[A-Za-z0-9_]+[[:space:]]*\(' |
    sed -E 's/[[:space:]]*\($//' | sort -u >"$tmp/declared"

# Dynamic symbols the library defines (strip symbol versions).
if ! nm -D --defined-only "$lib" >"$tmp/nm.out" 2>"$tmp/nm.err"; then
    fail "nm -D --defined-only $lib: $(cat "$tmp/nm.err")"
    finish
fi
# Local symbols (lower-case types other than weak, unique and indirect ones)
# may sit in .dynsym without being visible to any other object.
awk 'NF >= 2 && !($(NF-1) ~ /^[a-z]$/ && $(NF-1) !~ /^[uivw]$/) { print $NF }' "$tmp/nm.out" | sed -E 's/@.*$//' | sort -u >"$tmp/exported_all"
grep -E '^tessera_' "$tmp/exported_all" >"$tmp/exported" || true
grep -vE '^tessera_' "$tmp/exported_all" |
    grep -vxE '_init|_fini|__bss_start|_edata|_end' >"$tmp/foreign" || true

n_declared=$(wc -l <"$tmp/declared")
n_exported=$(wc -l <"$tmp/exported")
if [ "$n_declared" -gt 0 ]; then
    pass "header declares $n_declared functions"
else
    fail "header declares functions (found none in $header)"
fi

missing="$(comm -23 "$tmp/declared" "$tmp/exported")"
extra="$(comm -13 "$tmp/declared" "$tmp/exported")"
if [ -z "$missing" ]; then
    pass "every declared function is exported ($n_declared)"
else
    fail "declared in tessera.h but not exported by $(basename "$lib"): $(echo $missing)"
fi
if [ -z "$extra" ]; then
    pass "every exported tessera_* symbol is declared ($n_exported)"
else
    fail "exported but not declared in tessera.h: $(echo $extra)"
fi

# Every declared function should be a function (T), not data.
not_text="$(awk '$1 != "" && NF == 3 && $3 ~ /^tessera_/ && $2 != "T" && $2 != "i" { print $3 "(" $2 ")" }' "$tmp/nm.out" | sed -E 's/@[^(]*//')"
if [ -z "$not_text" ]; then
    pass "every exported tessera_* symbol is a function (nm type T)"
else
    fail "exported tessera_* symbols that are not functions: $(echo $not_text)"
fi

n_foreign=$(wc -l <"$tmp/foreign")
if [ "$n_foreign" -eq 0 ]; then
    pass "no other symbols exported (only the C API and _init/_fini/__bss_start/_edata/_end)"
else
    fail "$n_foreign other symbols exported, e.g.: $(head -n 15 "$tmp/foreign" | tr '\n' ' ')$([ "$n_foreign" -gt 15 ] && echo '...')"
fi

finish
