#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the libFuzzer targets (clang, ASan, UBSan) in build-fuzz/, replay every past finding
# in tests/fuzz/regressions/<target>/, then fuzz each target for FUZZ_SECONDS (default 45)
# from the seeds in tests/fuzz/corpus/<target>/. Prints executions and crashes per target;
# exits 1 on any crash, hang or failed replay (the input is kept in build-fuzz/artifacts/).
# Usage: tests/fuzz/run.sh [target...]      FUZZ_SECONDS=600 tests/fuzz/run.sh mmdb
set -uo pipefail
cd "$(dirname "$0")/../.."

SECS=${FUZZ_SECONDS:-45}
BUILD=${FUZZ_BUILD:-build-fuzz}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(policy companies mmdb)

if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
    echo "SKIP: clang and libclang_rt.fuzzer are needed (scripts/setup.sh installs them)"
    exit 77
fi

# -O1 with line tables: quicker to build than -O2 -g, and stacks still name file:line.
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DIVOZFW_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" >/dev/null || exit 1
cmake --build "$BUILD" -j "$(nproc)" --target "${TARGETS[@]/#/fuzz_}" >"$BUILD/build.log" 2>&1 || {
    tail -50 "$BUILD/build.log"
    exit 1
}

export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
ART="$BUILD/artifacts"
mkdir -p "$ART"
status=0
for t in "${TARGETS[@]}"; do
    bin="$BUILD/fuzz_$t"
    log="$BUILD/fuzz_$t.log"
    # Past findings first: each must now run clean.
    regressions=(tests/fuzz/regressions/"$t"/*)
    if [ -e "${regressions[0]}" ] && ! "$bin" -timeout=10 "${regressions[@]}" >"$log.replay" 2>&1; then
        echo "fuzz_$t: a regression input fails again:"
        grep -E "ERROR|SUMMARY|Running:|timeout" "$log.replay" | tail -5
        status=1
        continue
    fi
    # The seeds stay read-only; what the fuzzer adds goes to a scratch corpus.
    work=$(mktemp -d)
    dict=()
    [ -f tests/fuzz/"$t".dict ] && dict=(-dict=tests/fuzz/"$t".dict)
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$ART/$t-" "$work" tests/fuzz/corpus/"$t" >"$log" 2>&1
    rc=$?
    rm -rf "$work"
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    crashes=$(grep -cE "^==[0-9]+==ERROR|ALARM: working on the last Unit|runtime error:|deadly signal" "$log")
    echo "fuzz_$t: ${execs:-?} executions in ${SECS}s, ${crashes} crashes (exit $rc)"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -8
        status=1
    fi
done
exit $status
