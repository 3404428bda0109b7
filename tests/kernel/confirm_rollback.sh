#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `apply --confirm N` rolls back to the previous table unless `confirm` runs within N
# seconds; `confirm` keeps the new one; with no table before, rollback removes the table;
# and killing the applying process (its whole session) does not stop the rollback.
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns
SD=$T/state-dir
A=$T/a.json
B=$T/b.json
shipped_policy "$A"
edit_policy "$B" -e 'p["lists"]["admin"] = ["198.51.100.5"]' \
    -e 'p["services"]["mysql"] = {"tcp": [3306], "from": ["admin"]}' -e 'del p["services"]["web"]'
Z() { ivz "$ns" --state-dir "$SD" "$@"; }
diff_is() { Z diff -p "$1" >/dev/null 2>&1; }
gone() { ! has_table "$ns"; }

expect_exit 0 Z apply -p "$A"
table_a=$(table_json "$ns")

# 1. Not confirmed: back to A.
expect_exit 0 Z apply -p "$B" --confirm 2
expect_contains "ivozfw confirm" "$OUT" "stdout of apply --confirm"
t0=$SECONDS
t0ms=$(now_ms)
expect_exit 0 Z diff -p "$B"
[ -f "$SD/pending-confirm.json" ] || fail "no pending-confirm.json in the state dir"
# Still B a moment later (the rollback waits its 2 seconds; skipped on a very slow machine).
sleep 0.7
if [ $(($(now_ms) - t0ms)) -lt 1500 ]; then
    diff_is "$B" || fail "B was rolled back after less than 2 s"
fi
wait_until 8 diff_is "$A" || fail "not rolled back to A within ~8 s of apply --confirm 2"
log "rolled back after ~$((SECONDS - t0)) s"
expect_same "$table_a" "$(table_json "$ns")" "table after the rollback vs table A"
wait_until 3 test ! -e "$SD/pending-confirm.json" || fail "pending-confirm.json still there after the rollback"
expect_exit 1 Z confirm
expect_contains "nothing to confirm" "$ERR" "confirm after a rollback"

# 2. Confirmed: B stays.
expect_exit 0 Z apply -p "$B" --confirm 3
expect_exit 0 Z diff -p "$B"
# A second --confirm while one is pending is refused and changes nothing.
expect_exit 1 Z apply -p "$A" --confirm 3
expect_contains "confirm" "$ERR" "apply --confirm while one is pending"
expect_exit 0 Z diff -p "$B"
expect_exit 0 Z confirm
expect_contains "confirmed" "$OUT" "confirm"
sleep 5
expect_exit 0 Z diff -p "$B"
expect_exit 1 Z confirm

# 3. No table before: the rollback removes the table.
expect_exit 0 Z remove -p "$B"
gone || fail "table still there after remove"
expect_exit 0 Z apply -p "$A" --confirm 2
t0ms=$(now_ms)
has_table "$ns" || fail "no table after apply --confirm 2"
sleep 0.7
if [ $(($(now_ms) - t0ms)) -lt 1500 ]; then
    has_table "$ns" || fail "table removed after less than 2 s"
fi
wait_until 8 gone || fail "table not removed within ~8 s of apply --confirm 2 (there was none before)"

# 4. The applying process and its whole session are killed right after it prints: the
# rollback still happens. The policy now in place is A, the confirm applies B.
expect_exit 0 Z apply -p "$A"
setsid ip netns exec "$ns" stdbuf -oL "$IVOZFW" --state-dir "$SD" apply -p "$B" --confirm 3 \
    >"$T/kill.out" 2>&1 &
leader=$!
bg_pid "$leader"
wait_until 20 grep -q "ivozfw confirm" "$T/kill.out" || fail "apply --confirm printed nothing: $(cat "$T/kill.out")"
kill -9 -- "-$leader" 2>/dev/null
t0ms=$(now_ms)
wait "$leader" 2>/dev/null
diff_is "$B" || [ $(($(now_ms) - t0ms)) -gt 2500 ] || fail "B not in place after apply --confirm 3 (killed)"
wait_until 10 diff_is "$A" || fail "no rollback to A after the applying session was killed"
expect_same "$table_a" "$(table_json "$ns")" "table after the rollback (killed session) vs table A"
wait_until 3 test ! -e "$SD/pending-confirm.json" || fail "pending-confirm.json still there after the rollback"
[ -f "$SD/last-rollback.json" ] || fail "no last-rollback.json in the state dir"

pass
