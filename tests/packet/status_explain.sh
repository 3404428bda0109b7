#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `ivozfw explain` against real traffic, for every drop reason: for each case the verdict of
# explain (run first) must be what a real packet gets, and the status counter of that reason
# must move. Then status exit codes (in sync, hand edit, not loaded), --json, --output and
# the Prometheus text format.
. "$(dirname "$0")/../lib/lib.sh"

new_ns fw fw
new_ns cl client
ip link add vfw netns "$fw" type veth peer name vcl netns "$cl" || fail "veth"
in_ns "$fw" ip link set vfw up
in_ns "$cl" ip link set vcl up
in_ns "$fw" ip addr add 192.0.2.1/24 dev vfw
in_ns "$fw" ip addr add 2001:db8::1/64 dev vfw nodad
# 203.0.113.0/24 is CN (denied), 198.51.100.0/24 ES. 203.0.113.9: admin. 203.0.113.20: in
# company 42's range. 198.51.100.7: banned by hand.
for a in 203.0.113.5 203.0.113.9 203.0.113.20 198.51.100.5 198.51.100.7; do in_ns "$cl" ip addr add $a/24 dev vcl; done
for a in 2001:db8:c::5 2001:db8:e::5; do in_ns "$cl" ip addr add $a/64 dev vcl nodad; done
in_ns "$cl" ip route add 192.0.2.0/24 dev vcl
in_ns "$cl" ip route add 2001:db8::/64 dev vcl
for n in 203.0.113.0/24 198.51.100.0/24; do in_ns "$fw" ip route add $n dev vfw; done
for n in 2001:db8:c::/64 2001:db8:e::/64; do in_ns "$fw" ip route add $n dev vfw; done

perl "$LIB_DIR/mkmmdb.pl" "$T/geo.mmdb" 203.0.113.0/24=CN 2001:db8:c::/48=CN 198.51.100.0/24=ES 2001:db8:e::/48=ES ||
    fail "mkmmdb"
mkdir -p "$T/companies.d"
echo '{"id": 42, "name": "Acme", "ranges": ["203.0.113.16/28"]}' >"$T/companies.d/42.json"
edit_policy "$T/p.json" -e "p['lists']['admin'] = ['203.0.113.9']" \
    -e "p['geoip'] = {'database': '$T/geo.mmdb', 'mode': 'deny', 'countries': ['CN']}" \
    -e "p['companies'] = {'source': '$T/companies.d'}"
P=(-p "$T/p.json")

# not loaded yet: status says so (exit 4) and explain says the table is missing
expect_exit 4 ivz "$fw" status "${P[@]}"
expect_contains "NOT LOADED" "$OUT" "status before apply"
expect_exit 0 ivz "$fw" explain "${P[@]}" 198.51.100.5 udp/5060
expect_contains "NOT loaded" "$OUT" "explain before apply"

expect_exit 0 ivz "$fw" apply "${P[@]}"
expect_exit 0 ivz "$fw" companies sync "${P[@]}"
expect_exit 0 ivz "$fw" status "${P[@]}"
expect_contains "loaded, matches the policy" "$OUT" "status after apply"
expect_contains "company ranges:   last sync" "$OUT" "status: company sync"
expect_contains "GeoIP database:   $T/geo.mmdb built" "$OUT" "status: GeoIP"

antiflood=0
if ivz "$fw" export "${P[@]}" | grep -q 'ban_v4'; then
    antiflood=1
    expect_exit 0 ivz "$fw" ban "${P[@]}" 198.51.100.7 --for 10m
fi

listen_in "$fw" "$T/rx.log" 120 --udp 5060 --tcp 22,5060,8000

drops() {   # drops REASON : packets of that reason in `status --json` (0 when absent)
    ivz "$fw" status "${P[@]}" --json | jq --arg r "$1" '.dropped[$r].packets // 0'
}

# check SRC PROTO PORT WANT_VERDICT WANT_REASON [TEXT]: explain, then a real packet.
check() {
    local src=$1 proto=$2 port=$3 want=$4 reason=$5 text=${6:-} dst=192.0.2.1 verdict got before after
    [[ $src == *:* ]] && dst=2001:db8::1
    run ivz "$fw" explain "${P[@]}" --json "$src" "$proto/$port"
    [ "$RC" = 0 ] || [ "$RC" = 5 ] || fail "explain $src $proto/$port: exit $RC: $ERR"
    verdict=$(jq -r .verdict <<<"$OUT")
    [ "$verdict" = accept ] && [ "$RC" != 0 ] && fail "explain $src: accept but exit $RC"
    [ "$verdict" = drop ] && [ "$RC" != 5 ] && fail "explain $src: drop but exit $RC"
    [ "$verdict" = "$want" ] || fail "explain $src $proto/$port: $verdict, expected $want: $OUT"
    [ "$want" = drop ] && [ "$(jq -r .reason <<<"$OUT")" != "$reason" ] &&
        fail "explain $src $proto/$port: reason $(jq -r .reason <<<"$OUT"), expected $reason"
    [ -n "$text" ] && expect_contains "$text" "$(jq -r '.steps[].text, .summary' <<<"$OUT")" "explain $src $proto/$port"
    [ "$want" = drop ] && before=$(drops "$reason")
    in_ns "$cl" "$PY" "$LIB_DIR/probe.py" "$proto" "$dst" "$port" --src "$src" --timeout 1 >/dev/null
    if [ $? = 0 ]; then got=accept; else got=drop; fi
    [ "$got" = "$verdict" ] || fail "$src $proto/$port: explain says $verdict, the real packet was ${got}ped
$(ivz "$fw" explain "${P[@]}" "$src" "$proto/$port")"
    if [ "$want" = drop ]; then
        after=$(drops "$reason")
        [ "$after" -gt "$before" ] || fail "$src $proto/$port dropped but counter $reason stayed at $before"
    fi
    log "$src $proto/$port: $verdict ${reason:+($reason)} - $(jq -r .summary <<<"$OUT")"
}

