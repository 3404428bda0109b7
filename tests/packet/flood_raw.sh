#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Anti-flood before conntrack, with real floods (tests/bench/udpflood.c: raw socket, spoofed
# documentation sources, compiled here with cc) while sipp clients send OPTIONS.
#   a. 500 IPv4 sources, one flow each ("fixed"), flood udp/5060 for 4 s: the per-source
#      meter bans them, and what it drops never reaches conntrack: a probe chain after
#      conntrack (prerouting priority -150) sees only what the meter let through, all of it
#      untracked, so the conntrack table gains no entry for udp/5060; the company client,
#      the application server and a normal client get every answer. Then the same sources
#      with a new source port per packet ("ports": 20,000 flows): still no entry. Then the
#      host starts a SIP transaction from its port 5060: answered, and untracked both ways.
#   b. 20,000 IPv6 /64s, each far under the per-source rate, flood udp/5060 for 5 s: the
#      service cap (service_rate/service_burst) alone limits what reaches the port (counted
#      by a listener), and a company client and an application server lose nothing. This
#      policy sets antiflood.conntrack_udp: what passes is tracked again.
#   c. `ivozfw explain` of udp/5060: a banned flooder is dropped in prerouting (flood_sip),
#      exempt sources are accepted.
# Probe chains live in a table of their own (inet ivzt_probe) in the firewall namespace.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/sipp/env.sh"

command -v cc >/dev/null || fail "missing tool: cc (build-essential)"
cc -O2 -o "$T/udpflood" "$IVOZFW_SRC/tests/bench/udpflood.c" || fail "cc udpflood.c"

RATE=10 BURST=20 BAN=6 SECS=4 NSRC=500
CAP_RATE=200 CAP_BURST=200 SECS6=5 NSRC6=20000
FLOOD4="198.51.100.0/24, 203.0.113.0/24"   # udpflood's IPv4 sources: .2-.251 of both
FLOOD6=2001:db8:8000::/44                   # udpflood's IPv6 /64s

af_server
af_client fl flooder 198.51.100.250 2001:db8::250
af_client lg legit 192.0.2.20 192.0.2.77 192.0.2.30 2001:db8::30
D="$T/companies.d"
mkdir -p "$D"
echo '{"id": 1, "name": "Acme", "ranges": ["192.0.2.64/26"]}' >"$D/1.json"
COMMON=(-e "p['lists']['application_servers'] = ['192.0.2.30', '2001:db8::30']"
    -e "p['companies'] = {'source': '$D'}")
edit_policy "$T/a.json" "${COMMON[@]}" \
    -e "p['antiflood'].update({'rate': '$RATE/second', 'burst': $BURST, 'ban': '${BAN}s'})"
edit_policy "$T/b.json" "${COMMON[@]}" \
    -e "p['antiflood'].update({'rate': '100/second', 'burst': 200, 'ban': '${BAN}s',
        'service_rate': '$CAP_RATE/second', 'service_burst': $CAP_BURST, 'conntrack_udp': True})"
expect_exit 0 ivz "$fw" check -p "$T/a.json"
expect_contains "metered UDP ports: untracked" "$OUT" "check of the default policy"
expect_exit 0 ivz "$fw" check -p "$T/b.json"
expect_contains "metered UDP ports: tracked by conntrack" "$OUT" "check with antiflood.conntrack_udp"
expect_exit 0 ivz "$fw" apply -p "$T/a.json"

