#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ivozfw watch keeps the table in force: a flush, a hand-inserted rule, a flushed chain, an
# element taken out of a policy set are restored (bans with their time left and origin),
# the culprit is named; ivozfw's own apply, unban, the rollback of an unconfirmed apply and
# remove are obeyed; another table's commits cost no restore and are never touched; a
# flush loop makes it back off (status exit 7, metric) and it resumes when quiet; a watch
# started with the table gone restores it from committed.json, unless `ivozfw remove` took
# it; with watch.drift = report it only reports.
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns
P=$T/policy.json
shipped_policy "$P"
W=$IVOZFW_STATE_DIR/watch.json
wj() { jq -r "$1" "$W" 2>/dev/null; }
# Conditions for wait_until, read again at every poll: wj_is FIELD VALUE, wj_ge FIELD N.
wj_is() { [ "$(wj "$1")" = "$2" ]; }
wj_ge() { local v; v=$(wj "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }

# Another tool's table, there before and after everything below.
in_ns "$ns" nft -f - <<'EOF' || fail "foreign table"
table ip other {
    chain input { type filter hook input priority 10; policy accept; tcp dport 9999 counter accept; }
}
EOF
foreign_before=$(foreign_json "$ns")

expect_exit 0 ivz "$ns" apply -p "$P"
expect_exit 0 ivz "$ns" ban 192.0.2.77 --for 300s -p "$P"

# Short back-off timing for the test: 3 restores in 1.5 s, then 3 s of quiet. `calm` waits
# until the last restore is out of that window, so the single changes below never back off.
start_watch() {
    local policy=$1
    : >"$T/watch.log"
    rm -f "$W"
    IVOZFW_WATCH_TIMING=3,1500,3000 ip netns exec "$ns" "$IVOZFW" watch -p "$policy" >>"$T/watch.log" 2>&1 &
    WATCH_PID=$!
    bg_pid "$WATCH_PID"
    wait_until 10 test -s "$W" || fail "watch wrote no $W: $(cat "$T/watch.log")"
}
stop_watch() {
    kill "$WATCH_PID" 2>/dev/null
    wait "$WATCH_PID" 2>/dev/null
}
restore_window_over() { [ $(($(now_ms) - $(wj .last_restore_epoch_ms))) -gt 1600 ]; }
calm() {
    wait_until 10 restore_window_over || fail "calm"
    wait_until 10 wj_is .backing_off false || fail "still backing off"
}
in_sync() { ivz "$ns" diff -p "${1:-$P}" >/dev/null 2>&1; }
# The generation watch has handled moves past the one it had (a commit it has seen).
gen_after() { [ "$(wj .generation)" -gt "$1" ]; }

start_watch "$P"
[ "$(wj .committed)" = true ] || fail "watch did not take the loaded table as committed: $(cat "$W")"
expect_exit 0 ivz "$ns" status -p "$P"
expect_contains "watch:            running (pid $WATCH_PID" "$OUT" "status with watch running"
expect_exit 0 ivz "$ns" status --format prometheus -p "$P"
expect_contains "ivozfw_watch_up 1" "$OUT" "metrics"
expect_contains "ivozfw_restores_total 0" "$OUT" "metrics"
wait_until 5 wj_ge .bans_known 1 || fail "watch did not read the ban: $(cat "$W")"

# (1) nft flush ruleset: back, equal to the policy, the ban with its time left and origin.
in_ns "$ns" nft flush ruleset || fail "flush"
wait_until 5 in_sync || fail "table not restored after a flush: $(cat "$T/watch.log")"
expect_match "table inet ivozfw deleted by pid [0-9]+ \(nft\); restored in [0-9]+ ms \([0-9]+ changes, 1 bans" \
    "$(cat "$T/watch.log")" "watch's log after the flush"
expect_exit 0 ivz "$ns" bans --json -p "$P"
left=$(printf '%s' "$OUT" | jq '[.bans[] | select(.address == "192.0.2.77") | .expires_in_s][0] // 0')
origin=$(printf '%s' "$OUT" | jq -r '[.bans[] | select(.address == "192.0.2.77") | .origin][0] // ""')
[ "$left" -gt 200 ] && [ "$left" -le 300 ] || fail "ban not restored with its time left (got $left s): $OUT"
[ "$origin" = local ] || fail "restored ban lost its origin (got '$origin'): $OUT"
[ "$(wj .restores)" = 1 ] || fail "restores = $(wj .restores), want 1"
# The flush took the other table too: not ours to put back.
has_table "$ns" other && fail "watch brought back a table that is not ivozfw's"
in_ns "$ns" nft -f - <<'EOF' || fail "foreign table again"
table ip other {
    chain input { type filter hook input priority 10; policy accept; tcp dport 9999 counter accept; }
}
EOF
foreign_before=$(foreign_json "$ns")

# (2) hand edits inside the table, each restored and named.
restored() {   # restored WHAT PATTERN: wait for the next restore, check its log line
    local n=$1 what=$2 pattern=$3
    wait_until 5 wj_ge .restores $n || fail "no restore after $what: $(cat "$T/watch.log")"
    wait_until 5 in_sync || fail "table not equal to the policy after $what"
    expect_match "$pattern" "$(wj .last_restore)" "restore after $what"
}
calm
in_ns "$ns" nft insert rule inet ivozfw input tcp dport 3306 accept || fail "insert rule"
restored 2 "an inserted rule" "rule added to chain input by pid [0-9]+ \(nft\); restored"
calm
in_ns "$ns" nft flush chain inet ivozfw input || fail "flush chain"
restored 3 "a flushed chain" "rule deleted from chain input \(x[0-9]+\) by pid"
calm
in_ns "$ns" nft delete element inet ivozfw services '{ tcp . 22 }' || fail "delete element"
restored 4 "an element deleted from the services map" "element deleted from set services by pid"

# (3) another table's commit: no restore, nothing of it touched.
g=$(wj .generation)
restores=$(wj .restores)
in_ns "$ns" nft add rule ip other input udp dport 9998 accept || fail "foreign rule"
wait_until 5 gen_after "$g" || fail "watch did not see the foreign commit"
[ "$(wj .restores)" = "$restores" ] || fail "a commit to another table caused a restore"
in_ns "$ns" nft delete rule ip other input handle "$(in_ns "$ns" nft -a list chain ip other input |
    sed -n 's/.*dport 9998 accept # handle \([0-9]*\).*/\1/p')" || fail "delete foreign rule"
expect_same "$foreign_before" "$(foreign_json "$ns")" "the other table after watch's restores"

# (4) ivozfw's own commits are obeyed: a new policy, an unban, a rolled back apply --confirm.
P2=$T/policy2.json
"$PY" - "$P" "$P2" <<'EOF' || fail "policy2"
import sys
s = open(sys.argv[1]).read().replace('"ssh":', '"extra": { "tcp": [8443] },\n    "ssh":', 1)
open(sys.argv[2], "w").write(s)
EOF
chmod 600 "$P2"
seen=$(wj .commits_seen)
expect_exit 0 ivz "$ns" apply -p "$P2"
wait_until 5 wj_ge .commits_seen $((seen + 1)) || fail "watch did not take ivozfw's apply"
calm
in_ns "$ns" nft flush ruleset || fail "flush"
wait_until 5 in_sync "$P2" || fail "after an apply and a flush, watch did not restore the applied table"
expect_exit 0 ivz "$ns" unban 192.0.2.77 -p "$P2"
wait_until 5 wj_is .bans_known 0 || fail "watch still knows the unbanned source"
calm
in_ns "$ns" nft flush ruleset || fail "flush"
wait_until 5 in_sync "$P2" || fail "not restored"
expect_exit 0 ivz "$ns" bans --json -p "$P2"
[ "$(printf '%s' "$OUT" | jq .count)" = 0 ] || fail "an unbanned source came back with the restore: $OUT"
# apply --confirm, never confirmed: the rollback watcher (exec'd as /proc/self/exe) restores P2's
# table, and watch takes that as ivozfw's.
seen=$(wj .commits_seen)
expect_exit 0 ivz "$ns" apply --confirm 2 -p "$P"
wait_until 15 in_sync "$P2" || fail "the unconfirmed apply was not rolled back"
wait_until 5 wj_ge .commits_seen $((seen + 2)) || fail "watch did not see apply and rollback"
calm
in_ns "$ns" nft flush ruleset || fail "flush"
wait_until 5 in_sync "$P2" || fail "after a rollback and a flush, watch did not restore the rolled back table"
expect_not_contains "rule added to" "$(grep -i 'by pid .*(exe)' "$T/watch.log")" "rollback seen as foreign"

# (5) a flush loop: watch backs off, says so (log, status exit 7, metric), resumes when quiet.
calm
(for _ in $(seq 25); do ip netns exec "$ns" nft flush ruleset; sleep 0.1; done) &
LOOP=$!
bg_pid "$LOOP"
wait_until 10 wj_is .backing_off true || fail "watch did not back off under a flush loop: $(cat "$W")"
expect_match "BACKING OFF: table inet ivozfw was restored 3 times in 1.5 s" "$(cat "$T/watch.log")" "watch's log"
wait_until 5 bash -c "ip netns exec $ns timeout 30 $IVOZFW status -p $P2 >/dev/null 2>&1; [ \$? = 7 ]" ||
    fail "status does not exit 7 while watch backs off"
expect_exit 7 ivz "$ns" status -p "$P2"
expect_contains "BACKING OFF since" "$OUT" "status text"
expect_exit 7 ivz "$ns" status --format prometheus -p "$P2"
expect_contains "ivozfw_watch_backing_off 1" "$OUT" "metrics while backing off"
wait "$LOOP"
wait_until 15 in_sync "$P2" || fail "watch did not resume after the flush loop: $(tail -5 "$T/watch.log")"
wait_until 5 wj_is .backing_off false || fail "still backing off when quiet"
expect_contains "watch: resuming" "$(cat "$T/watch.log")" "watch's log"

# (6) remove is obeyed, also by a watch started later; a table deleted while watch was down is
# restored when it starts.
expect_exit 0 ivz "$ns" remove -p "$P2"
wait_until 5 wj_is .committed false || fail "watch did not take the removal"
has_table "$ns" && fail "the removed table came back"
stop_watch
start_watch "$P2"
has_table "$ns" && fail "a new watch brought back a removed table"
expect_contains "waiting for \`ivozfw apply\`" "$(cat "$T/watch.log")" "watch's log after remove"
expect_exit 0 ivz "$ns" apply -p "$P2"
wait_until 5 wj_is .committed true || fail "watch did not take the apply"
stop_watch
in_ns "$ns" nft delete table inet ivozfw || fail "delete table"
start_watch "$P2"
wait_until 5 in_sync "$P2" || fail "a watch started after the table was deleted did not restore it"
expect_contains "is not loaded at start" "$(cat "$T/watch.log")" "watch's log at start"
stop_watch

# (7) drift = report: logged and counted, not restored.
PR=$T/report.json
"$PY" - "$P2" "$PR" <<'EOF' || fail "report policy"
import sys
s = open(sys.argv[1]).read()
assert '"watch": { "drift": "restore" }' in s, "the shipped policy has no watch section"
open(sys.argv[2], "w").write(s.replace('"watch": { "drift": "restore" }', '"watch": { "drift": "report" }'))
EOF
chmod 600 "$PR"
expect_exit 0 ivz "$ns" check -p "$PR"
start_watch "$PR"
in_ns "$ns" nft flush ruleset || fail "flush"
wait_until 5 wj_ge .drifts 1 || fail "report mode did not count the flush"
has_table "$ns" && fail "report mode restored the table"
expect_contains 'not restored (watch.drift is "report")' "$(cat "$T/watch.log")" "report mode's log"
stop_watch

# A second watch on the same state directory refuses to run.
start_watch "$P2"
expect_exit 1 ivz "$ns" watch -p "$P2"
expect_contains "another \`ivozfw watch\` runs" "$ERR" "a second watch"
pass
