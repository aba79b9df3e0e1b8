#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] [TARGET...] — builds the libFuzzer targets with
# AddressSanitizer and runs each for SECONDS (default 120), one after the other.
# fuzz/run.sh regress — builds them and replays fuzz/regressions/<target>-*
# (every input must run clean: no trap, sanitizer report or leak).
#
#   TARGET: loader, session (default: both)
#
# Build: TESSERA_FUZZ=1 swift build -c release --scratch-path .build-fuzz
#        --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address
#        --product TesseraFuzz<Target>
# (TESSERA_FUZZ=1 adds the two executable targets to Package.swift; -c release
# keeps Swift's bounds and overflow checks and runs ~50x faster than debug.)
# Why not just `--sanitize fuzzer --sanitize address`: SwiftPM passes those as
# two -sanitize= options and the Swift 6.3 driver keeps only the last one, so
# the library gets ASan but no coverage (libFuzzer then sees ~15 counters).
# `--sanitize fuzzer` is still needed: it makes SwiftPM compile the targets
# with -parse-as-library and link without its main=<Target>_main alias, so
# libFuzzer's main is used; the -Xswiftc option comes last and wins.
#
# Corpora: fuzz/corpus/<target> are the committed seeds (read only); new
# inputs go to .build-fuzz/corpus/<target>, kept between runs. Findings
# (crash-*, timeout-*, oom-*, leak-*) go to .build-fuzz/artifacts/<target>/,
# logs to .build-fuzz/logs/<target>.log. Exits non-zero if anything was found.
#
# Environment: FUZZ_CONFIG (release|debug, default release), FUZZ_FLAGS
# (extra libFuzzer flags), FUZZ_NICE (default 19).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-120}"
shift || true
regress=0
if [ "$seconds" = regress ]; then regress=1; seconds=0; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(loader session)
config="${FUZZ_CONFIG:-release}"
nice_level="${FUZZ_NICE:-19}"
scratch=.build-fuzz

product() { case "$1" in loader) echo TesseraFuzzLoader;; session) echo TesseraFuzzSession;; *) echo "unknown target $1" >&2; exit 2;; esac; }

for t in "${targets[@]}"; do
    p="$(product "$t")"
    echo "== build $p ($config, fuzzer + address sanitizer)"
    TESSERA_FUZZ=1 nice -n "$nice_level" swift build -c "$config" --scratch-path "$scratch" \
        --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=address --product "$p" 2>&1 |
        grep -Ev '^\[[0-9]+/[0-9]+\]|ld.gold: warning: Cannot export local symbol' || true
    [ -x "$scratch/$config/$p" ] || { echo "build of $p failed"; exit 1; }
done

# Known, reported findings that are not ours to fix (see the file).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"

if [ "$regress" = 1 ]; then
    bad=0
    for t in "${targets[@]}"; do
        p="$(product "$t")"
        files=(fuzz/regressions/"$t"-*)
        [ -e "${files[0]}" ] || continue
        for f in "${files[@]}"; do
            if "$scratch/$config/$p" -runs=1 "$f" >"$scratch/regress.log" 2>&1; then
                echo "ok      $f"
            else
                echo "FAILED  $f"; grep -E 'ERROR: |FINDING|Fatal error|SUMMARY' "$scratch/regress.log" | head -5; bad=1
            fi
        done
    done
    exit "$bad"
fi

found=0
summary=()
for t in "${targets[@]}"; do
    p="$(product "$t")"
    work="$scratch/corpus/$t" art="$scratch/artifacts/$t" log="$scratch/logs/$t.log"
    mkdir -p "$work" "$art" "$(dirname "$log")"
    before=$(ls "$art" | wc -l)
    flags=(-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=2048
           -print_final_stats=1 -artifact_prefix="$art/")
    [ "$t" = loader ] && flags+=(-dict=fuzz/loader.dict -max_len=16384)
    echo "== fuzz $t for ${seconds}s (log $log)"
    # shellcheck disable=SC2086
    nice -n "$nice_level" "$scratch/$config/$p" "${flags[@]}" ${FUZZ_FLAGS:-} "$work" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    after=$(ls "$art" | wc -l)
    new=$((after - before))
    if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
        found=1
        grep -E 'ERROR: |FINDING|Fatal error|==[0-9]+==|SUMMARY|Test unit written' "$log" | head -20
    fi
    summary+=("$t: ${execs:-?} executions (${rate:-?}/s), ${cov:-cov ?}, corpus $(ls "$work" | wc -l) files, $new new findings (exit $rc)")
done

echo
echo "== summary"
for s in "${summary[@]}"; do echo "  $s"; done
for t in "${targets[@]}"; do
    n=$(ls "$scratch/artifacts/$t" 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] && echo "  $t artifacts ($n): $(ls "$scratch/artifacts/$t" | head -5 | tr '\n' ' ')"
done
exit "$found"