# Probe counters around ivozfw's prerouting chain (raw, -300) and conntrack (-200).
in_ns "$fw" nft -f - <<NFT || fail "probe table"
table inet ivzt_probe {
    counter arrived4 {}
    counter conntracked4 {}
    counter untracked4 {}
    counter arrived6 {}
    counter conntracked6 {}
    counter untracked6 {}
    counter icmp_err4 {}
    counter icmp_err6 {}
    chain before_raw {
        type filter hook prerouting priority -350; policy accept;
        ip saddr { $FLOOD4 } udp dport 5060 counter name arrived4
        ip6 saddr $FLOOD6 udp dport 5060 counter name arrived6
    }
    chain after_conntrack {
        type filter hook prerouting priority -150; policy accept;
        ip saddr { $FLOOD4 } udp dport 5060 counter name conntracked4
        ip6 saddr $FLOOD6 udp dport 5060 counter name conntracked6
        ip saddr { $FLOOD4 } udp dport 5060 ct state untracked counter name untracked4
        ip6 saddr $FLOOD6 udp dport 5060 ct state untracked counter name untracked6
    }
    chain after_input {
        type filter hook input priority 10; policy accept;
        icmp type destination-unreachable icmp code frag-needed ct state invalid counter name icmp_err4
        icmpv6 type packet-too-big ct state invalid counter name icmp_err6
    }
}
NFT

# num VAR VALUE WHAT : VALUE must be a number (a failed read must not pass an assertion).
num() {
    [[ $2 =~ ^[0-9]+$ ]] || fail "$3: not a number: '$2'"
    printf -v "$1" '%s' "$2"
}
ctr() { num "$1" "$(counter_packets "$fw" "$2")" "counter $2"; }
probe() {
    num "$1" "$(in_ns "$fw" nft -j list counter inet ivzt_probe "$2" | jq '.nftables[] | .counter? | select(.) | .packets')" \
        "probe counter $2"
}
# landed COUNTER : once packets still in flight have arrived (that probe counter stops moving).
landed() { settle in_ns "$fw" nft -j list counter inet ivzt_probe "$1" >/dev/null; }
# started COUNTER BEFORE : the flood reaches the firewall (the counter passed BEFORE).
flood_hits() { local n; probe n "$1"; [ "$n" -gt "$2" ]; }
started() { wait_until 10 flood_hits "$1" "$2" || fail "the flood never reached the firewall ($1)"; }
ct_count() { num "$1" "$(in_ns "$fw" cat /proc/sys/net/netfilter/nf_conntrack_count)" "nf_conntrack_count"; }
# ct_sip VAR : conntrack entries of UDP flows from or to port 5060 in the firewall namespace.
ct_sip() {
    in_ns "$fw" test -r /proc/net/nf_conntrack || fail "no /proc/net/nf_conntrack in the firewall namespace"
    num "$1" "$(in_ns "$fw" grep -c -E '^ipv[46] +[0-9]+ udp .*(sport|dport)=5060 ' /proc/net/nf_conntrack)" \
        "conntrack entries of udp/5060"
}
# flood DST PORT SECS SOURCES MODE OUT : udpflood from $fl in the background; $FLOOD_PID.
flood() {
    in_ns "$fl" "$T/udpflood" "${@:1:5}" >"$T/$6" 2>&1 &
    FLOOD_PID=$!
    bg_pid $FLOOD_PID
}
# sent_of OUT : the packet count udpflood printed.
sent_of() {
    local f=$1 s
    s=$(awk '/^sent / {print $2}' "$T/$f")
    num SENT "$s" "udpflood output ($(cat "$T/$f"))"
    [ "$SENT" -gt 0 ] || fail "udpflood sent nothing: $(cat "$T/$f")"
}
# Neighbours resolved before the flood, or its first second goes to address resolution.
warm_up() {
    in_ns "$fl" "$PY" "$LIB_DIR/probe.py" ping 198.51.100.1 --count 1 >/dev/null || fail "flooder cannot reach 198.51.100.1"
    in_ns "$fl" "$PY" "$LIB_DIR/probe.py" ping 2001:db8::1 --count 1 >/dev/null || fail "flooder cannot reach 2001:db8::1"
}
bans4() { in_ns "$fw" nft -j list set inet ivozfw ban_v4 | jq '[.nftables[] | .set? | select(.) | .elem // [] | length] | add'; }
no_bans4() { [ "$(bans4)" = 0 ]; }

