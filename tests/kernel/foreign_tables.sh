#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ivozfw owns table inet ivozfw and nothing else: docker's, fail2ban's and the distribution's
# tables (and tables that merely share the name in another family, or a name prefix) stay
# byte-for-byte identical, handles included, through check, diff, apply, a changed apply,
# export and remove. NAT chains earn a warning (untracked SIP skips NAT).
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns
cat >"$T/foreign.nft" <<'EOF'
table ip docker_like {
	chain DOCKER {
	}
	chain DOCKER-USER {
		return
	}
	chain FORWARD {
		type filter hook forward priority filter; policy drop;
		jump DOCKER-USER
		oifname "docker0" ct state established,related accept
		oifname "docker0" jump DOCKER
	}
	chain PREROUTING {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump DOCKER
	}
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 198.51.100.0/24 oifname != "docker0" masquerade
	}
}
table inet f2b-table {
	set addr-set-sshd {
		type ipv4_addr
		elements = { 198.51.100.1 }
	}
	chain f2b-chain {
		type filter hook input priority filter - 1; policy accept;
		tcp dport 22 ip saddr @addr-set-sshd reject
	}
}
table ip6 distro_filter {
	counter seen {
	}
	chain input {
		type filter hook input priority 10; policy accept;
		tcp dport 22 counter name "seen" accept
	}
}
table ip ivozfw {
	set admin_v4 {
		type ipv4_addr
		elements = { 203.0.113.7 }
	}
	chain input {
		type filter hook input priority 5; policy accept;
	}
}
table inet ivozfw2 {
	chain svc_sip {
		accept
	}
}
EOF
in_ns "$ns" nft -f "$T/foreign.nft" || fail "cannot load the foreign tables"
foreign=$(foreign_json "$ns")
[ "$(printf '%s' "$foreign" | jq '[.[] | select(has("table"))] | length')" == 5 ] ||
    fail "expected 5 foreign tables: $foreign"

P=$T/policy.json
shipped_policy "$P"
P2=$T/policy2.json
edit_policy "$P2" -e 'p["lists"]["admin"] = ["192.0.2.10", "192.0.2.20", "2001:db8:b::/48"]' \
    -e 'p["services"]["mysql-test"] = {"tcp": [3306], "from": ["application_servers"]}' \
    -e 'p["lists"]["application_servers"] = ["198.51.100.0/28"]' \
    -e 'del p["services"]["web"]'

same_foreign() {
    expect_same "$foreign" "$(foreign_json "$ns")" "foreign tables after $1 (handles included)"
}

expect_exit 0 ivz "$ns" check -p "$P"
same_foreign "check"
expect_exit 2 ivz "$ns" diff -p "$P"
# The diff is about inet ivozfw only: it does not plan to touch ip ivozfw or inet ivozfw2.
expect_contains "+ table inet ivozfw" "$OUT" "diff with foreign tables"
same_foreign "diff"
expect_exit 0 ivz "$ns" apply -p "$P"
same_foreign "apply"
# docker_like's NAT chains could translate the SIP ports, which are untracked.
expect_contains "NAT chains: ip docker_like POSTROUTING (postrouting), ip docker_like PREROUTING (prerouting)." "$ERR" \
    "apply next to NAT chains"
expect_contains "untracked UDP ports (5060, 7060) skip NAT" "$ERR" "apply next to NAT chains"
edit_policy "$T/tracked.json" -e "p['antiflood']['conntrack_udp'] = True"
expect_exit 0 ivz "$ns" check --kernel -p "$T/tracked.json"
expect_not_contains "skip NAT" "$ERR" "check --kernel with antiflood.conntrack_udp"
# (the published-port warning of other_tables.sh stays: a DNATed port is forwarded either way)
expect_contains "table ip docker_like chain PREROUTING (prerouting, nat): a port it DNATs" "$ERR" \
    "check --kernel with antiflood.conntrack_udp"
expect_exit 0 ivz "$ns" check --kernel -p "$P"
expect_contains "ip docker_like PREROUTING (prerouting)" "$ERR" "check --kernel next to NAT chains"
expect_exit 0 ivz "$ns" diff -p "$P"
same_foreign "diff after apply"
expect_exit 0 ivz "$ns" apply -p "$P2"
expect_contains "applied" "$OUT" "apply of a changed policy"
expect_exit 0 ivz "$ns" diff -p "$P2"
same_foreign "apply of a changed policy"
in_ns "$ns" nft list set inet ivozfw admin_v4 | grep -c "192.0.2.20" >/dev/null || fail "changed policy not applied"
expect_exit 0 ivz "$ns" export -p "$P2"
same_foreign "export"
# Loading the export with nft replaces inet ivozfw only (its own delete table is scoped).
printf '%s\n' "$OUT" | in_ns "$ns" nft -f - || fail "nft -f of the export failed"
same_foreign "nft -f of the export"
expect_exit 0 ivz "$ns" apply -p "$P"
same_foreign "apply back to the shipped policy"
expect_exit 0 ivz "$ns" remove -p "$P"
has_table "$ns" && fail "table inet ivozfw still there after remove"
same_foreign "remove"
expect_exit 0 ivz "$ns" remove -p "$P"
expect_contains "nothing to remove" "$OUT" "remove without a table"
same_foreign "a second remove"
expect_exit 0 ivz "$ns" remove --table ivozfw
same_foreign "remove --table ivozfw"

# Nothing else in the namespace's ruleset but the foreign tables now.
left=$(in_ns "$ns" nft -j list ruleset | jq -S "$_JQ_FOREIGN")
all=$(in_ns "$ns" nft -j list ruleset | jq -S '.nftables | map(select(has("metainfo") | not))')
expect_same "$all" "$left" "ruleset vs its foreign part after remove"

pass
