#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# apply run from an SSH session (SSH_CONNECTION) refuses a policy that would cut that session
# off, unless --force; a policy that keeps the client reachable applies without --force.
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns
OPEN=$T/open.json      # admin holds the SSH client
CLOSED=$T/closed.json  # the shipped policy: admin is 192.0.2.10 and 2001:db8:a::/48
shipped_policy "$CLOSED"
edit_policy "$OPEN" -e 'p["lists"]["admin"] = ["198.51.100.0/29", "2001:db8:a::/48"]'
SSH4="198.51.100.5 50000 192.0.2.1 22"

# As root on the console first (no SSH_CONNECTION): the open policy.
expect_exit 0 ivz "$ns" apply -p "$OPEN"
before=$(ruleset_raw "$ns")

# From 198.51.100.5 over SSH: the shipped policy would lock us out.
expect_exit 1 env SSH_CONNECTION="$SSH4" ip netns exec "$ns" "$IVOZFW" apply -p "$CLOSED"
expect_contains "SSH" "$ERR" "stderr of a refused apply"
expect_contains "198.51.100.5" "$ERR" "stderr of a refused apply"
expect_contains "--force" "$ERR" "stderr of a refused apply"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after a refused apply (handles included)"
# diff and check are not guarded (they change nothing).
expect_exit 2 env SSH_CONNECTION="$SSH4" ip netns exec "$ns" "$IVOZFW" diff -p "$CLOSED"
expect_exit 0 env SSH_CONNECTION="$SSH4" ip netns exec "$ns" "$IVOZFW" check -p "$CLOSED"

# A session to a port no service exposes (sshd on 2222) is cut off by the changed table.
expect_exit 1 env SSH_CONNECTION="198.51.100.5 50000 192.0.2.1 2222" ip netns exec "$ns" "$IVOZFW" apply -p "$CLOSED"
expect_contains "2222" "$ERR" "stderr of a refused apply (port 2222)"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after a refused apply (port 2222)"

# IPv6 client inside admin's /48: fine without --force; outside it: refused.
expect_exit 0 env SSH_CONNECTION="2001:db8:a::5 50000 2001:db8::1 22" ip netns exec "$ns" "$IVOZFW" apply -p "$CLOSED"
expect_exit 0 ivz "$ns" diff -p "$CLOSED"
expect_exit 0 ivz "$ns" apply -p "$OPEN"
before=$(ruleset_raw "$ns")
expect_exit 1 env SSH_CONNECTION="2001:db8:b::5 50000 2001:db8::1 22" ip netns exec "$ns" "$IVOZFW" apply -p "$CLOSED"
expect_contains "SSH" "$ERR" "stderr of a refused apply (IPv6)"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after a refused apply (IPv6)"

# --force: applied although it cuts the session.
expect_exit 0 env SSH_CONNECTION="$SSH4" ip netns exec "$ns" "$IVOZFW" apply --force -p "$CLOSED"
expect_contains "applied" "$OUT" "apply --force"
expect_exit 0 ivz "$ns" diff -p "$CLOSED"

# With the client in admin, apply works without --force.
expect_exit 0 env SSH_CONNECTION="$SSH4" ip netns exec "$ns" "$IVOZFW" apply -p "$OPEN"
expect_contains "applied" "$OUT" "apply with the client in admin"
expect_exit 0 ivz "$ns" diff -p "$OPEN"

# An SSH client reaching the host through an open service (ssh open to everyone) is fine too.
edit_policy "$T/sshopen.json" -e 'p["services"]["ssh"] = {"tcp": [22]}'
expect_exit 0 env SSH_CONNECTION="203.0.113.50 50000 192.0.2.1 22" ip netns exec "$ns" "$IVOZFW" apply -p "$T/sshopen.json"

pass