sip_uas 198.51.100.1
sip_uas 2001:db8:0:1::1
n=$(sip_uac "$lg" 192.0.2.20 198.51.100.1 10 5)
[ "$n" = 5 ] || fail "normal client before any flood: $n/5 OPTIONS answered"
warm_up

# --- a. 500 IPv4 sources, one flow each -----------------------------------------------
ct_count ct0
ct_sip sip0
probe untracked0 untracked4
probe hits0 arrived4
flood 198.51.100.1 5060 $SECS $NSRC fixed flood_a
started arrived4 "$hits0"
sip_uac "$lg" 192.0.2.77 198.51.100.1 20 60 >"$T/company.n" &
p1=$!
sip_uac "$lg" 192.0.2.30 198.51.100.1 20 60 >"$T/appsrv.n" &
p2=$!
sip_uac "$lg" 192.0.2.20 198.51.100.1 5 15 >"$T/normal.n" &
p3=$!
wait $FLOOD_PID $p1 $p2 $p3
sent_of flood_a
landed arrived4
ct_count ct1
ct_sip sip1
probe arrived arrived4
probe conntracked conntracked4
probe untracked untracked4
untracked=$((untracked - untracked0))
ctr flood_drops drop_flood
ctr banned_drops drop_banned
ctr cap_drops drop_service_cap
company=$(cat "$T/company.n") appsrv=$(cat "$T/appsrv.n") normal=$(cat "$T/normal.n")
# Per source at most the burst (and a second of rate) passes before the ban.
MAXPASS=$((NSRC * (BURST + RATE)))
log "a. fixed ports: sent $SENT, arrived $arrived, passed the meter $conntracked (at most $MAXPASS), untracked $untracked;" \
    "conntrack entries $ct0 -> $ct1, of udp/5060 $sip0 -> $sip1; drop_flood $flood_drops, drop_banned $banned_drops, drop_service_cap $cap_drops;" \
    "company $company/60, application server $appsrv/60, normal client $normal/15"
[ "$arrived" -ge $((4 * MAXPASS)) ] ||
    fail "only $arrived flood packets reached the firewall ($SENT sent): too few to tell dropping before conntrack from after"
[ "$conntracked" -ge "$NSRC" ] || fail "only $conntracked flood packets passed the meter: the probe counts nothing?"
[ "$conntracked" -le "$MAXPASS" ] ||
    fail "$conntracked of $arrived flood packets went through conntrack (the meter's drops must come before it; at most $MAXPASS)"
[ "$flood_drops" -gt 0 ] || fail "drop_flood is $flood_drops after the flood"
[ "$untracked" = "$conntracked" ] ||
    fail "$conntracked flood packets passed the meter but $untracked of them were untracked (antiflood.conntrack_udp is false)"
[ "$sip1" = 0 ] || fail "conntrack holds $sip1 entries of udp/5060 after the flood (untracked: none)"
[ "$company" = 60 ] || fail "company client during the flood: $company/60 answered"
[ "$appsrv" = 60 ] || fail "application server during the flood: $appsrv/60 answered"
[ "$normal" = 15 ] || fail "normal client during the flood: $normal/15 answered"

# --- c. explain, while the flooders are banned ------------------------------------------
in_ns "$fw" nft get element inet ivozfw ban_v4 '{ 198.51.100.2 }' >/dev/null 2>&1 ||
    fail "flood source 198.51.100.2 is not banned after the flood"
expect_exit 5 ivz "$fw" explain -p "$T/a.json" 198.51.100.2 udp/5060
expect_match 'prerouting|flood_sip' "$OUT" "explain of a banned flooder"
expect_contains DROPPED "$OUT" "explain of a banned flooder"
log "c. explain 198.51.100.2 udp/5060 (banned):"$'\n'"$OUT"
expect_exit 5 ivz "$fw" explain -p "$T/a.json" --json 198.51.100.2 udp/5060
[ "$(jq -r .reason <<<"$OUT")" = banned ] || fail "explain --json of a banned flooder: reason $(jq -r .reason <<<"$OUT"): $OUT"
jq -r '.steps[].text, .summary' <<<"$OUT" | grep -Eq 'prerouting|flood_sip' ||
    fail "explain --json of a banned flooder: no prerouting step: $OUT"
