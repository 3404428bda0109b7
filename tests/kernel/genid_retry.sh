#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The batch is guarded by the generation id of ivozfw's read: when another writer commits in
# between, the kernel refuses it and ivozfw reads, plans and commits again, with backoff,
# until a deadline. Hooks of the test build ivozfw-hooked:
#   IVOZFW_TEST_RACE=CMD         run CMD between the read and the commit (first attempt)
#   IVOZFW_TEST_RACE_ALWAYS=1    ... on every attempt
. "$(dirname "$0")/../lib/lib.sh"
# The faults come from the test-only build (tests/hooked/main.cc); the product has no hooks.
HOOKED=${IVOZFW_HOOKED:-$(dirname "$IVOZFW")/ivozfw-hooked}
[ -x "$HOOKED" ] || fail "test binary $HOOKED is missing (built with ivozfw)"

new_ns ns
A=$T/a.json
B=$T/b.json
shipped_policy "$A"
edit_policy "$B" -e 'p["lists"]["admin"] = ["192.0.2.10", "192.0.2.20"]' \
    -e 'p["services"]["mysql"] = {"tcp": [3306], "from": ["admin"]}'

# Each run of the race command adds one new table, so every run is a real commit.
race='nft add table ip racer_$(date +%s%N)'
racers() { in_ns "$ns" nft -j list tables | jq '[.nftables[] | .table? | select(. and (.name | startswith("racer_")))] | length'; }

# First apply loses the race once, then succeeds on the second attempt.
run env IVOZFW_TEST_RACE="$race" ip netns exec "$ns" timeout 60 "$HOOKED" apply -p "$A"
[ "$RC" == 0 ] || fail "apply with one lost race exited $RC: $OUT $ERR"
expect_contains "2 attempts" "$OUT" "stdout of apply with one lost race"
[ "$(racers)" == 1 ] || fail "the race command ran $(racers) times, expected 1"
expect_exit 0 ivz "$ns" diff -p "$A"
in_ns "$ns" nft list chain inet ivozfw input | grep -c "policy drop" >/dev/null || fail "no policy drop after the retried apply"

# A change on a live table, racing once: the plan is redone against the new state.
run env IVOZFW_TEST_RACE="$race" ip netns exec "$ns" timeout 60 "$HOOKED" apply -p "$B"
[ "$RC" == 0 ] || fail "apply of B with one lost race exited $RC: $OUT $ERR"
expect_contains "2 attempts" "$OUT" "stdout of apply of B with one lost race"
expect_exit 0 ivz "$ns" diff -p "$B"
[ "$(racers)" == 2 ] || fail "expected 2 racer tables, found $(racers)"

# A writer that never stops: ivozfw gives up, says why, and changed nothing of its own.
before=$(table_json "$ns")
run env IVOZFW_TEST_RACE="$race" IVOZFW_TEST_RACE_ALWAYS=1 IVOZFW_TEST_DEADLINE_MS=3000 ip netns exec "$ns" timeout 60 "$HOOKED" apply -p "$A"
[ "$RC" == 1 ] || fail "apply losing every race exited $RC, not 1: $OUT $ERR"
expect_contains "kept changing" "$ERR" "stderr of apply losing every race"
# Who: the kernel events name the racing process (never a guess such as "another tool").
expect_match "committed meanwhile by nft \\(pid [0-9]+(, [0-9]+)*(, \\.\\.\\.)?\\) [0-9]+ times" "$ERR" "the racer named"
expect_contains "nothing was changed" "$ERR" "stderr of apply losing every race"
expect_not_contains "applied" "$OUT" "stdout of apply losing every race"
expect_same "$before" "$(table_json "$ns")" "table inet ivozfw before/after apply losing every race"
expect_exit 2 ivz "$ns" diff -p "$A"
expect_exit 0 ivz "$ns" diff -p "$B"
n=$(racers)
[ "$n" -ge 4 ] || fail "the race command ran only $((n - 2)) times with IVOZFW_TEST_RACE_ALWAYS"
log "gave up after $((n - 2)) lost races"

# The same on the very first apply: no table is left behind.
new_ns fresh f
run env IVOZFW_TEST_RACE="nft add table ip racer_\$(date +%s%N)" IVOZFW_TEST_RACE_ALWAYS=1 IVOZFW_TEST_DEADLINE_MS=2000 \
    ip netns exec "$fresh" timeout 60 "$HOOKED" apply -p "$A"
[ "$RC" == 1 ] || fail "first apply losing every race exited $RC: $OUT $ERR"
has_table "$fresh" && fail "table inet ivozfw exists after a first apply that lost every race"

# Without the hook, the next apply works normally.
expect_exit 0 ivz "$ns" apply -p "$A"
expect_not_contains "attempts" "$OUT" "stdout of an uncontested apply"
expect_exit 0 ivz "$ns" diff -p "$A"

pass
