#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real packets: a source in a denied country's range cannot reach SIP, an allowed one can,
# an exempt one (admin list) can, IPv4 and IPv6; the drop_geoip counter moves.
. "$(dirname "$0")/../lib/lib.sh"

new_ns fw fw
new_ns cl client
# Clients: CN (denied) 203.0.113.5 / 2001:db8:c::5, ES (allowed) 198.51.100.5 / 2001:db8:e::5,
# and 203.0.113.9, in CN's range but in the admin list (exempt).
link_pair "$fw" "$cl" 203.0.113.5/24 203.0.113.9/24 198.51.100.5/24 2001:db8:c::5/64 2001:db8:e::5/64

perl "$LIB_DIR/mkmmdb.pl" "$T/geo.mmdb" 203.0.113.0/24=CN 2001:db8:c::/48=CN 198.51.100.0/24=ES 2001:db8:e::/48=ES ||
    fail "mkmmdb"
edit_policy "$T/p.json" -e "p['lists']['admin'] = ['203.0.113.9']" \
    -e "p['geoip'] = {'database': '$T/geo.mmdb', 'mode': 'deny', 'countries': ['CN']}"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"

listen_in "$fw" "$T/rx.log" 60 --udp 5060 --tcp 5060

probe() {  # expect(0 reach / 1 not) proto dst src
    in_ns "$cl" "$PY" "$LIB_DIR/probe.py" "$2" "$3" 5060 --src "$4" --timeout 1 >/dev/null
    local rc=$?
    [ "$1" = 0 ] && [ "$rc" != 0 ] && fail "$2 from $4 to $3:5060 should arrive"
    [ "$1" = 1 ] && [ "$rc" = 0 ] && fail "$2 from $4 to $3:5060 should be dropped"
    return 0
}
for proto in udp tcp; do
    probe 1 $proto 192.0.2.1 203.0.113.5
    probe 0 $proto 192.0.2.1 198.51.100.5
    probe 0 $proto 192.0.2.1 203.0.113.9
    probe 1 $proto 2001:db8::1 2001:db8:c::5
    probe 0 $proto 2001:db8::1 2001:db8:e::5
done
dropped=$(counter_packets "$fw" drop_geoip)
[ "$dropped" -ge 4 ] || fail "drop_geoip counted $dropped packets, expected at least 4"
grep -q "203.0.113.5" "$T/rx.log" && fail "a datagram from the denied country arrived"
grep -q "198.51.100.5" "$T/rx.log" || fail "nothing from the allowed country arrived"
log "drop_geoip: $dropped packets"
pass