check 198.51.100.5 udp 5060 accept "" "service sip accepts it"
check 198.51.100.5 tcp 5060 accept ""
check 198.51.100.5 tcp 8000 drop not_exposed "port 8000 is not exposed"
check 198.51.100.5 tcp 22 drop not_allowed "only accepts list admin"
check 203.0.113.9 tcp 22 accept "" "in list admin"
check 203.0.113.5 udp 5060 drop geoip "country CN"
check 203.0.113.5 tcp 5060 drop geoip "geoip_v4"
check 2001:db8:c::5 tcp 5060 drop geoip "geoip_v6"
check 2001:db8:e::5 tcp 5060 accept ""
check 203.0.113.9 udp 5060 accept "" "via list admin"
check 203.0.113.20 udp 5060 accept "" "company 42 (Acme)"
if [ "$antiflood" = 1 ]; then
    check 198.51.100.7 udp 5060 drop banned "manual ban"
else
    log "no anti-flood in this build: banned case skipped"
fi

# the every-service summary
expect_exit 0 ivz "$fw" explain "${P[@]}" 203.0.113.5
expect_match "udp/5060 +sip +DROPPED" "$OUT" "summary"

# status after the traffic: counters per reason, JSON and Prometheus agree
expect_exit 0 ivz "$fw" status "${P[@]}" --json
J=$OUT
for r in not_exposed not_allowed geoip; do
    [ "$(jq ".dropped.$r.packets" <<<"$J")" -ge 1 ] || fail "status --json: no $r drops: $J"
    [ "$(jq ".dropped.$r.bytes" <<<"$J")" -ge 40 ] || fail "status --json: no $r bytes"
done
[ "$(jq '.sets.geoip_v4.elements' <<<"$J")" -ge 1 ] || fail "status --json: geoip_v4 empty"
[ "$(jq '.sets.companies_v4.elements' <<<"$J")" = 1 ] || fail "status --json: companies_v4 should hold 1 range"
[ "$(jq '.in_sync' <<<"$J")" = true ] || fail "status --json: not in sync"

expect_exit 0 ivz "$fw" status "${P[@]}" --format prometheus
PROM=$OUT
bad=$(printf '%s\n' "$PROM" | grep -Ev '^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$' |
    grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? -?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')
[ -z "$bad" ] || fail "lines outside the Prometheus text format:
$bad"
for r in not_exposed not_allowed geoip; do
    want=$(jq ".dropped.$r.packets" <<<"$J")
    got=$(printf '%s\n' "$PROM" | sed -n "s/^ivozfw_dropped_packets_total{reason=\"$r\"} //p")
    [ -n "$got" ] && [ "$got" -ge "$want" ] || fail "prometheus $r packets: '$got', status said $want"
done
expect_contains 'ivozfw_table_loaded{table="ivozfw"} 1' "$PROM" "prometheus"
expect_contains 'ivozfw_pending_changes{table="ivozfw"} 0' "$PROM" "prometheus"
expect_contains '# TYPE ivozfw_dropped_packets_total counter' "$PROM" "prometheus"
expect_match '^ivozfw_set_elements\{set="geoip_v4"\} [1-9]' "$PROM" "prometheus"
expect_match '^ivozfw_last_apply_timestamp_seconds [1-9][0-9]{9}$' "$PROM" "prometheus"
expect_match '^ivozfw_geoip_build_timestamp_seconds [1-9][0-9]{9}$' "$PROM" "prometheus"
expect_match '^ivozfw_companies_last_sync_timestamp_seconds [1-9][0-9]{9}$' "$PROM" "prometheus"
if [ "$antiflood" = 1 ]; then
    expect_match '^ivozfw_set_elements\{set="ban_v4"\} 1$' "$PROM" "prometheus"
    expect_match '^ivozfw_set_capacity\{set="ban_v4"\} [1-9]' "$PROM" "prometheus"
fi

# --output: the file appears whole, no temporary left behind
expect_exit 0 ivz "$fw" status "${P[@]}" --format prometheus --output "$T/ivozfw.prom"
[ -s "$T/ivozfw.prom" ] || fail "--output wrote nothing"
[ -e "$T/ivozfw.prom.tmp" ] && fail "--output left its temporary file"
grep -q '^ivozfw_table_loaded' "$T/ivozfw.prom" || fail "--output: not the metrics"

# a hand edit: status exits 2 and names it; explain warns
in_ns "$fw" nft delete element inet ivozfw admin_v4 '{ 203.0.113.9 }' || fail "hand edit"
expect_exit 2 ivz "$fw" status "${P[@]}"
expect_contains "DIFFERS from the policy" "$OUT" "status after a hand edit"
expect_contains "admin_v4" "$OUT" "status names the change"
run ivz "$fw" explain "${P[@]}" 203.0.113.9 tcp/22
expect_contains "differs from the policy" "$OUT" "explain after a hand edit"
expect_contains "DROPPED" "$OUT" "explain follows the live set"
expect_exit 0 ivz "$fw" apply "${P[@]}"
expect_exit 0 ivz "$fw" status "${P[@]}"

# removed: exit 4, and the metrics say so
expect_exit 0 ivz "$fw" remove "${P[@]}"
expect_exit 4 ivz "$fw" status "${P[@]}" --format prometheus
expect_contains 'ivozfw_table_loaded{table="ivozfw"} 0' "$OUT" "prometheus, table removed"
pass
