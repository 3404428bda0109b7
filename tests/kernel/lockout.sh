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

# Without SSH_CONNECTION (sudo's env_reset, `su -`, a console): the session is found in the
# kernel's socket table. A real TCP connection from a client namespace (198.51.100.5) to
# port 22 of this namespace, held open, stands for sshd's session.
command -v sudo >/dev/null || fail "sudo is needed (apt-get install sudo)"
new_ns cl client
link_pair "$ns" "$cl" 198.51.100.5/24 2001:db8::5/64
edit_policy "$T/both.json" -e 'p["lists"]["admin"] = ["198.51.100.0/29", "2001:db8::5"]'
expect_exit 0 ivz "$ns" apply -p "$T/both.json"   # both clients are admins: they can connect
in_ns "$ns" "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("::", 22)); s.listen(4)
open(sys.argv[1], "w").close()
conns = [s.accept()[0] for _ in range(2)]
time.sleep(120)' "$T/sshd.ready" &
bg_pid $!
wait_until 10 test -e "$T/sshd.ready" || fail "the stand-in sshd did not start"
for a in "198.51.100.5 192.0.2.1" "2001:db8::5 2001:db8::1"; do
    read -r src dst <<<"$a"
    in_ns "$cl" "$PY" -c '
import socket, sys, time
c = socket.create_connection((sys.argv[2], 22), source_address=(sys.argv[1], 0)); time.sleep(120)' "$src" "$dst" &
    bg_pid $!
done
wait_until 10 bash -c "[ \$(ip netns exec $ns ss -Htn state established '( sport = :22 )' | wc -l) -ge 2 ]" ||
    fail "the two SSH stand-in sessions are not established: $(in_ns "$ns" ss -tn)"
before=$(ruleset_raw "$ns")
# sudo and su - drop IVOZFW_STATE_DIR too: the state directory is named on the command line,
# never the host's /var/lib/ivozfw.
SD=(--state-dir "$IVOZFW_STATE_DIR")
host_state=$([ -e /var/lib/ivozfw ] && echo there)
expect_exit 1 ip netns exec "$ns" sudo "$IVOZFW" "${SD[@]}" apply -p "$CLOSED"
expect_contains "refusing to apply: 2 SSH sessions would be cut off" "$ERR" "apply through sudo"
expect_contains "from 198.51.100.5 to port 22" "$ERR" "apply through sudo (IPv4 session)"
expect_contains "from 2001:db8::5 to port 22" "$ERR" "apply through sudo (IPv6 session)"
expect_exit 1 ip netns exec "$ns" su - root -c "$IVOZFW --state-dir $IVOZFW_STATE_DIR apply -p $CLOSED"
expect_contains "refusing to apply: 2 SSH sessions would be cut off" "$ERR" "apply through su -"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after applies refused through sudo and su -"
# A policy that keeps them both applies through sudo (the admin list reordered: a real change).
edit_policy "$T/both2.json" -e 'p["lists"]["admin"] = ["2001:db8::5", "198.51.100.0/29", "192.0.2.99"]'
expect_exit 0 ip netns exec "$ns" sudo "$IVOZFW" "${SD[@]}" apply -p "$T/both2.json"
expect_contains "applied" "$OUT" "apply through sudo keeping both sessions"
[ -z "$host_state" ] && [ -e /var/lib/ivozfw ] && fail "the test created the host's /var/lib/ivozfw"

pass
