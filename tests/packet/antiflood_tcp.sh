#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Anti-flooding for SIP over TCP: more new connections per second than
# antiflood.tcp_new_connections, and more concurrent connections than
# max_connections_per_source, are refused for that source; other sources still connect.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/sipp/env.sh"

TOOL="$SIPP_DIR/af_tool.py"
af_server
af_client a srcA 198.51.100.7 198.51.100.9 2001:db8:0:1::a
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
pass
