#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Anti-flooding for SIP over TCP: more new connections per second than
# antiflood.tcp_new_connections, and more concurrent connections than
# max_connections_per_source, are refused for that source; other sources still connect.
# And the service's cap: more new connections of all sources together than
# antiflood.service_new_connections are dropped, except from exempt sources.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/sipp/env.sh"

TOOL="$SIPP_DIR/af_tool.py"
af_server
af_client a srcA 198.51.100.7 198.51.100.9 198.51.100.11 2001:db8:0:1::a
af_client b srcB 198.51.100.8 198.51.100.10 2001:db8::8
edit_policy "$T/p.json" \
    -e "p['antiflood'].update({'tcp_new_connections': '5/second', 'max_connections_per_source': 6})"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"
in_ns "$fw" "$PY" "$TOOL" hold-server 5060 --ready "$T/ready" --lifetime 80 &
bg_pid $!
wait_until 10 test -e "$T/ready" || fail "listener did not start"

# 1. Rate: 20 connection attempts at once (each closed again): about the burst (5) gets in.
n=$(in_ns "$a" "$PY" "$TOOL" burst 198.51.100.1 5060 20 --src 198.51.100.7 --wait 0.8)
log "20 simultaneous connects from one source: $n connected"
[ "$n" -ge 4 ] && [ "$n" -le 7 ] || fail "new-connection rate: $n of 20 connected, expected about 5"
m=$(in_ns "$b" "$PY" "$TOOL" burst 198.51.100.1 5060 4 --src 198.51.100.8 --wait 0.8)
[ "$m" = 4 ] || fail "another source during the burst: $m/4 connected"
[ "$(counter_packets "$fw" drop_conn_limit)" -ge 10 ] || fail "drop_conn_limit: $(counter_packets "$fw" drop_conn_limit)"

# 2. Concurrency: connections kept open, 3 per second (under the rate): 6 get in, no more.
# (Fresh addresses: the server still holds the connections of step 1.)
n=$(in_ns "$a" "$PY" "$TOOL" hold 198.51.100.1 5060 9 --src 198.51.100.9 --interval 0.34 --timeout 0.6)
log "9 held connections from one source, one every 0.34 s: $n connected"
[ "$n" = 6 ] || fail "max_connections_per_source 6: $n of 9 held connections connected"
m=$(in_ns "$b" "$PY" "$TOOL" hold 198.51.100.1 5060 3 --src 198.51.100.10 --interval 0.34)
[ "$m" = 3 ] || fail "another source while the first is at its limit: $m/3"

# 3. IPv6: the limits apply per /64.
n=$(in_ns "$a" "$PY" "$TOOL" burst 2001:db8::1 5060 20 --src 2001:db8:0:1::a --wait 0.8)
log "IPv6: 20 simultaneous connects from one /64: $n connected"
[ "$n" -ge 4 ] && [ "$n" -le 7 ] || fail "IPv6 new-connection rate: $n of 20 connected"
m=$(in_ns "$b" "$PY" "$TOOL" burst 2001:db8::1 5060 4 --src 2001:db8::8 --wait 0.8)
[ "$m" = 4 ] || fail "IPv6 source in another /64: $m/4 connected"

# 4. The service's cap, all sources together: 50/s per source but 8/s for the service. A
# fresh source (a meter keeps the rate it was created with) sends 20 at once: about 8 get in.
# A trusted source is exempt from every limit, the cap included.
edit_policy "$T/p2.json" --from "$T/p.json" \
    -e "p['antiflood'].update({'tcp_new_connections': '50/second', 'max_connections_per_source': 64, 'service_new_connections': '8/second'})" \
    -e "p['lists']['antiflood_trusted'] = ['198.51.100.10']"
expect_exit 0 ivz "$fw" apply -p "$T/p2.json"
capped0=$(counter_packets "$fw" drop_conn_cap)
n=$(in_ns "$a" "$PY" "$TOOL" burst 198.51.100.1 5060 20 --src 198.51.100.11 --wait 0.8)
log "20 simultaneous connects, service cap 8/s: $n connected"
[ "$n" -ge 6 ] && [ "$n" -le 10 ] || fail "service cap 8/s: $n of 20 connected, expected about 8"
capped=$(( $(counter_packets "$fw" drop_conn_cap) - capped0 ))
[ "$capped" -ge 10 ] || fail "drop_conn_cap counted $capped"
m=$(in_ns "$b" "$PY" "$TOOL" burst 198.51.100.1 5060 12 --src 198.51.100.10 --wait 0.8)
[ "$m" = 12 ] || fail "a trusted source under the service's cap: $m/12 connected"
pass
