#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Platform addresses from a real MariaDB (private server, unix socket only) against real SIP
# traffic: a sipp server (UAS) behind the firewall on 7060 (service sip-trunks) and 5060
# (service sip), sipp clients (OPTIONS over UDP) in their own namespaces, a low antiflood
# rate.
#   - an application server (ApplicationServers row) and a carrier (kam_trunks_address row)
#     flooding udp/7060: every OPTIONS answered;
#   - a random source flooding udp/7060 at the same rate: cut to about the burst;
#   - the same carrier flooding udp/5060 (sip, not a carrier service): cut as well;
#   - carriers added to the database while running, a DDI provider (kam_trunks_address) and
#     an outbound carrier (CarrierServers, sipProxy 203.0.113.48): exempt after `platform sync`;
#   - GeoIP denying their country: the application server still passes, the carrier does not.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB_DIR/mariadb.sh"
. "$(dirname "$0")/sipp/env.sh"

RATE=10 BURST=20 BAN=5
FLOOD_RATE=300 FLOOD_N=600
af_server
af_client as appserver 203.0.113.20
af_client ca carrier 203.0.113.44 203.0.113.46 203.0.113.48
af_client rn random 198.51.100.7

db_start
db_company 1 Acme
db_address 1 192.0.2.64/26
db_appserver 1 203.0.113.20 as-one
db_carrier 16 203.0.113.44
db_creds "$T/db.cnf"
edit_policy "$T/p.json" \
    -e "p['platform'] = {'database': 'mysql:$T/db.cnf'}" \
    -e "p['antiflood'].update({'rate': '$RATE/second', 'burst': $BURST, 'ban': '${BAN}s'})"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"
has() { in_ns "$fw" nft get element inet ivozfw "$1" "{ $2 }" >/dev/null 2>&1; }
has application_servers_v4 203.0.113.20 || fail "apply did not load application server 203.0.113.20"
has carriers_v4 203.0.113.44 || fail "apply did not load carrier 203.0.113.44"
has carriers_v4 203.0.113.46 && fail "203.0.113.46 is a carrier before the database says so"
has companies_v4 198.51.100.7 && fail "the random source is in a company range"
sip_uas 198.51.100.1 7060
sip_uas 198.51.100.1 5060

# Sanity: at a normal rate everyone gets everything through, on both ports.
# (5/s: under the rate, so each source's meter is full again when its flood starts.)
for c in "$as 203.0.113.20" "$ca 203.0.113.44" "$rn 198.51.100.7"; do
    read -r cns src <<<"$c"
    for port in 7060 5060; do
        n=$(sip_uac "$cns" "$src" 198.51.100.1 5 5 "$port")
        [ "$n" = 5 ] || fail "$src to udp/$port before any flood: $n/5 OPTIONS answered"
    done
done

# The floods on udp/7060 (sip-trunks), all at once.
sip_uac "$as" 203.0.113.20 198.51.100.1 $FLOOD_RATE $FLOOD_N 7060 >"$T/as.n" &
p1=$!
sip_uac "$ca" 203.0.113.44 198.51.100.1 $FLOOD_RATE $FLOOD_N 7060 >"$T/ca.n" &
p2=$!
sip_uac "$rn" 198.51.100.7 198.51.100.1 $FLOOD_RATE $FLOOD_N 7060 >"$T/rn.n" &
p3=$!
wait $p1 $p2 $p3
as_n=$(cat "$T/as.n") ca_n=$(cat "$T/ca.n") rn_n=$(cat "$T/rn.n")
log "udp/7060 at $FLOOD_RATE/s: application server $as_n/$FLOOD_N, carrier $ca_n/$FLOOD_N, random $rn_n/$FLOOD_N"
[ "$as_n" = $FLOOD_N ] || fail "application server flooding udp/7060: $as_n/$FLOOD_N answered"
[ "$ca_n" = $FLOOD_N ] || fail "carrier flooding udp/7060: $ca_n/$FLOOD_N answered"
[ "$rn_n" -ge $((BURST - 2)) ] && [ "$rn_n" -le $((BURST + RATE + 5)) ] ||
    fail "random source flooding udp/7060 got $rn_n of $FLOOD_N through; expected about burst ($BURST) to burst + rate"

