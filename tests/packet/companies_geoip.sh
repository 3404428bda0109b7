#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real packets: a company range inside a GeoIP-denied country reaches SIP (and is not
# rate-limited by anti-flood) while its neighbours outside the range are dropped; once a
# sync removes the range, the same source is treated like anyone else. Strict mode: SIP
# only from company ranges. Mixed conntrack: GeoIP on the trunks only keeps 7060 tracked
# and leaves 5060 untracked, each checked with packets and the conntrack table.
. "$(dirname "$0")/../lib/lib.sh"

new_ns fw fw
new_ns cl client
# 203.0.113.5: CN, inside company 1's 203.0.113.0/28; 203.0.113.50: CN, no company;
# 198.51.100.5: ES (allowed), the anti-flood control.
link_pair "$fw" "$cl" 203.0.113.5/24 203.0.113.50/24 198.51.100.5/24

perl "$LIB_DIR/mkmmdb.pl" "$T/geo.mmdb" 203.0.113.0/24=CN 198.51.100.0/24=ES || fail "mkmmdb"
D="$T/companies.d"
mkdir -p "$D"
echo '{"id": 1, "name": "Acme", "ranges": ["203.0.113.0/28"]}' >"$D/1.json"
echo '{"id": 2, "name": "Beta", "ranges": ["100.64.0.0/24"]}' >"$D/2.json"
edit_policy "$T/p.json" -e "p['geoip'] = {'database': '$T/geo.mmdb', 'mode': 'deny', 'countries': ['CN']}" \
    -e "p['companies'] = {'source': '$D'}"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"

listen_in "$fw" "$T/rx.log" 120 --udp 5060 --tcp 5060   # the whole test: ~15 s

probe() {  # probe 0|1 (reaches / dropped) PROTO SRC
    in_ns "$cl" "$PY" "$LIB_DIR/probe.py" "$2" 192.0.2.1 5060 --src "$3" --timeout 1 >/dev/null
    local rc=$?
    [ "$1" = 0 ] && [ "$rc" != 0 ] && fail "$2 from $3 to 192.0.2.1:5060 should arrive ($4)"
    [ "$1" = 1 ] && [ "$rc" = 0 ] && fail "$2 from $3 to 192.0.2.1:5060 should be dropped ($4)"
    return 0
}
# blast SRC N : N SIP-port datagrams from one socket, as fast as possible
blast() {
    in_ns "$cl" "$PY" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$1', 0))
for i in range($2): s.sendto(b'OPTIONS', ('192.0.2.1', 5060))
"
}

for proto in udp tcp; do
    probe 0 $proto 203.0.113.5 "company range passes GeoIP"
    probe 1 $proto 203.0.113.50 "same country, no company"
done
# geoip lookup states what the packets just showed: a CN company member is not dropped by
# GeoIP (it once said so, from logic of its own), a CN stranger is.
expect_exit 0 ivz "$fw" geoip lookup -p "$T/p.json" 203.0.113.5
expect_contains "country CN" "$OUT"
expect_not_contains "GeoIP drop set" "$OUT"
expect_contains "Acme" "$OUT"
expect_exit 0 ivz "$fw" geoip lookup -p "$T/p.json" 203.0.113.50
expect_contains "in the GeoIP drop set" "$OUT"
geo_before=$(counter_packets "$fw" drop_geoip)
[ "$geo_before" -ge 2 ] || fail "drop_geoip counted $geo_before packets"

if in_ns "$fw" nft list chain inet ivozfw svc_sip | grep -q drop_flood; then
    blast 203.0.113.5 600
    probe 0 udp 203.0.113.5 "company source after 600 datagrams: exempt from anti-flood"
    blast 198.51.100.5 600
    probe 1 udp 198.51.100.5 "non-company source after 600 datagrams: banned by anti-flood"
    log "anti-flood: drop_flood $(counter_packets "$fw" drop_flood), drop_banned $(counter_packets "$fw" drop_banned)"
fi

# the company loses its range: the next sync makes 203.0.113.5 an ordinary CN source
echo '{"id": 1, "name": "Acme", "ranges": []}' >"$D/1.json"
expect_exit 0 ivz "$fw" companies sync -p "$T/p.json"
expect_contains "+0 -1 elements" "$OUT" "sync removing the range"
for proto in udp tcp; do
    probe 1 $proto 203.0.113.5 "range removed by sync"
done
geo_after=$(counter_packets "$fw" drop_geoip)
[ "$geo_after" -gt "$geo_before" ] || fail "drop_geoip did not count 203.0.113.5 after the sync"
log "drop_geoip: $geo_before before the sync, $geo_after after"

# strict: SIP only from company ranges (and the exempt lists); an allowed country is not enough
in_ns "$cl" ip addr add 198.51.100.6/24 dev vcl
probe 0 udp 198.51.100.6 "ES source, not strict yet"
edit_policy "$T/strict.json" --from "$T/p.json" -e "p['companies']['strict'] = True"
echo '{"id": 1, "name": "Acme", "ranges": ["203.0.113.0/28"]}' >"$D/1.json"
expect_exit 0 ivz "$fw" apply -p "$T/strict.json"
for proto in udp tcp; do
    probe 1 $proto 198.51.100.6 "strict: not a company"
    probe 0 $proto 203.0.113.5 "strict: company range"
