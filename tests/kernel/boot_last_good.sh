#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A reboot brings back the whole table: apply --boot in a new namespace (an empty kernel),
# with the same state directory and the database stopped, loads the company, application
# server and carrier sets from their last good copies (said on stderr, exit 3, which
# ivozfw.service counts as success); every set equals what it was before the "reboot".
# Once the database is back, platform sync fills in what changed meanwhile. A last good copy
# is only what a source gave whole: a sync that fails writes none, and a state directory
# without copies says so.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB_DIR/mariadb.sh"

db_start
db_company 1 Acme
db_address 1 203.0.113.0/28 101
db_address 1 2001:db8:1::/48 102
db_appserver 1 203.0.113.20 as-one
db_proxy users 1 203.0.113.30
db_carrier 1 203.0.113.40
db_carrier_server 2 198.51.100.48 sbc.example
db_creds "$T/db.cnf"

P="$T/policy.json"
edit_policy "$P" -e "p['platform'] = {'database': 'mysql:$T/db.cnf'}"
SETS=(companies_v4 companies_v6 application_servers_v4 carriers_v4 exempt_v4)
set_dump() {   # set_dump NS : the elements of SETS, one line each
    local s
    for s in "${SETS[@]}"; do
        in_ns "$1" nft -j list set inet ivozfw "$s" | jq -c --arg s "$s" \
            '{($s): ([.nftables[].set? | select(.) | .elem // []] | add | sort_by(tojson))}' || fail "list set $s"
    done
}

new_ns ns1
expect_exit 0 ivz "$ns1" apply -p "$P"
before=$(set_dump "$ns1")
expect_contains '"203.0.113.20"' "$before" "application server loaded"
expect_contains '"198.51.100.48"' "$before" "carrier server loaded"
expect_contains '203.0.113.0' "$before" "company range loaded"
for l in companies application_servers carriers; do
    [ -s "$IVOZFW_STATE_DIR/last-good-$l.json" ] || fail "apply wrote no last good copy of $l"
done

# A sync with the database down fails and leaves the copies as they were.
db_stop
copies=$(cat "$IVOZFW_STATE_DIR"/last-good-*.json | jq -c 'del(.time)')
expect_exit 1 ivz "$ns1" platform sync -p "$P"
[ "$(cat "$IVOZFW_STATE_DIR"/last-good-*.json | jq -c 'del(.time)')" = "$copies" ] ||
    fail "a failed sync changed the last good copies"

# The "reboot": a new namespace (empty kernel), the same state directory, the database down.
new_ns ns2
expect_exit 3 ivz "$ns2" apply --boot -p "$P"
for l in companies application_servers carriers; do
    expect_match "note: loaded the last good copy of $l \([0-9]+ ranges from mysql:" "$ERR" "apply --boot"
done
expect_contains "keep what the kernel has and their last good copy" "$ERR" "apply --boot"
expect_same "$before" "$(set_dump "$ns2")" "sets after the reboot with the database down"
expect_exit 0 ivz "$ns2" explain -p "$P" 203.0.113.20 udp/5060
expect_contains "ACCEPTED" "$OUT" "the application server after the reboot"

# The database comes back with a change made meanwhile: platform sync fills it in.
db_restart
db_appserver 2 203.0.113.21 as-two
expect_exit 0 ivz "$ns2" platform sync -p "$P"
in_ns "$ns2" nft get element inet ivozfw application_servers_v4 '{ 203.0.113.21 }' >/dev/null 2>&1 ||
    fail "platform sync did not add the application server added while the host was down"
# .20 and .21 merge into one range in the copy, as in the set.
jq -e '.v4 | index("203.0.113.20/31")' "$IVOZFW_STATE_DIR/last-good-application_servers.json" >/dev/null ||
    fail "the sync did not refresh the last good copy"

# No copies (a state directory that never saw the database): said, and the sets are empty.
db_stop
new_ns ns3
run env IVOZFW_STATE_DIR="$T/empty-state" ip netns exec "$ns3" timeout 120 "$IVOZFW" apply --boot -p "$P"
[ "$RC" = 3 ] || fail "apply --boot without copies: exit $RC: $ERR"
expect_contains "no last good copy of application_servers" "$ERR" "apply --boot without copies"
pass