# The carrier on udp/5060 (service sip, not a carrier service): metered like anyone.
ca5=$(sip_uac "$ca" 203.0.113.44 198.51.100.1 $FLOOD_RATE $FLOOD_N 5060)
log "carrier flooding udp/5060: $ca5/$FLOOD_N"
[ "$ca5" -ge $((BURST - 2)) ] && [ "$ca5" -le $((BURST + RATE + 5)) ] ||
    fail "carrier flooding udp/5060 (not a carrier service) got $ca5 of $FLOOD_N through; expected about burst ($BURST)"
expect_exit 0 bans_json "$fw" "$T/p.json"
printf '%s' "$OUT" | jq -e '.bans | map(select(.address == "203.0.113.44")) | length == 1' >/dev/null ||
    fail "the carrier flooding udp/5060 is not banned: $OUT"
printf '%s' "$OUT" | jq -e '.bans | map(select(.address == "203.0.113.20")) | length == 0' >/dev/null ||
    fail "the application server was banned: $OUT"

# Carriers added to the database: metered on 7060 before the sync, exempt after it. .46 is a
# DDI provider (kam_trunks_address); .48 an outbound carrier (CarrierServers: the trunks proxy
# sends to its sipProxy, and its answers come from there).
for a in 203.0.113.46 203.0.113.48; do
    n=$(sip_uac "$ca" $a 198.51.100.1 $FLOOD_RATE 200 7060)
    [ "$n" -le $((BURST + RATE + 5)) ] || fail "$a (not yet a carrier) got $n/200 through udp/7060"
done
for a in 203.0.113.46 203.0.113.48; do
    wait_until $((BAN + 5)) sh -c "! ip netns exec $fw nft list set inet ivozfw ban_v4 | grep -qF '$a'" ||
        fail "$a still banned $((BAN + 5)) s later"
done
db_carrier 17 203.0.113.46
db_carrier_server 1 NULL 203.0.113.48
expect_exit 0 ivz "$fw" platform sync -p "$T/p.json"
log "platform sync: $OUT"
for a in 203.0.113.46 203.0.113.48; do
    has carriers_v4 $a || fail "platform sync did not load carrier $a"
    n=$(sip_uac "$ca" $a 198.51.100.1 $FLOOD_RATE $FLOOD_N 7060)
    [ "$n" = $FLOOD_N ] || fail "new carrier $a flooding udp/7060 after platform sync: $n/$FLOOD_N answered"
done

# GeoIP: 203.0.113.0/24 denied. The application server is exempt; a carrier is not, even on
# its own service. 198.51.100.7 (allowed country) is the control.
wait_until $((BAN + 5)) sh -c "! ip netns exec $fw nft list set inet ivozfw ban_v4 | grep -q '203\.0\.113\.44'" ||
    fail "203.0.113.44 still banned"
perl "$LIB_DIR/mkmmdb.pl" "$T/geo.mmdb" 203.0.113.0/24=CN 198.51.100.0/24=ES || fail "mkmmdb"
edit_policy "$T/geo.json" --from "$T/p.json" -e "p['geoip'] = {'database': '$T/geo.mmdb', 'mode': 'deny', 'countries': ['CN']}"
expect_exit 0 ivz "$fw" apply -p "$T/geo.json"
n=$(sip_uac "$as" 203.0.113.20 198.51.100.1 5 5 7060)
[ "$n" = 5 ] || fail "application server in a denied country: $n/5 answered on udp/7060"
n=$(sip_uac "$rn" 198.51.100.7 198.51.100.1 5 5 7060)
[ "$n" = 5 ] || fail "source in an allowed country: $n/5 answered on udp/7060"
n=$(sip_uac "$ca" 203.0.113.44 198.51.100.1 5 5 7060)
[ "$n" = 0 ] || fail "carrier in a denied country: $n/5 answered on udp/7060 (carriers are not exempt from GeoIP)"
pass
