#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Differential test of the one evaluator (explain::explain) against the kernel.
#
# Four policies (GeoIP deny, GeoIP allow, companies strict, companies without strict and
# without GeoIP), each with manual bans in place. For every case (source, proto/port) the
# verdict of `ivozfw explain --json` must be what a real new packet gets: a TCP SYN or a UDP
# datagram from a client namespace holding that source address, to a listener in the
# firewall namespace (accepted = the connection opened / the datagram was echoed). Then the
# same cases forwarded (`explain --forwarded`): sent to 192.0.2.2 / 2001:db8::2, which
# another table of the firewall DNATs to a container namespace, port unchanged; the
# container's listener answers. Then the lockout guard of `ivozfw apply` (SSH_CONNECTION)
# must refuse exactly the sources whose SYN to that port the policy drops.
#
# Sources are documentation addresses only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
# 2001:db8::/32). Explain runs once per source for the every-service summary (10 cases) and
# once per case for a seeded sample of other ports (unexposed ones, the inside of ranges).
. "$(dirname "$0")/../lib/lib.sh"

START_MS=$(now_ms)
[ -r "$LIB_DIR/mkmmdb.pl" ] || fail "missing $LIB_DIR/mkmmdb.pl"
[ -r "$LIB_DIR/probe.py" ] || fail "missing $LIB_DIR/probe.py"
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null || fail "perl MaxMind::DB::Writer::Tree is missing (libmaxmind-db-writer-perl)"

# --- sources ------------------------------------------------------------------------------
# GeoIP: 203.0.113.0/25 CN, 203.0.113.128/25 RU, 198.51.100.0/24 ES, 2001:db8:c::/48 CN,
# 2001:db8:d::/48 RU, 2001:db8:e::/48 ES; 192.0.2.0/24, 2001:db8::/48, 2001:db8:a::/48 and
# 2001:db8:f::/48 are in no country. admin: 192.0.2.10, 2001:db8:a::/48 (shipped) and
# 203.0.113.9. Companies: 1 Acme 203.0.113.16/28 + 2001:db8:c:1::/64, 2 Beta 198.51.100.64/27,
# 3 NoFilter 203.0.113.100 with ip_filter false (not loaded). Banned by hand: see BANS.
SRC4=(192.0.2.10 192.0.2.33 192.0.2.77 192.0.2.200
    198.51.100.5 198.51.100.7 198.51.100.30 198.51.100.63 198.51.100.64 198.51.100.70 198.51.100.95
    198.51.100.96 198.51.100.250
    203.0.113.5 203.0.113.9 203.0.113.15 203.0.113.16 203.0.113.20 203.0.113.31 203.0.113.32
    203.0.113.100 203.0.113.127 203.0.113.128 203.0.113.140 203.0.113.200)
SRC6=(2001:db8::20 2001:db8::beef 2001:db8:a::5 2001:db8:a::77 2001:db8:c::5 2001:db8:c::99
    2001:db8:c:1::5 2001:db8:c:1::ab 2001:db8:d::5 2001:db8:d::6 2001:db8:e::5 2001:db8:e::6
    2001:db8:e:1::7 2001:db8:e:1::8 2001:db8:f::5 2001:db8:f::6)
# 2001:db8:e:1::7 bans its /64, so 2001:db8:e:1::8 too; 203.0.113.20 and 198.51.100.70 are
# company members (exempt before the ban check), 2001:db8:c:1::5 a banned company member.
BANS=(198.51.100.7 198.51.100.70 203.0.113.5 203.0.113.20 203.0.113.140 2001:db8:e:1::7 2001:db8:c:1::5)
# Ports: exposed (sip 5060, sip-tls 5061, sip-trunks 7060/7061, sip-ws 10080/10081, rtp
# 13000-19000, web 80/443, provisioning 1443), restricted (ssh 22 from admin), unexposed.
TCP_PORTS=(22 80 443 1443 5060 5061 7060 7061 10080 10081 3306 6060 8000)
UDP_PORTS=(5060 5061 7060 13000 16000 19000 12999 19001 2223)
# The guard: 30 sources with sshd on 22 (every admin source), 10 with sshd on the public SIP
# port 5061 (GeoIP, bans and strict apply there).
GUARD_SRC=(192.0.2.10 192.0.2.33 192.0.2.200 198.51.100.5 198.51.100.7 198.51.100.64 198.51.100.70
    198.51.100.95 198.51.100.96 203.0.113.5 203.0.113.9 203.0.113.15 203.0.113.16 203.0.113.20
    203.0.113.31 203.0.113.100 203.0.113.127 203.0.113.128 203.0.113.140
    2001:db8::20 2001:db8:a::5 2001:db8:a::77 2001:db8:c::5 2001:db8:c:1::5 2001:db8:c:1::ab
    2001:db8:d::5 2001:db8:e::5 2001:db8:e:1::7 2001:db8:e:1::8 2001:db8:f::5)