done
[ "$(counter_packets "$fw" drop_not_company)" -ge 2 ] || fail "drop_not_company did not count"

# strict and the host's own requests: an answer from a peer no list names (an outbound
# carrier) to the trunks proxy's port passes as established, since GeoIP and strict keep
# the metered UDP ports tracked; with antiflood.conntrack_udp false it is judged as new
# traffic and the strict drop takes it before conntrack.
listen_in "$cl" "$T/peer.log" 30 --udp 5060
in_ns "$cl" ip route replace 192.0.2.0/24 dev vcl src 198.51.100.6   # the peer answers from there
outbound() { in_ns "$fw" "$PY" "$LIB_DIR/probe.py" udp 198.51.100.6 5060 --src 192.0.2.1 --sport 7060 --timeout 1 >/dev/null; }
outbound || fail "strict: the answer to the host's own datagram from port 7060 was dropped (tracked: established)"
edit_policy "$T/untracked.json" --from "$T/strict.json" -e "p['antiflood']['conntrack_udp'] = False"
expect_exit 0 ivz "$fw" apply -p "$T/untracked.json"
outbound && fail "strict with conntrack_udp false: the answer from a non-company peer was accepted"
grep -q "^udp 5060 192.0.2.1 " "$T/peer.log" || fail "the peer never saw the host's datagrams: $(cat "$T/peer.log")"
log "strict: an answer to the host's own request from port 7060 passes tracked, is dropped untracked"

# Mixed: GeoIP on the trunks only. sip (5060) is untracked and judged by port and source,
# sip-trunks (7060) stays tracked, so a CN peer's answer to the trunks proxy passes as
# established while new CN traffic to 7060 is dropped; a CN source reaches 5060 and leaves
# no conntrack entry there, the trunks flow leaves one.
edit_policy "$T/mixed.json" --from "$T/p.json" -e "p['geoip']['services'] = ['sip-trunks']"
expect_exit 0 ivz "$fw" check -p "$T/mixed.json"
expect_match "untracked both ways.*sip \(udp 5060\)" "$OUT" "check, GeoIP on the trunks only"
expect_contains "sip-trunks" "$OUT" "check, GeoIP on the trunks only"
expect_exit 0 ivz "$fw" apply -p "$T/mixed.json"
listen_in "$cl" "$T/cnpeer.log" 30 --udp 5062   # not 5060: the strict part's peer may still listen
in_ns "$cl" ip route replace 192.0.2.0/24 dev vcl src 203.0.113.50   # the peer answers as CN
in_ns "$fw" "$PY" "$LIB_DIR/probe.py" udp 203.0.113.50 5062 --src 192.0.2.1 --sport 7060 --timeout 1 >/dev/null ||
    fail "mixed: the CN peer's answer to the host's datagram from 7060 was dropped (tracked: established)"
listen_in "$fw" "$T/mixed.log" 30 --udp 7060    # 5060: the listener from the start
to_fw() { in_ns "$cl" "$PY" "$LIB_DIR/probe.py" udp 192.0.2.1 "$1" --src "$2" --timeout 1 >/dev/null; }
to_fw 7060 198.51.100.5 || fail "mixed: an ES source to sip-trunks was dropped"
to_fw 7060 203.0.113.50 && fail "mixed: a CN source's new datagram to sip-trunks (GeoIP) was accepted"
to_fw 5060 203.0.113.50 || fail "mixed: a CN source to sip (no GeoIP there) was dropped"
grep -q "^udp 5062 192.0.2.1 " "$T/cnpeer.log" || fail "the CN peer never saw the host's datagram: $(cat "$T/cnpeer.log")"
# ct_of ERE : conntrack entries of the firewall namespace whose original direction matches
ct_of() { in_ns "$fw" grep -c -E "^ipv4 +[0-9]+ udp +17 +[0-9]+ $1 " /proc/net/nf_conntrack; }
in_ns "$fw" test -r /proc/net/nf_conntrack || fail "no /proc/net/nf_conntrack in the firewall namespace"
[ "$(ct_of 'src=203\.0\.113\.50 dst=192\.0\.2\.1 sport=[0-9]+ dport=5060')" = 0 ] ||
    fail "mixed: a conntrack entry for CN -> udp/5060 (untracked): $(in_ns "$fw" cat /proc/net/nf_conntrack)"
[ "$(ct_of 'src=192\.0\.2\.1 dst=203\.0\.113\.50 sport=7060 dport=5062')" = 1 ] ||
    fail "mixed: no conntrack entry for the trunks flow (tracked): $(in_ns "$fw" cat /proc/net/nf_conntrack)"
log "mixed: CN to 5060 accepted untracked, to 7060 dropped, CN answer to 7060 accepted as established"
pass
