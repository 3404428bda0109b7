#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Anti-flooding with real SIP traffic: a sipp server (UAS) behind the firewall and sipp
# clients (UAC, OPTIONS over UDP, one socket each so replies come back on the same flow)
# in separate namespaces.
#   - one source flooding well above the rate: about burst (+ rate) requests arrive, then
#     nothing while banned; once it stops, the ban runs out and it gets through again;
#   - a legitimate client at a normal rate during the flood: everything arrives;
#   - the same flood rate from an application server, an antiflood_trusted source and a
#     company range: everything arrives;
#   - IPv6: different addresses of one /64 are metered (and banned) together;
#   - ivozfw bans / ban / unban, checked against what packets do; bans survive apply.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/sipp/env.sh"

RATE=10 BURST=20 BAN=5
af_server
af_client fl flooder 198.51.100.7
af_client lg legit 198.51.100.20 2001:db8::20
af_client ex exempt 203.0.113.5 203.0.113.6 192.0.2.77
af_client v6 v6net 2001:db8:0:1::a 2001:db8:0:1::b

D="$T/companies.d"
mkdir -p "$D"
echo '{"id": 1, "name": "Acme", "ranges": ["192.0.2.64/26"]}' >"$D/1.json"
edit_policy "$T/p.json" \
    -e "p['lists']['application_servers'] = ['203.0.113.5']" \
    -e "p['lists']['antiflood_trusted'] = ['203.0.113.6']" \
    -e "p['companies'] = {'source': '$D'}" \
    -e "p['antiflood'].update({'rate': '$RATE/second', 'burst': $BURST, 'ban': '${BAN}s'})"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"
sip_uas 198.51.100.1
sip_uas 2001:db8::1

# Sanity: a normal client gets everything through.
n=$(sip_uac "$lg" 198.51.100.20 198.51.100.1 5 5)
[ "$n" = 5 ] || fail "legit client before any flood: $n/5 OPTIONS answered"

# The flood (300/s for 4 s from one socket) and, at the same time, the others.
sip_uac "$fl" 198.51.100.7 198.51.100.1 300 1200 >"$T/flood.n" &
flood_pid=$!
sleep 0.5
pids=$flood_pid
sip_uac "$lg" 198.51.100.20 198.51.100.1 5 15 >"$T/legit.n" &
pids+=" $!"
sip_uac "$ex" 203.0.113.5 198.51.100.1 300 600 >"$T/appsrv.n" &
pids+=" $!"
sip_uac "$ex" 203.0.113.6 198.51.100.1 300 600 >"$T/trusted.n" &
pids+=" $!"
sip_uac "$ex" 192.0.2.77 198.51.100.1 300 600 >"$T/company.n" &
pids+=" $!"
for p in $pids; do wait "$p"; done
flood=$(cat "$T/flood.n")
log "flood 1200 OPTIONS at 300/s: $flood answered; legit $(cat "$T/legit.n")/15;" \
    "application server $(cat "$T/appsrv.n")/600, trusted $(cat "$T/trusted.n")/600, company $(cat "$T/company.n")/600"
[ "$flood" -ge "$BURST" ] && [ "$flood" -le $((BURST + RATE + 5)) ] ||
    fail "flooder got $flood of 1200 OPTIONS through; expected about burst ($BURST) to burst + rate"
[ "$(cat "$T/legit.n")" = 15 ] || fail "legit client during the flood: $(cat "$T/legit.n")/15 answered"
[ "$(cat "$T/appsrv.n")" = 600 ] || fail "application server at the flood rate: $(cat "$T/appsrv.n")/600"
[ "$(cat "$T/trusted.n")" = 600 ] || fail "antiflood_trusted source at the flood rate: $(cat "$T/trusted.n")/600"
[ "$(cat "$T/company.n")" = 600 ] || fail "company range at the flood rate: $(cat "$T/company.n")/600"

# Banned now: the CLI says so, with the time left, and a single request does not arrive.
expect_exit 0 bans_json "$fw" "$T/p.json"
printf '%s' "$OUT" | jq -e --argjson ban $BAN '.bans | map(select(.address == "198.51.100.7" and .reason == "antiflood"
    and .expires_in_s <= $ban and .expires_in_s >= 1)) | length == 1' >/dev/null || fail "bans --json: $OUT"