SAMPLE=40               # per-case explain calls per policy, on top of the summaries

new_ns fw fw
new_ns cl client
# link_pair: one address per network (it routes each network from fw), the rest in one batch.
link_pair "$fw" "$cl" 192.0.2.33/24 198.51.100.5/24 203.0.113.5/24 2001:db8::20/64 2001:db8:a::5/64 \
    2001:db8:c::5/64 2001:db8:c:1::5/64 2001:db8:d::5/64 2001:db8:e::5/64 2001:db8:e:1::7/64 2001:db8:f::5/64
{
    for a in "${SRC4[@]}"; do echo "addr replace $a/24 dev vcl"; done
    for a in "${SRC6[@]}"; do echo "addr replace $a/64 dev vcl nodad"; done
} | in_ns "$cl" ip -batch - || fail "adding the client addresses"
n_addr=$(in_ns "$cl" ip -o addr show dev vcl | grep -cE ' inet6? (192\.0\.2|198\.51\.100|203\.0\.113|2001:db8:)')
[ "${#GUARD_SRC[@]}" -ge 30 ] || fail "only ${#GUARD_SRC[@]} guard sources"
[ "$n_addr" -eq $((${#SRC4[@]} + ${#SRC6[@]})) ] || fail "client has $n_addr test addresses, expected $((${#SRC4[@]} + ${#SRC6[@]}))"
printf '%s\n' "${SRC4[@]}" "${SRC6[@]}" >"$T/sources"

# --- data: GeoIP database, companies (a directory and one JSON file) ------------------------
perl "$LIB_DIR/mkmmdb.pl" "$T/geo.mmdb" 203.0.113.0/25=CN 203.0.113.128/25=RU 198.51.100.0/24=ES \
    2001:db8:c::/48=CN 2001:db8:d::/48=RU 2001:db8:e::/48=ES || fail "mkmmdb"
[ -s "$T/geo.mmdb" ] || fail "mkmmdb wrote nothing"
D="$T/companies.d"
mkdir -p "$D"
echo '{"id": 1, "name": "Acme", "ranges": ["203.0.113.16/28", "2001:db8:c:1::/64"]}' >"$D/1.json"
echo '{"id": 2, "name": "Beta", "ip_filter": true, "ranges": ["198.51.100.64/27"]}' >"$D/2.json"
echo '{"id": 3, "name": "NoFilter", "ip_filter": false, "ranges": ["203.0.113.100"]}' >"$D/3.json"
jq -s '{companies: .}' "$D"/1.json "$D"/2.json "$D"/3.json >"$T/companies.json" || fail "companies.json"

# Every policy: shipped services, admin += 203.0.113.9, anti-flood on (bans) with a TCP rate
# the probes (at most 5 SYNs per source and second to metered ports) cannot reach.
COMMON=(-e "p['lists']['admin'].append('203.0.113.9')" -e "p['antiflood']['tcp_new_connections'] = '50/second'")
GEO="'database': '$T/geo.mmdb'"
edit_policy "$T/base.json" "${COMMON[@]}"
edit_policy "$T/deny.json" "${COMMON[@]}" -e "p['geoip'] = {$GEO, 'mode': 'deny', 'countries': ['CN', 'RU']}" \
    -e "p['companies'] = {'source': '$D'}"
edit_policy "$T/allow.json" "${COMMON[@]}" -e "p['geoip'] = {$GEO, 'mode': 'allow', 'countries': ['ES']}" \
    -e "p['companies'] = {'source': '$D'}"
edit_policy "$T/strict.json" "${COMMON[@]}" -e "p['geoip'] = {$GEO, 'mode': 'deny', 'countries': ['CN']}" \
    -e "p['companies'] = {'source': '$T/companies.json', 'strict': True}"
edit_policy "$T/nostrict.json" "${COMMON[@]}" -e "p['companies'] = {'source': '$T/companies.json', 'strict': False}"
POLICIES=(deny allow strict nostrict)

listen_in "$fw" "$T/rx.log" 600 --tcp "$(IFS=,; echo "${TCP_PORTS[*]}")" --udp "$(IFS=,; echo "${UDP_PORTS[*]}")"

# The container: its own namespace behind fw (point-to-point 192.0.2.249 <-> 192.0.2.250,
# 2001:db8:ff::/64), reached only through the DNAT of fw's published addresses. fw routes.
new_ns ct container
ip link add vfwc netns "$fw" type veth peer name vctc netns "$ct" || fail "veth to the container"
in_ns "$fw" ip link set vfwc up
in_ns "$ct" ip link set vctc up
in_ns "$fw" ip addr add 192.0.2.249 peer 192.0.2.250 dev vfwc || fail "fw container link"
in_ns "$ct" ip addr add 192.0.2.250 peer 192.0.2.249 dev vctc || fail "container address"
in_ns "$fw" ip addr add 2001:db8:ff::1/64 dev vfwc nodad
in_ns "$ct" ip addr add 2001:db8:ff::2/64 dev vctc nodad
in_ns "$ct" ip route add default via 192.0.2.249 || fail "container route"
in_ns "$ct" ip -6 route add default via 2001:db8:ff::1 || fail "container route v6"
in_ns "$fw" ip addr add 192.0.2.2/32 dev vfw
# deprecated, so that fw's own answers (bound to ::) never take it as their source address
in_ns "$fw" ip addr add 2001:db8::2/128 dev vfw nodad preferred_lft 0
in_ns "$fw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || fail "forwarding on"
in_ns "$fw" nft -f - <<'EOF' || fail "the publishing table"
table inet publish {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ip daddr 192.0.2.2 dnat ip to 192.0.2.250
        ip6 daddr 2001:db8::2 dnat ip6 to 2001:db8:ff::2
    }
}
EOF
listen_in "$ct" "$T/ct-rx.log" 600 --tcp "$(IFS=,; echo "${TCP_PORTS[*]}")" --udp "$(IFS=,; echo "${UDP_PORTS[*]}")"
# Forwarded rounds: the policies whose SIP UDP conntrack tracks (GeoIP guards it). Without
# GeoIP (nostrict) 5060/udp is untracked before conntrack, which no table can DNAT: it
# reaches fw's own listener, whose answer comes from 192.0.2.1, not the probed address.
FWD_POLICIES=" deny allow strict "

# --- explain: runs inside fw, one process per summary and per sampled case -----------------
cat >"$T/explain.py" <<'EOF'
import json, random, subprocess, sys
ivozfw, policy, sources, tcp, udp, sample, seed, out = sys.argv[1:9]
extra = sys.argv[9:]   # ["--forwarded"]
srcs = open(sources).read().split()
ports = [("tcp", int(p)) for p in tcp.split(",")] + [("udp", int(p)) for p in udp.split(",")]
cases = {}   # (src, proto, port) -> (verdict, reason, how)
def run(args):
    r = subprocess.run([ivozfw, "explain", "-p", policy, "--json"] + extra + args, capture_output=True, text=True, timeout=60)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        sys.exit(f"explain {' '.join(args)}: exit {r.returncode}, no JSON: {r.stdout[:300]} {r.stderr[:300]}")
from concurrent.futures import ThreadPoolExecutor
pool = ThreadPoolExecutor(4)   # processes: mostly start-up time, run a few at once
for s, (rc, j) in zip(srcs, pool.map(lambda s: run([s]), srcs)):
    if rc != 0 or not j.get("loaded") or j.get("pending_changes") or j.get("forwarded") != bool(extra):
        sys.exit(f"explain {s}: exit {rc}, loaded {j.get('loaded')}, pending {j.get('pending_changes')}, {j.get('notes')}")
    for e in j["services"]:
        if e["verdict"] not in ("accept", "drop"):
            sys.exit(f"explain {s}: verdict {e['verdict']!r}")
        cases[(s, e["proto"], e["port"])] = (e["verdict"], e["reason"] or "-", "summary")
rest = [(s, pr, po) for s in srcs for pr, po in ports if (s, pr, po) not in cases]
random.Random(seed).shuffle(rest)
picked = rest[:int(sample)]
for (s, pr, po), (rc, j) in zip(picked, pool.map(lambda c: run([c[0], f"{c[1]}/{c[2]}"]), picked)):
    want = {"accept": 0, "drop": 5}.get(j.get("verdict"))
    if want is None or rc != want:
        sys.exit(f"explain {s} {pr}/{po}: verdict {j.get('verdict')!r} with exit {rc}")
    cases[(s, pr, po)] = (j["verdict"], j["reason"] or "-", "single")
with open(out, "w") as f:
    for (s, pr, po), (v, why, how) in sorted(cases.items()):
        f.write(f"{s} {pr} {po} {v} {why} {how}\n")
EOF

total_cases=0 total_mis=0 fwd_rounds=0 total_guard=0 total_guard_mis=0 explain_ms=0 probe_ms=0 guard_ms=0
MIS="$T/mismatches"
: >"$MIS"

# round NAME DST4 DST6 [--forwarded] : explain every case of policy NAME (live in fw), send
# the real packets to DST4/DST6, compare. Writes $T/NAME.explain and $T/NAME.packets.
round() {
    local name=$1 dst4=$2 dst6=$3 t0 t1 t2 n na nd mis m pa
    shift 3
    t0=$(now_ms)
    in_ns "$fw" "$PY" "$T/explain.py" "$IVOZFW" "$P" "$T/sources" "$(IFS=,; echo "${TCP_PORTS[*]}")" \
        "$(IFS=,; echo "${UDP_PORTS[*]}")" "$SAMPLE" "$name" "$T/$name.explain" "$@" || fail "$name: explain failed"
    t1=$(now_ms)
    explain_ms=$((explain_ms + t1 - t0))
    n=$(wc -l <"$T/$name.explain")
    [ "$n" -ge 200 ] || fail "$name: only $n cases"
    na=$(awk '$4 == "accept"' "$T/$name.explain" | wc -l)
    nd=$(awk '$4 == "drop"' "$T/$name.explain" | wc -l)
    [ "$na" -ge 20 ] && [ "$nd" -ge 20 ] || fail "$name: degenerate case mix: $na accepted, $nd dropped"

    # Real packets, all cases at once, then a second, slower look at any disagreement
    # (a late reply must not count as a drop).
    awk '{ print $1, $2, $3 }' "$T/$name.explain" >"$T/$name.cases"
    in_ns "$cl" "$PY" "$LIB_DIR/probe.py" batch "$T/$name.cases" --dst4 "$dst4" --dst6 "$dst6" --timeout 0.4 \
        >"$T/$name.probe1" || fail "$name: probe batch failed"
    awk '{ r = $4; v = (r == "connected" || r == "echo") ? "accept" : (r == "timeout" ? "drop" : "bad:" r); print $1, $2, $3, r, v }' \
        "$T/$name.probe1" >"$T/$name.packets"
    [ "$(wc -l <"$T/$name.packets")" -eq "$n" ] || fail "$name: probe returned $(wc -l <"$T/$name.packets") results for $n cases"
    awk 'NR == FNR { v[$1 " " $2 " " $3] = $4; next } v[$1 " " $2 " " $3] != $5 { print $1, $2, $3 }' \
        "$T/$name.explain" "$T/$name.packets" >"$T/$name.retry"
    if [ -s "$T/$name.retry" ]; then
        log "$name: $(wc -l <"$T/$name.retry") disagreements on the first look; probing them again (timeout 1.5 s)"
        in_ns "$cl" "$PY" "$LIB_DIR/probe.py" batch "$T/$name.retry" --dst4 "$dst4" --dst6 "$dst6" --timeout 1.5 \
            >"$T/$name.probe2" || fail "$name: probe batch (retry) failed"
        awk 'NR == FNR { r = $4; v[$1 " " $2 " " $3] = r " " ((r == "connected" || r == "echo") ? "accept" : (r == "timeout" ? "drop" : "bad:" r)); next }
             ($1 " " $2 " " $3) in v { print $1, $2, $3, v[$1 " " $2 " " $3]; next } { print }' \
            "$T/$name.probe2" "$T/$name.packets" >"$T/$name.packets2"
        mv "$T/$name.packets2" "$T/$name.packets"
    fi
    t2=$(now_ms)
    probe_ms=$((probe_ms + t2 - t1))
    mis=$(awk -v pol="$name" 'NR == FNR { e[$1 " " $2 " " $3] = $4 " (" $5 ", " $6 ")"; v[$1 " " $2 " " $3] = $4; next }
        v[$1 " " $2 " " $3] != $5 { printf "%s: %s %s/%s: explain %s, packet %s (%s)\n", pol, $1, $2, $3, e[$1 " " $2 " " $3], $5, $4 }' \
        "$T/$name.explain" "$T/$name.packets")
    if [ -n "$mis" ]; then
        printf '%s\n' "$mis" | tee -a "$MIS" >&2
    fi
    m=$(printf '%s' "$mis" | grep -c . || true)
    pa=$(awk '$5 == "accept"' "$T/$name.packets" | wc -l)
    log "$name: $n cases ($na accepted, $nd dropped by explain; $pa packets passed), $m mismatches, explain $((t1 - t0)) ms, packets $((t2 - t1)) ms"
    total_cases=$((total_cases + n))
    total_mis=$((total_mis + m))
}

# verdict_of FILE SRC PROTO PORT : the packet verdict recorded for that case
verdict_of() { awk -v s="$2" -v p="$3" -v o="$4" '$1 == s && $2 == p && $3 == o { print $5 }' "$1"; }

for name in "${POLICIES[@]}"; do
    P="$T/$name.json"
    expect_exit 0 ivz "$fw" apply -p "$P"
    for b in "${BANS[@]}"; do expect_exit 0 ivz "$fw" ban -p "$P" "$b" --for 1h; done
    expect_exit 0 ivz "$fw" bans -p "$P" --json
    nb=$(jq 'if type == "array" then length else (.bans // []) | length end' <<<"$OUT")
    [ "$nb" -ge "${#BANS[@]}" ] || fail "$name: ${#BANS[@]} bans made, \`bans\` lists $nb: $OUT"

    round "$name" 192.0.2.1 2001:db8::1
    if [[ $FWD_POLICIES == *" $name "* ]]; then
        d0=$(counter_packets "$fw" drop_not_exposed)
        round "$name.fwd" 192.0.2.2 2001:db8::2 --forwarded
        fwd_rounds=$((fwd_rounds + 1))
        # The forward chain dropped what it says it dropped: the not-exposed cases of that
        # round, in drop_not_exposed (its TCP cases at least: the SYN retransmits; no input
        # drop happens meanwhile: nothing else sends).
        d1=$(counter_packets "$fw" drop_not_exposed)
        ne=$(awk '$5 == "not_exposed"' "$T/$name.fwd.explain" | wc -l)
        [ "$ne" -gt 0 ] && [ $((d1 - d0)) -ge "$ne" ] ||
            fail "$name: $ne forwarded cases not exposed, drop_not_exposed rose by $((d1 - d0))"
    fi

    # The lockout guard: apply this policy from an SSH session of each source; refused must
    # be exactly "a SYN from that source to that port is dropped". The first case starts from
    # the base table (a plan that adds GeoIP, companies, strict); after an accepted apply the
    # next case applies the policy's twin ($name.twin.json: ICMP echo rate 11 instead of 10,
    # no TCP verdict changes) so that every case is one apply with a non-empty plan.
    t0=$(now_ms)
    edit_policy "$T/$name.twin.json" --from "$P" -e "p['icmp']['echo_rate'] = 11"
    expect_exit 0 ivz "$fw" apply -p "$T/base.json"
    live=base g=0 gm=0 grefused=0
    GUARD_CASES=()
    for src in "${GUARD_SRC[@]}"; do GUARD_CASES+=("$src 22"); done
    for src in 198.51.100.5 198.51.100.7 198.51.100.70 203.0.113.5 203.0.113.16 203.0.113.128 2001:db8:e:1::8 \
        2001:db8:c::5 2001:db8:c:1::5 2001:db8:f::5; do GUARD_CASES+=("$src 5061"); done
    for c in "${GUARD_CASES[@]}"; do
        read -r src port <<<"$c"
        dst=192.0.2.1
        [[ $src == *:* ]] && dst=2001:db8::1
        pkt=$(verdict_of "$T/$name.packets" "$src" tcp "$port")
        [ -n "$pkt" ] || fail "$name: no packet result for $src tcp/$port"
        target=$P
        [ "$live" = "$P" ] && target="$T/$name.twin.json"
        run env SSH_CONNECTION="$src 50000 $dst $port" ip netns exec "$fw" timeout 60 "$IVOZFW" apply -p "$target"
        if [ "$RC" = 0 ]; then
            guard=accept
            expect_contains "applied" "$OUT" "apply from $src (guard accepted)"
            live=$target
        elif [ "$RC" = 1 ] && [[ $ERR == *"refusing to apply: your SSH session"* ]]; then
            guard=drop
            grefused=$((grefused + 1))
        else
            fail "$name: apply with SSH_CONNECTION from $src to port $port: exit $RC: $ERR"
        fi
        g=$((g + 1))
        if [ "$guard" != "$pkt" ]; then
            gm=$((gm + 1))
            echo "$name: guard $src tcp/$port: guard ${guard}s, the SYN was ${pkt}ed; $ERR" | tee -a "$MIS" >&2
        fi
    done
    t1=$(now_ms)
    guard_ms=$((guard_ms + t1 - t0))
    [ "$grefused" -gt 0 ] && [ "$grefused" -lt "$g" ] || fail "$name: guard: $grefused refused of $g: degenerate"
    log "$name: guard: $g cases ($grefused refused), $gm mismatches, $((t1 - t0)) ms"
    total_guard=$((total_guard + g))
    total_guard_mis=$((total_guard_mis + gm))
done

# The listeners saw what the client said passed (TCP: one log line per accepted connection):
# fw's for the direct rounds, the container's for the forwarded ones.
[ "$fwd_rounds" -eq 3 ] || fail "$fwd_rounds forwarded rounds, expected 3"
acc_tcp=$(for n in "${POLICIES[@]}"; do cat "$T/$n.packets"; done | awk '$2 == "tcp" && $5 == "accept"' | wc -l)
rx_tcp=$(grep -c '^tcp ' "$T/rx.log" || true)
[ "$rx_tcp" -ge "$acc_tcp" ] || fail "the listener logged $rx_tcp TCP connections, the client opened $acc_tcp"
acc_fwd=$(cat "$T"/*.fwd.packets | awk '$2 == "tcp" && $5 == "accept"' | wc -l)
rx_fwd=$(grep -c '^tcp ' "$T/ct-rx.log" || true)
[ "$acc_fwd" -gt 0 ] && [ "$rx_fwd" -ge "$acc_fwd" ] ||
    fail "the container's listener logged $rx_fwd TCP connections, the client opened $acc_fwd through the DNAT"

echo "explain == packets: $total_cases cases, $total_mis mismatches; guard == SYN: $total_guard cases, $total_guard_mis mismatches" \
    "(${#POLICIES[@]} policies, $fwd_rounds of them forwarded too; explain $explain_ms ms, packets $probe_ms ms, guard $guard_ms ms, total $(($(now_ms) - START_MS)) ms)"
[ $((total_mis + total_guard_mis)) -eq 0 ] || fail "$((total_mis + total_guard_mis)) mismatches:
$(cat "$MIS")"
pass
