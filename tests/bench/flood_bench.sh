#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Anti-flood benchmark (root; network namespaces, documentation addresses only):
#   bash tests/bench/flood_bench.sh build/ivozfw [SECONDS] [SOURCES] [ports|fixed]
# A UDP SIP flood from many sources (udpflood.c: raw socket + sendmmsg, compiled here with
# cc) at the SIP port of a sipp server, as fast as this machine sends between namespaces,
# while two legitimate sipp clients send OPTIONS at 20/s each: one never retransmits (so
# every loss counts), one retransmits as a SIP client over UDP must (RFC 3261 Timer E). Run four times: with no ruleset, with
# the flood dropped at netdev ingress (the floor), with one drop rule at prerouting (the
# least a firewall at ivozfw's hook does), and with ivozfw's anti-flood policy; the CPU per
# packet beyond the two floors is printed; then once more with antiflood.conntrack_udp (the
# metered port tracked, as before it was untracked). Reports the packets per second sent, the legitimate client's
# success rate, the CPU time the whole machine spent (/proc/stat: user, system, irq,
# softirq, over all CPUs) and the SIP server spent, and the conntrack entries left in the
# firewall's namespace (with no ruleset conntrack is not loaded there: 0). The flood's
# source port changes with every packet ("ports", the default) or stays one per source
# ("fixed": one flow per source). In the ivozfw cases the legit clients' datagrams are also
# counted at their link's ingress and past ivozfw's input chain, with the server namespace's
# UDP receive-buffer errors: where a lost request died. Then counts, with nftrace, the rules
# an established RTP packet goes through.
. "$(dirname "$0")/../lib/lib.sh"
. "$IVOZFW_SRC/tests/packet/sipp/env.sh"

SECS=${2:-10}
SOURCES=${3:-500}
MODE=${4:-ports}
cc -O2 -o "$T/udpflood" "$IVOZFW_SRC/tests/bench/udpflood.c" || fail "cc udpflood.c"

af_server
af_client fl flooder 198.51.100.250
af_client lg legit 192.0.2.20
lg_port=p$_AF_LINK   # the legit clients' link on the server's side
edit_policy "$T/p.json" -e "p['call_limit'] = {'max_media_flows_per_source': 200}"

# The legit clients' datagrams to the SIP server, counted at the ingress of their own link
# (before every hook; no flood packet goes that way), right after ivozfw's prerouting chain
# (raw, -300: meter, bans, cap) and after its input chain (base chains at -299 and 100 see
# what ivozfw let through): equal counts mean the firewall dropped none of them, and a loss
# is the SIP server's or the way back's. With the UDP receive-buffer errors of the server's
# namespace (its socket full, all sources).
legit_tables() {
    in_ns "$fw" nft -f - <<NFT || fail "legit counting tables"
table netdev ivzbench_legit {
    counter seen {}
    chain in { type filter hook ingress device $lg_port priority -500; udp dport 5060 counter name seen; }
}
table inet ivzbench_legit {
    counter prerouted {}
    counter passed {}
    chain pre { type filter hook prerouting priority -299; ip saddr 192.0.2.20 udp dport 5060 counter name prerouted; }
    chain in { type filter hook input priority 100; ip saddr 192.0.2.20 udp dport 5060 counter name passed; }
}
NFT
}
legit_counts() {
    local seen prerouted passed
    packets() { in_ns "$fw" nft -j list counter "$1" ivzbench_legit "$2" | jq '[.nftables[].counter? | select(.) | .packets][0]'; }
    seen=$(packets netdev seen) prerouted=$(packets inet prerouted) passed=$(packets inet passed)
    in_ns "$fw" nft delete table netdev ivzbench_legit
    in_ns "$fw" nft delete table inet ivzbench_legit
    echo "  legit datagrams to the server: $seen at their link, $prerouted past ivozfw's prerouting chain," \
        "$passed past its input chain;" \
        "server namespace UDP receive-buffer errors: $(($(rcvbuf_errors) - rcv0))"
}
rcvbuf_errors() { in_ns "$fw" awk '/^Udp:/ { if (!n) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; n = 1 } else print $c }' /proc/net/snmp; }

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
proc_jiffies() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

run_case() {  # label key
    local label=$1 uas c0 u0 c1 u1 sent legit ct
    in_ns "$fw" sipp -sf "$SIPP_DIR/options_uas.xml" -i 192.0.2.1 -p 5060 -nostdin >/dev/null 2>&1 &
    bg_pid $!
    sleep 0.5
    uas=
    for p in $(ip netns pids "$fw"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = sipp ] && uas=$p; done
    [ -n "$uas" ] || fail "the SIP server did not start"
    c0=$(busy_jiffies)
    u0=$(proc_jiffies $uas)
    sip_uac "$lg" 192.0.2.20 192.0.2.1 20 $((SECS * 20)) >"$T/legit.n" &
    local lpid=$!
    SIP_UAC_XML=options_uac_retrans.xml SIP_UAC_RETRANS="$T/retrans.count" sip_uac "$lg" 192.0.2.20 192.0.2.1 20 $((SECS * 20)) >"$T/retrans.n" &
    local rpid=$!
    sent=$(in_ns "$fl" "$T/udpflood" 192.0.2.1 5060 "$SECS" "$SOURCES" "$MODE")
    wait $lpid $rpid
    c1=$(busy_jiffies)
    u1=$(proc_jiffies $uas)
    kill $uas 2>/dev/null
    sleep 0.3
    legit=$(cat "$T/legit.n") retrans="$(cat "$T/retrans.n")/$((SECS * 20)) ($(cat "$T/retrans.count") retransmitted)"
    ct=$(in_ns "$fw" cat /proc/sys/net/netfilter/nf_conntrack_count)
    local pkts us   # udpflood prints "sent N pps R"
    pkts=$(echo "$sent" | awk '{print $2}')
    us=$(echo "($c1 - $c0) / $hz * 1000000 / $pkts" | bc -l)
    printf '%-22s %-28s legit %4s/%-4s (%3d%%), retransmitting %-23s  CPU all %6.2f s  SIP server %6.2f s  conntrack %6s  CPU/packet %5.2f us\n' \
        "$label" "$sent" "$legit" $((SECS * 20)) $((legit * 100 / (SECS * 20))) "$retrans" \
        "$(echo "($c1 - $c0) / $hz" | bc -l)" "$(echo "($u1 - $u0) / $hz" | bc -l)" "$ct" "$us"
    echo "$us" > "$T/us.$2"
}