printf '%s' "$OUT" | jq -e '.bans | map(select(.address == "198.51.100.20")) | length == 0' >/dev/null ||
    fail "the legit client was banned: $OUT"
expect_exit 0 ivz "$fw" bans -p "$T/p.json"
expect_match "198\.51\.100\.7 +antiflood" "$OUT" "ivozfw bans"
n=$(sip_uac "$fl" 198.51.100.7 198.51.100.1 2 1)
[ "$n" = 0 ] || fail "banned source got an OPTIONS through"
[ "$(counter_packets "$fw" drop_flood)" -gt 500 ] || fail "drop_flood: $(counter_packets "$fw" drop_flood)"
[ "$(counter_packets "$fw" drop_banned)" -ge 1 ] || fail "drop_banned: $(counter_packets "$fw" drop_banned)"
log "counters: drop_flood $(counter_packets "$fw" drop_flood), drop_banned $(counter_packets "$fw" drop_banned)"

# The ban runs out (ban seconds after its last packet over the rate): handled normally again.
t0=$SECONDS
wait_until $((BAN + 5)) sh -c "ip netns exec $fw nft list set inet ivozfw ban_v4 | grep -q -v 'elements = { 198.51.100.7 ' && ! ip netns exec $fw nft list set inet ivozfw ban_v4 | grep -q 198.51.100.7" ||
    fail "198.51.100.7 still banned $((SECONDS - t0)) s after the flood"
n=$(sip_uac "$fl" 198.51.100.7 198.51.100.1 5 10)
[ "$n" = 10 ] || fail "after the ban ran out the former flooder got $n/10 OPTIONS through"

# IPv6: two addresses of one /64, each under the limit on its own, are metered together.
a=$(sip_uac "$v6" 2001:db8:0:1::a 2001:db8::1 100 18)
b=$(sip_uac "$v6" 2001:db8:0:1::b 2001:db8::1 100 18)
log "IPv6 /64: ::a $a/18, ::b $b/18 answered"
[ "$a" = 18 ] || fail "first address of the /64: $a/18 (under burst, all should arrive)"
[ "$b" -le 6 ] || fail "second address of the same /64 got $b/18 through: not metered with the first"
expect_exit 0 bans_json "$fw" "$T/p.json"
printf '%s' "$OUT" | jq -e '.bans | map(select(.address == "2001:db8:0:1::/64")) | length == 1' >/dev/null ||
    fail "bans --json does not show 2001:db8:0:1::/64: $OUT"
n=$(sip_uac "$lg" 2001:db8::20 2001:db8::1 50 18)
[ "$n" = 18 ] || fail "IPv6 client in another /64: $n/18"

# Manual ban / unban, checked with packets; a ban survives apply.
expect_exit 0 ivz "$fw" ban -p "$T/p.json" 198.51.100.20 --for 1h
n=$(sip_uac "$lg" 198.51.100.20 198.51.100.1 5 3)
[ "$n" = 0 ] || fail "manually banned client got $n/3 through"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"
expect_contains "no changes" "$OUT" "apply with bans in the set"
expect_exit 0 bans_json "$fw" "$T/p.json"
printf '%s' "$OUT" | jq -e '.bans | map(select(.address == "198.51.100.20" and .reason == "manual"
    and .expires_in_s > 3500 and .timeout_s == 3600)) | length == 1' >/dev/null || fail "manual ban after apply: $OUT"
n=$(sip_uac "$lg" 198.51.100.20 198.51.100.1 5 2)
[ "$n" = 0 ] || fail "manual ban lost after apply: $n/2 through"
expect_exit 0 ivz "$fw" unban -p "$T/p.json" 198.51.100.20
expect_contains "unbanned" "$OUT" "unban"
n=$(sip_uac "$lg" 198.51.100.20 198.51.100.1 5 5)
[ "$n" = 5 ] || fail "after unban: $n/5 through"
expect_exit 0 ivz "$fw" unban -p "$T/p.json" 198.51.100.20
expect_contains "not banned" "$OUT" "second unban"
expect_exit 0 ivz "$fw" ban -p "$T/p.json" 2001:db8::77
n=$(sip_uac "$lg" 2001:db8::20 2001:db8::1 5 2)
[ "$n" = 0 ] || fail "ban of 2001:db8::77 (its /64) let 2001:db8::20 through"
expect_exit 0 ivz "$fw" diff -p "$T/p.json"
pass