for src in 192.0.2.30 2001:db8::30 192.0.2.77; do
    expect_exit 0 ivz "$fw" explain -p "$T/a.json" --json "$src" udp/5060
    [ "$(jq -r .verdict <<<"$OUT")" = accept ] || fail "explain of exempt $src udp/5060: $OUT"
done
log "c. explain 192.0.2.77 udp/5060 (company): $(jq -r .summary <<<"$OUT")"
# An exempt source that is also banned (a hand ban, or one from the fleet) still gets in:
# the exemptions come before the ban rule, before conntrack and in input alike.
expect_exit 0 ivz "$fw" ban -p "$T/a.json" 192.0.2.77
expect_exit 0 ivz "$fw" ban -p "$T/a.json" 192.0.2.30
n=$(sip_uac "$lg" 192.0.2.77 198.51.100.1 20 20)
[ "$n" = 20 ] || fail "banned company client 192.0.2.77: $n/20 answered"
n=$(sip_uac "$lg" 192.0.2.30 198.51.100.1 20 20)
[ "$n" = 20 ] || fail "banned application server 192.0.2.30: $n/20 answered"
expect_exit 0 ivz "$fw" explain -p "$T/a.json" --json 192.0.2.77 udp/5060
jq -e '[.steps[] | select(.chain == "flood_sip" and .rule == "sip/company-v4" and .matched)] | length == 1' \
    <<<"$OUT" >/dev/null ||
    fail "explain of the banned company client: not accepted by flood_sip's company rule: $OUT"
expect_exit 0 ivz "$fw" unban -p "$T/a.json" 192.0.2.77
expect_exit 0 ivz "$fw" unban -p "$T/a.json" 192.0.2.30
# A normal client banned by hand gets nothing (the same path, not exempt).
expect_exit 0 ivz "$fw" ban -p "$T/a.json" 192.0.2.20
n=$(sip_uac "$lg" 192.0.2.20 198.51.100.1 20 10)
[ "$n" = 0 ] || fail "banned normal client 192.0.2.20: $n/10 answered"
expect_exit 0 ivz "$fw" unban -p "$T/a.json" 192.0.2.20

# --- a. the same sources, a new source port per packet (logged) -------------------------
wait_until $((BAN + 5)) no_bans4 || fail "flood sources still banned $((BAN + 5)) s after the flood: $(bans4)"
sleep 1   # the meters refill (burst / rate = 2 s after the last packet)
probe arrived0 arrived4
probe conntracked0 conntracked4
ct_count ct2
flood 198.51.100.1 5060 3 $NSRC ports flood_p
wait $FLOOD_PID
sent_of flood_p
landed arrived4
ct_count ct3
ct_sip sip3
probe arrived arrived4
probe conntracked conntracked4
log "a. new port per packet: sent $SENT, arrived $((arrived - arrived0)), passed the meter" \
    "$((conntracked - conntracked0)); conntrack entries $ct2 -> $ct3 (+$((ct3 - ct2))), of udp/5060 $sip3"
[ $((conntracked - conntracked0)) -le "$MAXPASS" ] ||
    fail "new port per packet: $((conntracked - conntracked0)) flood packets passed the meter (at most $MAXPASS)"
[ $((conntracked - conntracked0)) -ge "$NSRC" ] ||
    fail "new port per packet: only $((conntracked - conntracked0)) flood packets passed the meter (the count below measures nothing)"
[ "$sip3" = 0 ] || fail "new port per packet: conntrack holds $sip3 entries of udp/5060 (untracked: none)"

