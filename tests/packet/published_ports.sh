#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A port a container publishes obeys the policy, by the port it was sent to.
#
# `fw` is a Docker host: a docker0 bridge (198.51.100.1/24, 2001:db8:d0c::1/64) with a
# container namespace behind it (198.51.100.2, 2001:db8:d0c::2), and Docker's rules written
# with iptables-nft / ip6tables-nft exactly as Docker 24 writes them for
#   -p 8080:80  -p 443:8443  -p 22:22  -p 5060:5060  -p 13000:13000/udp  -p 9999:9999/udp
# A `client` namespace (192.0.2.0/24, 203.0.113.0/24, 2001:db8::/64) connects to fw's own
# addresses; the container's listener answers. With the shipped policy applied (admin
# 192.0.2.10, web 80/443 public, ssh admin only, sip 5060 with bans, rtp 13000-19000):
# 8080 and 9999/udp are not exposed (dropped, though Docker publishes them), 443 is web
# (accepted, though the container listens on 8443), 22 only from admin, a banned source is
# dropped on 5060, routed traffic to the container that nobody DNATed is not ivozfw's to
# judge. explain --forwarded states each verdict; the counters count them; Docker's rules
# are left as they were, and after `ivozfw remove` Docker alone decides again.
. "$(dirname "$0")/../lib/lib.sh"
command -v iptables >/dev/null && command -v ip6tables >/dev/null ||
    fail "iptables and ip6tables (iptables-nft) are needed: apt-get install iptables"
iptables --version | grep -q nf_tables || fail "iptables is not the nf_tables variant: $(iptables --version)"

new_ns fw fw
new_ns cl client
new_ns ct container
link_pair "$fw" "$cl" 192.0.2.10/24 203.0.113.7/24 2001:db8::20/64
in_ns "$cl" ip addr add 203.0.113.8/24 dev vcl || fail "client address"
in_ns "$cl" ip route add 198.51.100.0/24 via 192.0.2.1 || fail "client route to the containers"
# docker0 and the container's veth, as Docker sets them up.
in_ns "$fw" ip link add docker0 type bridge || fail "docker0"
in_ns "$fw" ip addr add 198.51.100.1/24 dev docker0
in_ns "$fw" ip addr add 2001:db8:d0c::1/64 dev docker0 nodad
ip link add veth0c netns "$fw" type veth peer name eth0 netns "$ct" || fail "container veth"
in_ns "$fw" ip link set veth0c master docker0 || fail "veth into docker0"
in_ns "$fw" ip link set veth0c up
in_ns "$fw" ip link set docker0 up
in_ns "$ct" ip link set eth0 up
in_ns "$ct" ip addr add 198.51.100.2/24 dev eth0
in_ns "$ct" ip addr add 2001:db8:d0c::2/64 dev eth0 nodad
in_ns "$ct" ip route add default via 198.51.100.1 || fail "container default route"
in_ns "$ct" ip -6 route add default via 2001:db8:d0c::1 || fail "container default route v6"
in_ns "$fw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || fail "forwarding on"

# Docker's rules (iptables-nft, then ip6tables-nft for the same ports).
docker_rules() {
    local ipt=$1 net=$2 c=$3
    x() { in_ns "$fw" "$ipt" "$@" || fail "$ipt $*"; }
    x -t nat -N DOCKER
    x -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    x -t nat -A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER
    x -t nat -A POSTROUTING -s "$net" ! -o docker0 -j MASQUERADE
    x -t nat -A DOCKER -i docker0 -j RETURN
    x -N DOCKER
    x -N DOCKER-ISOLATION-STAGE-1
    x -N DOCKER-ISOLATION-STAGE-2
    x -N DOCKER-USER
    x -P FORWARD DROP
    x -A FORWARD -j DOCKER-USER
    x -A FORWARD -j DOCKER-ISOLATION-STAGE-1
    x -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    x -A FORWARD -o docker0 -j DOCKER
    x -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
    x -A FORWARD -i docker0 -o docker0 -j ACCEPT
    x -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
    x -A DOCKER-ISOLATION-STAGE-1 -j RETURN
    x -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
    x -A DOCKER-ISOLATION-STAGE-2 -j RETURN
    x -A DOCKER-USER -j RETURN
    local pub proto hport cport
    for pub in tcp:8080:80 tcp:443:8443 tcp:22:22 tcp:5060:5060 udp:13000:13000 udp:9999:9999; do
        IFS=: read -r proto hport cport <<<"$pub"
        x -t nat -A DOCKER ! -i docker0 -p "$proto" -m "$proto" --dport "$hport" -j DNAT --to-destination "$c:$cport"
        x -A DOCKER -d "${c//[\[\]]/}" ! -i docker0 -o docker0 -p "$proto" -m "$proto" --dport "$cport" -j ACCEPT
        x -t nat -A POSTROUTING -s "${c//[\[\]]/}" -d "${c//[\[\]]/}" -p "$proto" -m "$proto" --dport "$cport" -j MASQUERADE
    done
}
docker_rules iptables 198.51.100.0/24 198.51.100.2
docker_rules ip6tables 2001:db8:d0c::/64 "[2001:db8:d0c::2]"

listen_in "$ct" "$T/ct.log" 120 --tcp 80,8443,22,5060 --udp 13000,9999

