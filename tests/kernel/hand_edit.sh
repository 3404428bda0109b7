#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Changes made by hand inside table inet ivozfw (with nft) are seen by diff and reverted by
# apply: an added or inserted rule, a deleted rule, an added set element, the chain policy
# flipped to accept, an extra set and an extra chain.
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns
P=$T/policy.json
shipped_policy "$P"
expect_exit 0 ivz "$ns" apply -p "$P"
baseline=$(table_json "$ns")

# After each hand edit: diff exits 2, apply fixes it, diff exits 0, the table is the baseline.
repaired() {
    local what=$1
    expect_exit 0 ivz "$ns" apply -p "$P"
    expect_contains "applied" "$OUT" "apply after $what"
    expect_exit 0 ivz "$ns" diff -p "$P"
    expect_same "$baseline" "$(table_json "$ns")" "table after reverting $what"
}

# (a) a rule appended at the end of input (after the default drop) and one inserted first.
in_ns "$ns" nft add rule inet ivozfw input tcp dport 8000 accept || fail "nft add rule"
hand=$(in_ns "$ns" nft -a list chain inet ivozfw input | sed -n 's/.*dport 8000 accept # handle \([0-9]*\).*/\1/p')
[ -n "$hand" ] || fail "cannot find the handle of the hand-added rule"
expect_exit 2 ivz "$ns" diff -p "$P"
# The diff names the foreign rule by its handle and says it is a hand edit.
expect_match "^ *chain input: - " "$OUT" "diff after an appended rule"
expect_contains "(handle $hand)" "$OUT" "diff after an appended rule"
expect_contains "hand edit" "$OUT" "diff after an appended rule"
expect_exit 2 ivz "$ns" diff --json -p "$P"
printf '%s' "$OUT" | jq -e '[.ops[] | select(.op == "delete_rule" and .name == "input")] | length == 1' >/dev/null ||
    fail "diff --json does not show one delete_rule in input: $OUT"
repaired "an appended rule"
in_ns "$ns" nft -a list chain inet ivozfw input | grep -c "dport 8000" >/dev/null && fail "the hand-added rule is still there"

in_ns "$ns" nft insert rule inet ivozfw input tcp dport 3306 accept || fail "nft insert rule"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "hand edit" "$OUT" "diff after an inserted rule"
repaired "an inserted rule"

# A hand edit that carries an ivozfw comment is still not ivozfw's rule.
in_ns "$ns" nft insert rule inet ivozfw input tcp dport 8001 accept comment '"ivozfw:loopback"' ||
    fail "nft insert rule with a forged comment"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_match "chain input: [-~]" "$OUT" "diff after a rule with a forged ivozfw comment"
repaired "a rule with a forged ivozfw comment"

# (b) one of ivozfw's rules deleted by handle: restored in its place.
h=$(rule_handle "$ns" input "ivozfw:loopback")
[ -n "$h" ] || fail "no rule with comment ivozfw:loopback in chain input"
in_ns "$ns" nft delete rule inet ivozfw input handle "$h" || fail "nft delete rule handle $h"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "loopback" "$OUT" "diff after deleting the loopback rule"
repaired "a deleted rule"
h=$(rule_handle "$ns" svc_ssh "ivozfw:ssh/not-allowed")
[ -n "$h" ] || fail "no rule ivozfw:ssh/not-allowed in svc_ssh"
in_ns "$ns" nft delete rule inet ivozfw svc_ssh handle "$h" || fail "nft delete rule"
expect_exit 2 ivz "$ns" diff -p "$P"
repaired "a deleted service rule"

# (c) an element added to an address set, one removed from the services map.
in_ns "$ns" nft add element inet ivozfw admin_v4 '{ 203.0.113.9 }' || fail "nft add element"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "admin_v4" "$OUT" "diff after adding an element"
expect_contains "203.0.113.9" "$OUT" "diff after adding an element"
repaired "an added set element"
in_ns "$ns" nft delete element inet ivozfw services '{ tcp . 5061 }' || fail "nft delete element"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "services" "$OUT" "diff after deleting a map element"
repaired "a deleted map element"

# (d) the base chain's policy turned to accept.
in_ns "$ns" nft add chain inet ivozfw input '{ type filter hook input priority 0; policy accept; }' ||
    fail "nft: set policy accept"
in_ns "$ns" nft list chain inet ivozfw input | grep -c "policy accept" >/dev/null || fail "policy accept did not take"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "input" "$OUT" "diff after policy accept"
repaired "policy accept"
in_ns "$ns" nft list chain inet ivozfw input | grep -c "policy drop;" >/dev/null || fail "policy drop not restored"

# (e) foreign objects created inside ivozfw's table.
in_ns "$ns" nft add set inet ivozfw junk '{ type ipv4_addr; }' || fail "nft add set"
in_ns "$ns" nft add chain inet ivozfw extra || fail "nft add chain"
in_ns "$ns" nft add rule inet ivozfw extra accept || fail "nft add rule extra"
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "junk" "$OUT" "diff after adding a set"
expect_contains "extra" "$OUT" "diff after adding a chain"
repaired "an extra set and chain"

pass