# --- a. the host starts a SIP transaction from its port 5060 ----------------------------
# Its request leaves untracked (chain output) and the answer comes back untracked: the
# answer is accepted by the service's rules, not as an established flow.
sip_uas 192.0.2.20 5060 "$lg"
n=$(sip_uac "$fw" 203.0.113.1 192.0.2.20 20 10 5060 5060)
ct_sip sip4
log "a. from the host's port 5060: $n/10 answered, conntrack entries of udp/5060 $sip4"
[ "$n" = 10 ] || fail "the host's own OPTIONS from port 5060: $n/10 answered"
[ "$sip4" = 0 ] || fail "the host's own SIP transaction left $sip4 conntrack entries of udp/5060 (untracked: none)"

# --- a. path MTU errors about the host's untracked SIP datagrams get in -----------------
# An error about a datagram conntrack never saw has no conntrack state (nft: invalid); path
# MTU discovery needs it: IPv4 fragmentation needed and ICMPv6 packet too big, each quoting
# a datagram from the SIP server's socket (sipp on port 5060) to a client. The probe after
# ivozfw's input chain counts them only in that invalid state, and the kernel must have
# lowered the path MTU to the client.
ctr inv0 drop_invalid
probe err4_0 icmp_err4
probe err6_0 icmp_err6
in_ns "$lg" "$PY" - <<'PYEOF' || fail "sending the ICMP errors"
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
udp = struct.pack("!HHHH", 5060, 5099, 16, 0) + b"OPTIONS "
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("198.51.100.1"), socket.inet_aton("192.0.2.20"))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
body = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + ip + udp        # frag needed, MTU 1400
body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind(("192.0.2.20", 0))
s.sendto(body, ("198.51.100.1", 0))
ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, socket.inet_pton(socket.AF_INET6, "2001:db8:0:1::1"),
                  socket.inet_pton(socket.AF_INET6, "2001:db8::30"))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)   # the kernel sums ICMPv6
s6.bind(("2001:db8::30", 0))
s6.sendto(struct.pack("!BBHI", 2, 0, 0, 1280) + ip6 + udp, ("2001:db8:0:1::1", 0))   # packet too big
PYEOF
wait_until 5 flood_hits icmp_err4 "$err4_0" || true   # checked below, with the reason
wait_until 5 flood_hits icmp_err6 "$err6_0" || true
probe err4 icmp_err4
probe err6 icmp_err6
err4=$((err4 - err4_0)) err6=$((err6 - err6_0))
ctr inv1 drop_invalid
log "a. ICMP errors about untracked SIP datagrams: fragmentation needed $err4/1, packet too big $err6/1 accepted;" \
    "drop_invalid $inv0 -> $inv1"
[ "$err4" = 1 ] || fail "an ICMP fragmentation-needed (ct state invalid) about the host's SIP datagram was not accepted ($err4/1)"
[ "$err6" = 1 ] || fail "an ICMPv6 packet-too-big (ct state invalid) about the host's SIP datagram was not accepted ($err6/1)"
[ "$inv1" = "$inv0" ] || fail "drop_invalid counted the ICMP errors ($inv0 -> $inv1)"
route4=$(in_ns "$fw" ip route get 192.0.2.20 from 198.51.100.1)
route6=$(in_ns "$fw" ip -6 route get 2001:db8::30 from 2001:db8:0:1::1)
log "a. after them: $(echo $route4) / $(echo $route6)"
expect_contains "mtu 1400" "$route4" "path MTU to 192.0.2.20 after fragmentation needed"
expect_contains "mtu 1280" "$route6" "path MTU to 2001:db8::30 after packet too big"