echo "flood: $SECS s from $SOURCES sources ($MODE) to 192.0.2.1:5060 (udp); legit client 20 OPTIONS/s"
run_case "no ruleset" none
# The floor of a drop: the flooder's port dropped at netdev ingress, before IP, conntrack
# and every hook, by a table of its own. The machine is saturated in every case (the sender
# shares its 2 cores), so "CPU/packet" is CPU all / packets sent, sender included; the
# difference to this case is what the firewall adds per dropped packet.
in_ns "$fw" nft -f - <<'NFT' || fail "ingress drop table"
table netdev ivzbench_floor {
    chain in { type filter hook ingress device p1 priority -500; udp dport 5060 drop; }
}
NFT
run_case "drop at ingress" floor
in_ns "$fw" nft delete table netdev ivzbench_floor
# The least a firewall at ivozfw's hook can do: one rule at prerouting, raw priority.
in_ns "$fw" nft -f - <<'NFT' || fail "prerouting drop table"
table inet ivzbench_pre {
    chain pre { type filter hook prerouting priority -300; ip saddr != 192.0.2.20 udp dport 5060 drop; }
}
NFT
run_case "one prerouting rule" pre
in_ns "$fw" nft delete table inet ivzbench_pre
expect_exit 0 ivz "$fw" apply -p "$T/p.json"
legit_tables
rcv0=$(rcvbuf_errors)
run_case "ivozfw anti-flood" ivozfw
legit_counts
beyond() { echo "$(cat "$T/us.$1") - $(cat "$T/us.$2")" | bc -l | xargs printf '%.2f'; }
echo "  CPU per dropped packet beyond the ingress drop: $(beyond ivozfw floor) us; beyond one prerouting rule: $(beyond ivozfw pre) us"
echo "  drop_flood $(counter_packets "$fw" drop_flood), drop_banned $(counter_packets "$fw" drop_banned)," \
     "drop_service_cap $(counter_packets "$fw" drop_service_cap)," \
     "banned sources $(ivz "$fw" bans --json -p "$T/p.json" | jq .count)"
# The same policy with conntrack on the metered UDP port (as before it was untracked), in a
# fresh table (no bans left from the run above).
edit_policy "$T/tracked.json" -e "p['call_limit'] = {'max_media_flows_per_source': 200}" \
    -e "p['antiflood']['conntrack_udp'] = True"
expect_exit 0 ivz "$fw" remove
expect_exit 0 ivz "$fw" apply -p "$T/tracked.json"
legit_tables
rcv0=$(rcvbuf_errors)
run_case "ivozfw, conntrack_udp" tracked
legit_counts
echo "  with conntrack_udp: $(beyond tracked floor) us beyond the ingress drop"
expect_exit 0 ivz "$fw" remove
expect_exit 0 ivz "$fw" apply -p "$T/p.json"

# Rules an established RTP packet traverses: nftrace from a separate table (in $fw only).
in_ns "$fw" nft -f - <<'NFT' || fail "trace table"
table inet ivzbench_trace {
    chain pre { type filter hook prerouting priority -350; udp dport 13000 meta nftrace set 1; }
}
NFT
in_ns "$fw" "$PY" "$LIB_DIR/probe.py" listen --udp 13000 --log "$T/rtp.log" --ready "$T/rtp.ready" --lifetime 20 &
bg_pid $!
wait_until 10 test -e "$T/rtp.ready" || fail "RTP listener"
in_ns "$fw" timeout 6 nft monitor trace >"$T/trace.txt" 2>&1 &
mon=$!
sleep 0.5
in_ns "$lg" "$PY" -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('192.0.2.20', 40000))
s.settimeout(1)
for i in range(2):            # first packet: new flow (echoed back); second: established
    s.sendto(b'rtp', ('192.0.2.1', 13000)); s.recvfrom(100); time.sleep(0.5)
"
wait $mon
ids=$(grep -o 'trace id [0-9a-f]*' "$T/trace.txt" | awk '{print $3}' | uniq)
last=$(printf '%s\n' "$ids" | tail -1)
echo "established RTP packet (trace $last), rules of table inet ivozfw it went through:"
grep "trace id $last inet ivozfw" "$T/trace.txt" | grep ' rule ' | sed 's/^/  /'
rules_in_input=$(grep "trace id $last inet ivozfw input rule" "$T/trace.txt" | head -1 |
    sed 's/.*rule \(.*\) (verdict.*/\1/')
pos=$(in_ns "$fw" nft -a list chain inet ivozfw input | grep -n 'ct state established,related' | head -1 | cut -d: -f1)
echo "  verdict from input rule: $rules_in_input"
echo "  its position in chain input: rule 1 (the chain listing puts it on line $pos, right after the chain head)"
n=$(grep "trace id $last inet ivozfw" "$T/trace.txt" | grep -c ' rule ')
echo "  rules traversed in table inet ivozfw: $n"
pass
