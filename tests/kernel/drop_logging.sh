#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Drop logging ("logging": {"drops": true}): every counted drop goes through one log chain
# per reason (limit + log prefix "<prefix> drop <reason>: ", then drop). The exported
# script gives the same kernel state as apply, apply-then-diff is a no-op, logging can be
# switched on and off in place, drops still drop and count, explain still agrees.
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns a
new_ns ns2 b
edit_policy "$T/on.json" -e "p['logging'] = {'drops': True, 'rate': '3/minute', 'burst': 2, 'prefix': 'fw1'}" \
    -e "p['call_limit'] = {'max_media_flows_per_source': 50}"
edit_policy "$T/off.json" -e "p['call_limit'] = {'max_media_flows_per_source': 50}"

expect_exit 0 ivz "$ns" apply -p "$T/on.json"
expect_exit 0 ivz "$ns" diff -p "$T/on.json"
expect_contains "no changes" "$OUT" "diff after apply with logging"
listing=$(in_ns "$ns" nft list table inet ivozfw)
for reason in invalid not_exposed not_allowed flood banned conn_limit call_limit; do
    expect_contains "chain log_$reason {" "$listing" "table with logging"
    expect_contains "limit rate 3/minute burst 2 packets log prefix \"fw1 drop $reason: \"" "$listing" "log_$reason"
done
expect_contains 'counter name "drop_not_exposed" goto log_not_exposed' "$listing" "input chain"
# a meter rule keeps its one update: logging must not meter a packet twice
[ "$(grep -c 'update @flood_v4' <<<"$listing")" = "$(ivz "$ns" export -p "$T/off.json" | grep -c 'update @flood_v4')" ] ||
    fail "logging changed the number of flood meter updates"

# export | nft -f - gives what apply gives
ivz "$ns" export -p "$T/on.json" >"$T/on.nft" || fail "export"
in_ns "$ns2" nft -f "$T/on.nft" || fail "nft -f of the exported script with logging"
expect_same "$(table_json "$ns")" "$(table_json "$ns2")" "apply and nft -f of export (logging on)"
expect_exit 0 ivz "$ns2" diff -p "$T/on.json"

# off and on again, in place, one transaction each
expect_exit 0 ivz "$ns" apply -p "$T/off.json"
expect_exit 0 ivz "$ns" diff -p "$T/off.json"
in_ns "$ns" nft list table inet ivozfw | grep -q 'log prefix' && fail "log rules left after logging off"
in_ns "$ns" nft list table inet ivozfw | grep -q 'chain log_' && fail "log chains left after logging off"
expect_exit 0 ivz "$ns" apply -p "$T/on.json"
expect_exit 0 ivz "$ns" diff -p "$T/on.json"

# policy errors
edit_policy "$T/bad.json" -e "p['logging'] = {'drops': 'yes', 'rate': '5/fortnight', 'prefix': 'a\"b', 'x': 1}"
expect_exit 1 ivz "$ns" check -p "$T/bad.json"
for want in logging.drops logging.rate logging.prefix logging.x; do expect_contains "$want" "$ERR" "bad logging"; done

# drops still drop and count, explain says so
ip link add v1 netns "$ns" type veth peer name v2 netns "$ns2" || fail "veth"
in_ns "$ns" ip addr add 192.0.2.1/24 dev v1
in_ns "$ns2" ip addr add 192.0.2.2/24 dev v2
in_ns "$ns" ip link set v1 up
in_ns "$ns2" ip link set v2 up
in_ns "$ns2" nft delete table inet ivozfw
expect_exit 5 ivz "$ns" explain -p "$T/on.json" 192.0.2.2 tcp/8000
expect_contains "logged (chain log_not_exposed" "$OUT" "explain with logging"
before=$(counter_packets "$ns" drop_not_exposed)
in_ns "$ns2" "$PY" "$LIB_DIR/probe.py" tcp 192.0.2.1 8000 --timeout 1 >/dev/null && fail "tcp/8000 reached with logging on"
after=$(counter_packets "$ns" drop_not_exposed)
[ "$after" -gt "$before" ] || fail "drop_not_exposed did not move with logging on ($before -> $after)"
pass
