#!/usr/bin/env bash
# scripts/sanitize.sh asan|tsan [swift|c]... — the tests under a sanitizer.
#
#   asan: swift test --sanitize=address (scratch .build-asan), then the C API
#         tests (test_api, test_outputs, test_threads) built with the Swift toolchain's clang
#         -fsanitize=address against an ASan-built libtessera.so.
#   tsan: swift test --sanitize=thread (scratch .build-tsan), then test_threads
#         (a model shared by 4 threads; concurrent runs on one session) against
#         a TSan-built libtessera.so.
#
# Parts: "swift", "c" (default both). test_no_alloc is skipped: it interposes
# malloc, which the sanitizers own. Logs: <scratch>/sanitize-*.log.
# Exits non-zero on a test failure or any sanitizer report.
#
# Environment: FIXTURES (default Tests/Fixtures), SANITIZE_NICE (default 19),
# TESSERA_TEST_CYCLES (test_api's load/free cycles; default 100).
set -uo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
shift || true
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(swift c)
case "$mode" in
    asan) flag=address; scratch=.build-asan; report='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' ;;
    tsan) flag=thread; scratch=.build-tsan; report='WARNING: ThreadSanitizer|ERROR: ThreadSanitizer' ;;
    *) echo "usage: $0 asan|tsan [swift|c]..." >&2; exit 2 ;;
esac
nice_level="${SANITIZE_NICE:-19}"
FIXTURES="${FIXTURES:-Tests/Fixtures}"
CLANG="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
[ -x "$CLANG" ] || CLANG=clang
status=0
results=()
mkdir -p "$scratch"

# Sanitizer reports do not stop the run, so that one pass shows them all.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=0:abort_on_error=0:detect_stack_use_after_return=1}"
# Known findings, reported and not fixed here, are suppressed by
# fuzz/lsan.supp; every use is shown ("Suppressions used") and listed below.
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1}"

# Direct leaks (LeakSanitizer) with at least one frame in Tessera's code:
# the library, the kernels, the tests. Indirect leaks are reachable from a
# direct one and belong to its owner. XCTest leaks a few objects of its own at
# exit (a weak reference from awaitUsingExpectation, and hanging off it the
# XCTestCase objects, allocated in each class's synthesized
# init(name:testClosure:), with their stored properties); those are listed but
# not counted.
ours='7Tessera|TesseraKernel|TesseraTests|Sources/Tessera|tests/c/'
leak_records() {  # log -> "ours direct_total bytes_total"
    awk -v ours="$ours" '
        /^(Direct|Indirect) leak of/ { if (rec) done(); rec = 1; direct = ($1 == "Direct"); mine = 0; bytes = $4; next }
        rec && /^ *#[0-9]+ / { if ($0 ~ ours && $0 !~ /4name11testClosure/) mine = 1; next }
        rec && !/^ *#[0-9]+ / { done() }
        function done() { if (direct) { d++; if (mine) n++ } all += bytes; rec = 0 }
        END { if (rec) done(); printf "%d %d %d\n", n, d, all }' "$1"
}

run_logged() {  # name log command...
    local name="$1" log="$2"; shift 2
    echo "== $name (log $log)"
    "$@" >"$log" 2>&1
    local rc=$?
    local reports
    reports=$(grep -E "$report" "$log" | grep -vc "ERROR: LeakSanitizer")
    read -r mine direct bytes <<<"$(leak_records "$log")"
    reports=$((reports + mine))
    if [ "$bytes" -gt 0 ]; then
        echo "LeakSanitizer: $bytes bytes; $direct direct leaks, $mine of them with Tessera frames (the rest: XCTest's own, ignored)"
    fi
    if grep -q "^Suppressions used:" "$log"; then
        local used
        used=$(awk '/^Suppressions used:/{on=1; next} on && /^ +[0-9]+ +[0-9]+ /{print $1 "x " $2 " bytes " $3} on && /^-+$/{if (seen++) on=0}' "$log" | sort | uniq -c | awk '{$1=""; print}' | tr '\n' ';')
        results+=("$name: known findings suppressed (fuzz/lsan.supp):$used")
    fi
    if [ "$rc" -ne 0 ] || [ "$reports" -gt 0 ]; then
        grep -E "$report|SUMMARY:|error:|failed|FAILED" "$log" | head -30
        results+=("$name: FAILED (exit $rc, $reports sanitizer reports)")
        status=1
    else
        results+=("$name: ok")
    fi
}

for part in "${parts[@]}"; do
    case "$part" in
    swift)
        log="$scratch/sanitize-swift.log"
        run_logged "swift test --sanitize=$flag" "$log" \
            nice -n "$nice_level" swift test --sanitize="$flag" --scratch-path "$scratch"
        grep -E "Executed [0-9]+ tests" "$log" | tail -1
        if ! grep -q "with 0 failures" "$log"; then
            results+=("swift test: no '0 failures' line"); status=1
        fi
        ;;
    c)
        echo "== build libtessera.so with -sanitize=$flag"
        nice -n "$nice_level" swift build --sanitize="$flag" --scratch-path "$scratch" --product tessera 2>&1 |
            grep -Ev '^\[[0-9]+/[0-9]+\]|ld.gold: warning: Cannot export local symbol' | tail -3
        lib="$scratch/debug/libtessera.so"
        [ -f "$lib" ] || { echo "no $lib"; exit 1; }
        libdir="$(cd "$(dirname "$lib")" && pwd)"
        # The toolchain's clang: the same sanitizer runtime as the Swift code,
        # as a shared library that both the program and libtessera.so use.
        cflags=(-std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize="$flag" -shared-libsan -Iinclude -pthread)
        rpath="$(dirname "$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so)")"
        link=(-L"$libdir" -ltessera -Wl,-rpath,"$libdir" -Wl,-rpath,"$rpath" -lm)
        # The toolchain's shared TSan runtime intercepts libdispatch and needs it loaded.
        if [ "$mode" = tsan ]; then
            swiftlib="$(dirname "$(readlink -f "$(command -v swift)")")/../lib/swift/linux"
            link+=(-L"$swiftlib" -ldispatch -Wl,-rpath,"$swiftlib")
        fi
        tests=(test_threads)
        [ "$mode" = asan ] && tests=(test_api test_outputs test_threads)
        for t in "${tests[@]}"; do
            "$CLANG" "${cflags[@]}" "tests/c/$t.c" -o "$scratch/$t" "${link[@]}" || { results+=("build $t: FAILED"); status=1; continue; }
            case "$t" in
                test_api | test_outputs) args=("$FIXTURES") ;;
                test_threads) args=("$FIXTURES/dinov2_reg_hf" 20) ;;
            esac
            run_logged "$t under $mode" "$scratch/sanitize-$t.log" nice -n "$nice_level" "$scratch/$t" "${args[@]}"
            tail -3 "$scratch/sanitize-$t.log"
        done
        ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
    esac
done

echo
echo "== $mode summary"
for r in "${results[@]}"; do echo "  $r"; done
exit "$status"