# --- b. 20,000 IPv6 /64s under the per-source rate: the service cap -------------------------
expect_exit 0 ivz "$fw" apply -p "$T/b.json"
C="$T/count6"
in_ns "$fw" "$PY" "$LIB_DIR/probe.py" count 2001:db8::1 5060 --out "$C" --ready "$C.ready" --lifetime 40 &
bg_pid $!
wait_until 10 test -e "$C.ready" || fail "counting listener did not start"
ctr cap0 drop_service_cap
ctr flood0 drop_flood
ctr banned0 drop_banned
probe arrived0 arrived6
probe conntracked0 conntracked6
probe untracked0 untracked6
ct_sip sip5
warm_up
flood 2001:db8::1 5060 $SECS6 $NSRC6 ports flood_b
started arrived6 "$arrived0"
sip_uac "$lg" 192.0.2.77 198.51.100.1 50 200 >"$T/company.n" &
p1=$!
sip_uac "$lg" 2001:db8::30 2001:db8:0:1::1 50 200 >"$T/appsrv.n" &
p2=$!
wait $FLOOD_PID $p1 $p2
sent_of flood_b
landed arrived6
settle cat "$C" >/dev/null   # the listener rewrites its count every 0.2 s while it changes
read -r _ received _ sources <"$C" || fail "counting listener wrote nothing"
num received "$received" "datagrams counted"
ctr cap1 drop_service_cap
ctr flood1 drop_flood
ctr banned1 drop_banned
probe arrived arrived6
probe conntracked conntracked6
probe untracked untracked6
ct_sip sip6
arrived=$((arrived - arrived0)) conntracked=$((conntracked - conntracked0)) capped=$((cap1 - cap0))
untracked=$((untracked - untracked0))
company=$(cat "$T/company.n") appsrv=$(cat "$T/appsrv.n")
MAXRECV=$((CAP_RATE * SECS6 + CAP_BURST + 100))
log "b. $NSRC6 IPv6 /64s: sent $SENT, arrived $arrived, drop_service_cap +$capped, reached conntrack" \
    "$conntracked, received $received from $sources sources (cap $CAP_RATE/s x $SECS6 s + $CAP_BURST: at most $MAXRECV);" \
    "conntrack_udp: untracked $untracked, entries of udp/5060 $sip5 -> $sip6;" \
    "drop_flood +$((flood1 - flood0)), drop_banned +$((banned1 - banned0)); company $company/200, application server $appsrv/200"
[ "$arrived" -ge $((10 * MAXRECV)) ] || fail "only $arrived flood packets reached the firewall ($SENT sent): too few to test the cap"
[ "$((flood1 - flood0))" = 0 ] || fail "the per-source meter dropped $((flood1 - flood0)) packets: the flood was meant to stay under it"
[ "$((banned1 - banned0))" = 0 ] || fail "drop_banned grew by $((banned1 - banned0)) during the IPv6 flood"
[ "$capped" -gt 0 ] || fail "drop_service_cap did not grow ($cap0 -> $cap1)"
[ "$capped" -ge $((arrived - conntracked - 10)) ] ||
    fail "of $arrived flood packets $((arrived - conntracked)) were dropped before conntrack but drop_service_cap counted $capped"
[ "$received" -le "$MAXRECV" ] || fail "the SIP port received $received flood datagrams in $SECS6 s: over the cap (at most $MAXRECV)"
[ "$conntracked" -le "$MAXRECV" ] || fail "$conntracked flood packets passed the cap into conntrack (at most $MAXRECV)"
[ "$received" -ge $((CAP_RATE * SECS6 / 2)) ] ||
    fail "the SIP port received only $received flood datagrams: the cap lets $CAP_RATE/s through (is the listener counting?)"
[ "$untracked" = 0 ] || fail "antiflood.conntrack_udp is true but $untracked flood packets were untracked"
[ $((sip6 - sip5)) -ge $((received / 2)) ] ||
    fail "antiflood.conntrack_udp is true: $received flood datagrams received but conntrack gained $((sip6 - sip5)) udp/5060 entries"
[ "$company" = 200 ] || fail "company client during the IPv6 flood: $company/200 answered"
[ "$appsrv" = 200 ] || fail "application server during the IPv6 flood: $appsrv/200 answered"
pass
