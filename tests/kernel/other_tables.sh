#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Other tables whose verdicts can override ivozfw's, or change the port it judges, are named
# by check --kernel, apply, status and explain: Docker's published port (its nat PREROUTING
# chain, written with iptables-nft exactly as Docker writes it: the port is forwarded, and
# ivozfw's forward chain judges it), an input or forward chain with a drop policy (a packet
# ivozfw accepts is still dropped). An accept elsewhere overrides nothing: not named.
# None is reported before they exist, nor ivozfw's own table; adding them changes nothing in
# ivozfw's table, and neither does ivozfw touch them.
. "$(dirname "$0")/../lib/lib.sh"
command -v iptables >/dev/null || fail "iptables (iptables-nft) is needed: apt-get install iptables"
iptables --version | grep -q nf_tables || fail "iptables is not the nf_tables variant: $(iptables --version)"

new_ns ns
P=$T/policy.json
shipped_policy "$P"
expect_exit 0 ivz "$ns" apply -p "$P"
expect_not_contains "warning: table" "$ERR" "apply alone"
expect_exit 0 ivz "$ns" status -p "$P"
expect_not_contains "other table:" "$OUT" "status alone"
before=$(table_json "$ns")

# Docker 20+/24 with -p 8080:80 for a container at 198.51.100.2 (iptables-nft), as it writes them.
ipt() { in_ns "$ns" iptables "$@" || fail "iptables $*"; }
ipt -t nat -N DOCKER
ipt -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
ipt -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
ipt -t nat -A POSTROUTING -s 198.51.100.0/24 ! -o docker0 -j MASQUERADE
ipt -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 198.51.100.2:80
ipt -N DOCKER
ipt -N DOCKER-USER
ipt -A FORWARD -j DOCKER-USER
ipt -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
ipt -A FORWARD -o docker0 -j DOCKER
ipt -A DOCKER -d 198.51.100.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
ipt -A DOCKER-USER -j RETURN
E_NAT="table ip nat chain PREROUTING (prerouting, nat): a port it DNATs to a container, VM or namespace is forwarded"

expect_exit 0 ivz "$ns" status -p "$P"
expect_contains "other table:      $E_NAT" "$OUT" "status with Docker's rules"
expect_exit 0 ivz "$ns" status --json -p "$P"
printf '%s' "$OUT" | jq -e '.other_tables | length == 1' >/dev/null || fail "status --json other_tables: $OUT"
expect_exit 5 ivz "$ns" explain -p "$P" 203.0.113.5 tcp/8080
expect_contains "note: $E_NAT" "$OUT" "explain of the published port"
expect_contains "DROPPED" "$OUT" "explain of the published port (ivozfw's own verdict)"
expect_exit 5 ivz "$ns" explain -p "$P" --forwarded 203.0.113.5 tcp/8080
expect_contains "[forward forwarded-not-exposed] port tcp/8080 is not exposed" "$OUT" "explain --forwarded"
expect_exit 0 ivz "$ns" check --kernel -p "$P"
expect_contains "warning: $E_NAT" "$ERR" "check --kernel"
expect_exit 0 ivz "$ns" apply -p "$P"
expect_contains "warning: $E_NAT" "$ERR" "apply"
expect_same "$before" "$(table_json "$ns")" "ivozfw's table beside Docker's rules"

# A chain that drops by default: Docker's FORWARD (iptables -P FORWARD DROP), an INPUT
# (iptables -P INPUT DROP). Named while it drops, not once it accepts again.
for c in "FORWARD forward a forwarded packet" "INPUT input a packet"; do
    read -r chain hook what <<<"$c"
    ipt -P "$chain" DROP
    expect_exit 0 ivz "$ns" status -p "$P"
    expect_contains "other table:      table ip filter chain $chain ($hook, filter, policy drop): $what ivozfw accepts is still dropped there" \
        "$OUT" "status with $chain policy drop"
    ipt -P "$chain" ACCEPT
    expect_exit 0 ivz "$ns" status -p "$P"
    expect_not_contains "policy drop" "$OUT" "status after $chain's policy is accept again"
done
# ivozfw left them alone.
in_ns "$ns" iptables -t nat -S DOCKER | grep -q -- "--dport 8080 -j DNAT" || fail "Docker's DNAT rule is gone"
pass
