#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real traffic between two namespaces over veth: with the shipped policy (admin 192.0.2.10)
# applied in `fw`, a `client` reaches SIP (tcp+udp 5060) and RTP (udp 13000) over IPv4 and
# IPv6, does not reach MySQL, Kamailio's JSON-RPC (8000) or ssh; ssh works from 192.0.2.10;
# the drop counters count; ping works. Documentation addresses only.
. "$(dirname "$0")/../lib/lib.sh"

new_ns fw fw
new_ns client cl
ip -n "$fw" link add v0 type veth peer name v1 netns "$client" || fail "veth"
ip -n "$fw" addr add 192.0.2.1/24 dev v0 || fail "addr"
ip -n "$fw" addr add 2001:db8::1/64 dev v0 nodad || fail "addr6"
ip -n "$client" addr add 192.0.2.2/24 dev v1 || fail "addr"
ip -n "$client" addr add 2001:db8::2/64 dev v1 nodad || fail "addr6"
ip -n "$fw" link set v0 up || fail "up"
ip -n "$client" link set v1 up || fail "up"

P=$T/policy.json
edit_policy "$P" -e 'p["lists"]["admin"] = ["192.0.2.10"]'

# Listeners in fw, on every port the test probes.
listen_in "$fw" "$T/listen.log" 90 --tcp 5060,22,3306,8000 --udp 5060,13000,8000

PROBE_NS=$client

# Control, without a firewall: everything gets through (so a timeout later means a drop).
reach ping 192.0.2.1
reach ping 2001:db8::1
for h in 192.0.2.1 2001:db8::1; do
    for port in 5060 22 3306 8000; do reach tcp "$h" "$port"; done
    for port in 5060 13000 8000; do reach udp "$h" "$port"; done
done

expect_exit 0 ivz "$fw" apply -p "$P"
in_ns "$fw" nft list chain inet ivozfw input | grep -c "policy drop" >/dev/null || fail "no policy drop"
exposed0=$(counter_packets "$fw" drop_not_exposed)
allowed0=$(counter_packets "$fw" drop_not_allowed)
[ "$allowed0" == 0 ] || fail "drop_not_allowed is $allowed0 before any ssh attempt"

for h in 192.0.2.1 2001:db8::1; do
    reach tcp "$h" 5060
    reach udp "$h" 5060 --payload "sip-$h"
    reach udp "$h" 13000 --payload "rtp-$h"
    blocked tcp "$h" 3306
    blocked tcp "$h" 8000
    blocked udp "$h" 8000 --payload "jsonrpc-$h"
done
exposed1=$(counter_packets "$fw" drop_not_exposed)
[ "$exposed1" -ge $((exposed0 + 6)) ] ||
    fail "drop_not_exposed went from $exposed0 to $exposed1 after 6 probes of closed ports"
log "drop_not_exposed: $exposed0 -> $exposed1"

# ssh from a client not in admin: dropped and counted as not allowed.
blocked tcp 192.0.2.1 22
blocked tcp 2001:db8::1 22
allowed1=$(counter_packets "$fw" drop_not_allowed)
[ "$allowed1" -ge 2 ] || fail "drop_not_allowed is $allowed1 after 2 refused ssh attempts"
log "drop_not_allowed: $allowed0 -> $allowed1"
exposed2=$(counter_packets "$fw" drop_not_exposed)

# The same client from the admin address: ssh connects.
ip -n "$client" addr add 192.0.2.10/24 dev v1 || fail "addr add 192.0.2.10"
reach tcp 192.0.2.1 22 --src 192.0.2.10
# ... and still not from its other address.
blocked tcp 192.0.2.1 22 --src 192.0.2.2
[ "$(counter_packets "$fw" drop_not_allowed)" -gt "$allowed1" ] || fail "drop_not_allowed did not count the last ssh attempt"

# What the listeners saw after the firewall went up (the log also has the control round).
grep -q "^tcp 22 192.0.2.10$" "$T/listen.log" || fail "listener saw no ssh connection from 192.0.2.10"
grep -q "^udp 5060 192.0.2.2 sip-192.0.2.1$" "$T/listen.log" || fail "no SIP datagram over IPv4 in the log"
grep -q "^udp 5060 2001:db8::2 sip-2001:db8::1$" "$T/listen.log" || fail "no SIP datagram over IPv6 in the log"
grep -q "^udp 13000 2001:db8::2 rtp-2001:db8::1$" "$T/listen.log" || fail "no RTP datagram over IPv6 in the log"
grep -q "jsonrpc-" "$T/listen.log" && fail "a datagram to udp 8000 reached the listener through the firewall"
[ "$(grep -c '^tcp 22 ' "$T/listen.log")" == 3 ] ||
    fail "expected 3 ssh connections (2 before the firewall, 1 from admin): $(grep '^tcp 22 ' "$T/listen.log")"

# Ping (echo is accepted at a rate).
reach ping 192.0.2.1
reach ping 2001:db8::1

# The port counters did not count accepted traffic.
[ "$(counter_packets "$fw" drop_not_exposed)" -le $((exposed2 + 4)) ] ||
    fail "drop_not_exposed grew while probing only open ports: $exposed2 -> $(counter_packets "$fw" drop_not_exposed)"

pass
