#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# GeoIP sets: loaded by apply, refreshed as a delta, and every bad database refused with the
# kernel byte-for-byte unchanged.
. "$(dirname "$0")/../lib/lib.sh"
DATA="$IVOZFW_SRC/../shared/data/mmdb"
mk() { perl "$LIB_DIR/mkmmdb.pl" "$@" || fail "mkmmdb $*"; }

new_ns ns
mk "$T/geo.mmdb" --epoch 1700000000 203.0.113.0/24=CN 198.51.100.0/24=ES 2001:db8:c::/48=CN 2001:db8:e::/48=ES
edit_policy "$T/p.json" -e "p['geoip'] = {'database': '$T/geo.mmdb', 'mode': 'deny', 'countries': ['CN']}"

expect_exit 0 ivz "$ns" apply -p "$T/p.json"
set4=$(in_ns "$ns" nft list set inet ivozfw geoip_v4)
expect_contains "203.0.113.0/24" "$set4" "geoip_v4"
expect_not_contains "198.51.100" "$set4" "geoip_v4"
expect_contains "2001:db8:c::/48" "$(in_ns "$ns" nft list set inet ivozfw geoip_v6)" "geoip_v6"
expect_exit 0 ivz "$ns" geoip refresh -p "$T/p.json"
expect_contains "nothing sent" "$OUT"

# A delta: CN loses a /25, gains 192.0.2.128/25. Only the GeoIP sets change.
others() { in_ns "$ns" nft -j list ruleset | jq -S '[.nftables[] | select((.set.name? // "") | startswith("geoip") | not)] | walk(if type == "object" then del(.packets, .bytes) else . end)'; }
before_others=$(others)
mk "$T/geo2.mmdb" --epoch 1700000100 203.0.113.0/25=CN 192.0.2.128/25=CN 198.51.100.0/24=ES 2001:db8:c::/48=CN
edit_policy "$T/p2.json" --from "$T/p.json" -e "p['geoip']['database'] = '$T/geo2.mmdb'; p['geoip']['max_shrink_percent'] = 60"
expect_exit 0 ivz "$ns" geoip refresh -p "$T/p2.json"
expect_contains "3 elements sent" "$OUT" "refresh output (1 interval removed, 2 added)"
set4=$(in_ns "$ns" nft list set inet ivozfw geoip_v4)
expect_contains "192.0.2.128/25" "$set4" "geoip_v4 after refresh"
expect_contains "203.0.113.0/25" "$set4" "geoip_v4 after refresh"
expect_same "$before_others" "$(others)" "objects other than the GeoIP sets"

# Every bad database: refused, nothing changes.
before=$(ruleset_raw "$ns")
bad=("$DATA"/maxmind-bad/*.mmdb "$DATA"/maxmind-test/MaxMind-DB-test-broken-*.mmdb
     "$DATA"/maxmind-test/GeoIP2-City-Test-Invalid-Node-Count.mmdb "$T/missing.mmdb")
head -c 1000 "$T/geo2.mmdb" >"$T/truncated.mmdb"
printf 'not a database' >"$T/garbage.mmdb"
bad+=("$T/truncated.mmdb" "$T/garbage.mmdb")
for db in "${bad[@]}"; do
    edit_policy "$T/bad.json" --from "$T/p.json" -e "p['geoip']['database'] = '$db'"
    expect_exit 1 ivz "$ns" geoip refresh -p "$T/bad.json"
    expect_contains "$(basename "$db")" "$ERR" "error for $db"
    expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after refusing $db"
done
# apply with a broken database keeps the loaded GeoIP sets (and says so: exit 3).
edit_policy "$T/bad.json" --from "$T/p.json" -e "p['geoip']['database'] = '$T/truncated.mmdb'"
expect_exit 3 ivz "$ns" apply -p "$T/bad.json"
expect_contains "keep what the kernel has" "$ERR"
expect_contains "192.0.2.128/25" "$(in_ns "$ns" nft list set inet ivozfw geoip_v4)" "geoip_v4 kept"

# Nothing for the configured countries (a wrong database): refused.
edit_policy "$T/none.json" --from "$T/p2.json" -e "p['geoip']['countries'] = ['KP']"
expect_exit 1 ivz "$ns" geoip refresh -p "$T/none.json"
expect_contains "no network of KP" "$ERR"

# Shrink guard: CN down to a /30 is more than 20% less: refused unless --force.
mk "$T/small.mmdb" --epoch 1700000200 203.0.113.0/30=CN 2001:db8:c::/48=CN
edit_policy "$T/small.json" --from "$T/p.json" -e "p['geoip']['database'] = '$T/small.mmdb'"
before=$(ruleset_raw "$ns")
expect_exit 1 ivz "$ns" geoip refresh -p "$T/small.json"
expect_contains "shrink" "$ERR"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after the shrink guard"
expect_exit 0 ivz "$ns" geoip refresh -p "$T/small.json" --force

# Age guard: a database older than the loaded one is refused unless --force.
mk "$T/old.mmdb" --epoch 1600000000 203.0.113.0/24=CN
edit_policy "$T/old.json" --from "$T/p.json" -e "p['geoip']['database'] = '$T/old.mmdb'"
expect_exit 1 ivz "$ns" geoip refresh -p "$T/old.json"
expect_contains "older" "$ERR"
expect_exit 0 ivz "$ns" geoip refresh -p "$T/old.json" --force

# lookup: the country, and per service what the table does (the one evaluator's verdicts)
expect_exit 0 ivz "$ns" geoip lookup -p "$T/p.json" 203.0.113.7
expect_contains "country CN" "$OUT"
expect_contains "DROPPED: country CN" "$OUT"
expect_contains "in the GeoIP drop set" "$OUT"
expect_exit 0 ivz "$ns" geoip lookup -p "$T/p.json" 198.51.100.7
expect_contains "country ES" "$OUT"
expect_contains "ACCEPTED" "$OUT"
expect_not_contains "in the GeoIP drop set" "$OUT"

# status takes an unchanged database's sets as loaded, without walking it again, but a set
# whose size is not what was loaded (flushed by hand) still shows as pending
expect_exit 0 ivz "$ns" geoip refresh -p "$T/p.json" --force
expect_exit 0 ivz "$ns" status -p "$T/p.json"
expect_contains "matches the policy" "$OUT"
in_ns "$ns" nft flush set inet ivozfw geoip_v4
expect_exit 2 ivz "$ns" status -p "$T/p.json"
expect_contains "set geoip_v4: 0 intervals in the kernel" "$OUT"
expect_exit 0 ivz "$ns" geoip refresh -p "$T/p.json" --force
expect_exit 0 ivz "$ns" status -p "$T/p.json"
# a new file at the same path (geoipupdate renames one into place): walked again, so the
# country added to it shows as pending
mk "$T/geo-new.mmdb" --epoch 1700000000 203.0.113.0/24=CN 192.0.2.0/24=CN 198.51.100.0/24=ES \
    2001:db8:c::/48=CN 2001:db8:e::/48=ES
mv "$T/geo-new.mmdb" "$T/geo.mmdb"
expect_exit 2 ivz "$ns" status -p "$T/p.json"
expect_contains "geoip_v4" "$OUT"
pass