PROBE_NS=$cl
BLOCKED_TIMEOUT=1
# verdict SRC PROTO/PORT EXIT REASON : explain --forwarded says it.
verdict() {
    expect_exit "$3" ivz "$fw" explain -p "$P" --forwarded --json "$1" "$2"
    [ "$(jq -r .reason <<<"$OUT")" == "$4" ] && [ "$(jq -r .forwarded <<<"$OUT")" == true ] ||
        fail "explain --forwarded $1 $2: reason $(jq -r .reason <<<"$OUT"), expected ${4:-none}: $OUT"
}

# Docker alone: every published port is open to every source (the hole ivozfw closes).
reach tcp 192.0.2.1 8080 --src 203.0.113.7 --timeout 4
reach tcp 2001:db8::1 8080 --src 2001:db8::20 --timeout 4   # the first IPv6 flow waits for neighbour discovery
reach udp 192.0.2.1 9999 --src 203.0.113.7
grep -q "^tcp 80 203.0.113.7$" "$T/ct.log" || fail "the container did not log the DNATed connection: $(cat "$T/ct.log")"
# Docker's rules as they are (their counters aside: packets go on passing them).
docker_rules_now() { foreign_json "$fw" | jq -S 'walk(if type == "object" then del(.packets, .bytes) else . end)'; }
docker_before=$(docker_rules_now)

P=$T/policy.json
shipped_policy "$P"
expect_exit 0 ivz "$fw" apply -p "$P"
expect_contains "table ip filter chain FORWARD (forward, filter, policy drop): a forwarded packet ivozfw accepts is still dropped there" \
    "$ERR" "apply names Docker's FORWARD policy"
expect_contains "table ip nat chain PREROUTING (prerouting, nat): a port it DNATs to a container, VM or namespace is forwarded; ivozfw's forward chain judges it" \
    "$ERR" "apply names Docker's DNAT"
expect_exit 0 ivz "$fw" status -p "$P"
expect_contains "other table:      table ip6 filter chain FORWARD (forward, filter, policy drop)" "$OUT" "status"
ne0=$(counter_packets "$fw" drop_not_exposed)
na0=$(counter_packets "$fw" drop_not_allowed)

# Not exposed by the policy, though Docker publishes it.
blocked tcp 192.0.2.1 8080 --src 203.0.113.7
blocked tcp 2001:db8::1 8080 --src 2001:db8::20
blocked udp 192.0.2.1 9999 --src 203.0.113.7
verdict 203.0.113.7 tcp/8080 5 not_exposed
verdict 2001:db8::20 tcp/8080 5 not_exposed
verdict 203.0.113.7 udp/9999 5 not_exposed
ne1=$(counter_packets "$fw" drop_not_exposed)
[ $((ne1 - ne0)) -ge 3 ] || fail "drop_not_exposed rose by $((ne1 - ne0)) for 3 dropped flows"
[ "$(grep -c '^tcp 80 ' "$T/ct.log")" -eq 2 ] || fail "the container saw more connections to 80: $(cat "$T/ct.log")"

# Exposed (web) by the port it was sent to, 443, though the container listens on 8443.
reach tcp 192.0.2.1 443 --src 203.0.113.7
reach tcp 2001:db8::1 443 --src 2001:db8::20
grep -q "^tcp 8443 203.0.113.7$" "$T/ct.log" || fail "the container did not get the connection to 443: $(cat "$T/ct.log")"
verdict 203.0.113.7 tcp/443 0 ""
expect_contains "forward forwarded-dispatch-tcp" "$(jq -r '.steps[] | .chain + " " + .rule' <<<"$OUT")" "explain walks the forward chain"
reach udp 192.0.2.1 13000 --src 203.0.113.7
verdict 203.0.113.7 udp/13000 0 ""

# ssh: admin only.
blocked tcp 192.0.2.1 22 --src 203.0.113.7
verdict 203.0.113.7 tcp/22 5 not_allowed
reach tcp 192.0.2.1 22 --src 192.0.2.10
verdict 192.0.2.10 tcp/22 0 ""
na1=$(counter_packets "$fw" drop_not_allowed)
[ $((na1 - na0)) -ge 1 ] || fail "drop_not_allowed did not count the forwarded ssh drop"

# Bans hold on forwarded SIP too, and lifting one opens it again.
reach tcp 192.0.2.1 5060 --src 203.0.113.8
expect_exit 0 ivz "$fw" ban -p "$P" 203.0.113.8 --for 10m
blocked tcp 192.0.2.1 5060 --src 203.0.113.8
verdict 203.0.113.8 tcp/5060 5 banned
expect_exit 0 ivz "$fw" unban -p "$P" 203.0.113.8
reach tcp 192.0.2.1 5060 --src 203.0.113.8

# Routed traffic nobody DNATed (straight to the container's address): Docker's rules decide.
reach tcp 198.51.100.2 80 --src 203.0.113.7
[ "$(grep -c '^tcp 80 203.0.113.7$' "$T/ct.log")" -eq 2 ] || fail "routed connection not logged: $(cat "$T/ct.log")"

expect_same "$docker_before" "$(docker_rules_now)" "Docker's rules after ivozfw's applies"

# Without ivozfw's table, Docker alone decides again.
expect_exit 0 ivz "$fw" remove -p "$P"
reach tcp 192.0.2.1 8080 --src 203.0.113.7 --timeout 4
expect_same "$docker_before" "$(docker_rules_now)" "Docker's rules after ivozfw remove"
pass
