#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Media backstop: with call_limit.max_media_flows_per_source N, a source opening more than
# N concurrent UDP flows into the RTP range gets only N through; another source is not
# affected; 0 turns it off. Established media still takes the one-rule fast path.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/sipp/env.sh"

TOOL="$SIPP_DIR/af_tool.py"
af_server
af_client a srcA 198.51.100.7 198.51.100.9 2001:db8:0:1::a
af_client b srcB 198.51.100.8
edit_policy "$T/p.json" -e "p['call_limit'] = {'max_media_flows_per_source': 3}"
expect_exit 0 ivz "$fw" apply -p "$T/p.json"
expect_contains 'ct count over 3' "$(in_ns "$fw" nft list chain inet ivozfw svc_rtp)" "chain svc_rtp"
in_ns "$fw" "$PY" "$TOOL" udp-sink 13000 13019 --log "$T/flows.log" --ready "$T/ready" --lifetime 60 &
bg_pid $!
wait_until 10 test -e "$T/ready" || fail "sink did not start"
count_flows() { grep -c "^$1 " "$T/flows.log" || true; }
flows() { settle count_flows "$1"; }

in_ns "$a" "$PY" "$TOOL" udp-flows 198.51.100.1 13000 6 --src 198.51.100.7
n=$(flows 198.51.100.7)
log "6 flows from one source with a limit of 3: $n arrived"
[ "$n" = 3 ] || fail "media backstop: $n of 6 flows arrived, expected 3"
in_ns "$b" "$PY" "$TOOL" udp-flows 198.51.100.1 13000 3 --src 198.51.100.8
[ "$(flows 198.51.100.8)" = 3 ] || fail "another source: $(flows 198.51.100.8)/3 flows"
[ "$(counter_packets "$fw" drop_call_limit)" -ge 3 ] || fail "drop_call_limit: $(counter_packets "$fw" drop_call_limit)"
in_ns "$a" "$PY" "$TOOL" udp-flows 2001:db8::1 13010 5 --src 2001:db8:0:1::a
[ "$(flows 2001:db8:0:1::a)" = 3 ] || fail "IPv6 media backstop: $(flows 2001:db8:0:1::a)/5 flows, expected 3"

# 0 disables it: the rule and the sets go, a new source opens as many flows as it likes.
edit_policy "$T/off.json" --from "$T/p.json" -e "p['call_limit'] = {'max_media_flows_per_source': 0}"
expect_exit 0 ivz "$fw" apply -p "$T/off.json"
expect_not_contains 'media_v4' "$(in_ns "$fw" nft list table inet ivozfw)" "table with the media limit at 0"
in_ns "$a" "$PY" "$TOOL" udp-flows 198.51.100.1 13000 8 --src 198.51.100.9
[ "$(flows 198.51.100.9)" = 8 ] || fail "limit 0: $(flows 198.51.100.9)/8 flows arrived"
pass
