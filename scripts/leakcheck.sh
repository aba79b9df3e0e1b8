#!/usr/bin/env bash
# scripts/leakcheck.sh [path/to/libtessera.so] — valgrind memcheck leak check.
#
# Runs under `valgrind --leak-check=full --errors-for-leak-kinds=definite`:
#   1. tests/c/test_leaks.c on one fixture: N load/session/run/free cycles,
#      N rounds of failing calls, a failing call on N threads (N = LEAK_N, 100);
#   2. tests/c/test_api.c on Tests/Fixtures (its 100 load/create/run/free
#      cycles per fixture; TESSERA_TEST_CYCLES overrides).
# A definite leak or a memory error fails the check; "still reachable" blocks
# (the Swift runtime's metadata caches, the live-handle table) are one-time
# and not errors. Logs: build/leakcheck/*.valgrind.
#
# Environment: CC (default cc), FIXTURES (Tests/Fixtures), LEAK_FIXTURE
# (default $FIXTURES/dinov2_reg_hf), LEAK_N (100), LEAK_NICE (19).
set -uo pipefail
cd "$(dirname "$0")/.."

lib="${1:-.build/release/libtessera.so}"
CC="${CC:-cc}"
FIXTURES="${FIXTURES:-Tests/Fixtures}"
fixture="${LEAK_FIXTURE:-$FIXTURES/dinov2_reg_hf}"
n="${LEAK_N:-100}"
nice_level="${LEAK_NICE:-19}"
out=build/leakcheck
command -v valgrind >/dev/null || { echo "leakcheck: valgrind not found (apt-get install valgrind)"; exit 2; }
if [ ! -f "$lib" ]; then
    echo "== build $lib"
    nice -n "$nice_level" swift build -c release --product tessera 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' | tail -3
fi
[ -f "$lib" ] || { echo "leakcheck: no $lib"; exit 1; }
libdir="$(cd "$(dirname "$lib")" && pwd)"
mkdir -p "$out"
cflags=(-std=c11 -Wall -Wextra -Werror -O1 -g -Iinclude -pthread)
link=(-L"$libdir" -ltessera -Wl,-rpath,"$libdir" -lm)
"$CC" "${cflags[@]}" tests/c/test_leaks.c -o "$out/test_leaks" "${link[@]}" || exit 1
"$CC" "${cflags[@]}" tests/c/test_api.c -o "$out/test_api" "${link[@]}" || exit 1

vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite,indirect
    --error-exitcode=99 --num-callers=30)
status=0
summary=()
run() {  # name args...
    local name="$1"; shift
    local log="$out/$name.valgrind"
    echo "== valgrind $name $*"
    local t0=$SECONDS
    nice -n "$nice_level" "${vg[@]}" --log-file="$log" "$@" >"$out/$name.out" 2>&1
    local rc=$?
    tail -n 2 "$out/$name.out"
    local definite indirect reachable errors
    definite=$(sed -nE 's/.*definitely lost: ([0-9,]+ bytes in [0-9,]+ blocks).*/\1/p' "$log" | tail -1)
    indirect=$(sed -nE 's/.*indirectly lost: ([0-9,]+ bytes in [0-9,]+ blocks).*/\1/p' "$log" | tail -1)
    reachable=$(sed -nE 's/.*still reachable: ([0-9,]+ bytes in [0-9,]+ blocks).*/\1/p' "$log" | tail -1)
    errors=$(sed -nE 's/.*ERROR SUMMARY: ([0-9,]+ errors from [0-9,]+ contexts).*/\1/p' "$log" | tail -1)
    summary+=("$name: exit $rc; definitely lost ${definite:-0 bytes}; indirectly lost ${indirect:-0 bytes}; still reachable ${reachable:-0 bytes}; ${errors:-?} ($((SECONDS - t0)) s)")
    if [ "$rc" -ne 0 ]; then
        status=1
        # The leak records with the first frames inside libtessera.
        grep -E "definitely lost in loss record|Invalid (read|write)|uninitialised|at 0x|by 0x" "$log" | head -40
    fi
}

run test_leaks "$out/test_leaks" "$fixture" "$n"
TESSERA_TEST_CYCLES="${TESSERA_TEST_CYCLES:-100}" run test_api "$out/test_api" "$FIXTURES"

echo
echo "== leakcheck summary ($lib)"
for s in "${summary[@]}"; do echo "  $s"; done
exit "$status"
