#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# apply of the shipped policy into an empty namespace, then diff/apply are no-ops; the table
# holds the expected objects; `ivozfw export | nft -f -` gives the same kernel state as apply
# (in a second namespace), and the exported script loads twice in a row.
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns a
new_ns ns2 b
P=$T/policy.json
shipped_policy "$P"

# Empty namespace: everything is to be created.
expect_exit 2 ivz "$ns" diff -p "$P"
expect_contains "+ table inet ivozfw" "$OUT" "diff on an empty namespace"
expect_exit 2 ivz "$ns" diff --json -p "$P"
printf '%s' "$OUT" | jq -e '.changes > 0 and .table_exists == false' >/dev/null ||
    fail "diff --json on an empty namespace: $OUT"

expect_exit 0 ivz "$ns" apply -p "$P"
expect_contains "applied" "$OUT" "first apply"
has_table "$ns" || fail "table inet ivozfw missing after apply"

expect_exit 0 ivz "$ns" diff -p "$P"
expect_contains "no changes" "$OUT" "diff after apply"
before=$(ruleset_raw "$ns")
expect_exit 0 ivz "$ns" apply -p "$P"
expect_contains "no changes" "$OUT" "second apply"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset before/after a no-op apply (handles included)"

expect_exit 0 ivz "$ns" diff --json -p "$P"
printf '%s' "$OUT" | jq -e '.changes == 0 and .table_exists == true and (.ops | length) == 0' >/dev/null ||
    fail "diff --json after apply is not {changes: 0}: $OUT"

# The objects the compiled table must have.
listing=$(in_ns "$ns" nft list table inet ivozfw) || fail "nft list table inet ivozfw"
for want in \
    "type filter hook input priority filter; policy drop;" \
    "map services {" \
    "type inet_proto . inet_service : verdict" \
    "tcp . 5060 : goto svc_sip" \
    "udp . 5060 : goto svc_sip" \
    "udp . 13000-19000 : goto svc_rtp" \
    "tcp . 22 : goto svc_ssh" \
    "counter drop_invalid {" \
    "counter drop_not_exposed {" \
    "counter drop_not_allowed {" \
    "set admin_v4 {" \
    "set admin_v6 {" \
    "elements = { 192.0.2.10 }" \
    "elements = { 2001:db8:a::/48 }" \
    "chain svc_ssh {" \
    'ip saddr @admin_v4 accept comment "ivozfw:ssh/from-admin-v4"' \
    'counter name "drop_not_allowed" drop' \
    'ct state established,related accept comment "ivozfw:established"' \
    "type filter hook prerouting priority raw; policy accept;" \
    'udp dport vmap @flood_udp comment "ivozfw:flood-dispatch"' \
    "5060 : goto flood_sip" \
    'fib daddr type != local accept comment "ivozfw:sip/not-local"' \
    'notrack comment "ivozfw:sip/untracked"' \
    "type filter hook output priority raw; policy accept;" \
    'udp sport @untracked_udp oif != "lo" notrack comment "ivozfw:untracked-replies"' \
    'limit rate over 5000/second burst 50000 packets counter name "drop_service_cap" drop comment "ivozfw:sip/cap"' \
    'meta l4proto tcp limit rate over 500/second burst 500 packets counter name "drop_conn_cap" drop comment "ivozfw:sip-tls/tcp-cap"' \
    'meta l4proto . th dport vmap @services' \
    'counter name "drop_not_exposed" drop comment "ivozfw:not-exposed"'; do
    expect_contains "$want" "$listing" "nft list table inet ivozfw"
done
# Closed ports stay closed: nothing in the map for MySQL or Kamailio's JSON-RPC.
expect_not_contains ". 3306 :" "$listing" "services map"
expect_not_contains ". 8000 :" "$listing" "services map"
# The input chain's last rule is the counted default drop.
last=$(in_ns "$ns" nft -j list chain inet ivozfw input | jq -r '[.nftables[] | .rule? | select(.)] | last | .comment')
[ "$last" == "ivozfw:not-exposed" ] || fail "last rule of chain input is '$last', not ivozfw:not-exposed"
# Every rule in the table carries an ivozfw comment.
bare=$(in_ns "$ns" nft -j list table inet ivozfw |
    jq '[.nftables[] | .rule? | select(.) | select((.comment // "") | startswith("ivozfw:") | not)] | length')
[ "$bare" == 0 ] || fail "$bare rule(s) without an ivozfw: comment"

# Export equivalence: the script, loaded by nft into a second namespace, equals what apply did.
expect_exit 0 ivz "$ns" export -p "$P"
printf '%s\n' "$OUT" >"$T/export.nft"
expect_contains "table inet ivozfw {" "$OUT" "export"
in_ns "$ns2" nft -f "$T/export.nft" || fail "nft -f of the exported script failed (first load)"
applied=$(table_json "$ns")
exported=$(table_json "$ns2")
expect_same "$applied" "$exported" "table after apply vs table after nft -f export (handles stripped)"

# Loading the script again (now over an existing table) works and changes nothing.
in_ns "$ns2" nft -f "$T/export.nft" || fail "nft -f of the exported script failed (second load)"
expect_same "$applied" "$(table_json "$ns2")" "table after loading the export twice"
# ... and ivozfw agrees the exported table is its own.
expect_exit 0 ivz "$ns2" diff -p "$P"

# export via stdin policy and via a pipe straight into nft
ivz "$ns" export -p "$P" | in_ns "$ns2" nft -f - || fail "ivozfw export | nft -f - failed"
expect_same "$applied" "$(table_json "$ns2")" "table after ivozfw export | nft -f -"

pass
