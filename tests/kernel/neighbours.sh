#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ivozfw with the real neighbours of an IvozProvider host, while `ivozfw watch` runs:
#  (1) Debian's stock /etc/nftables.conf (`flush ruleset`, then table inet filter), loaded
#      with nft -f: watch puts table inet ivozfw back (one restore, the culprit named: that
#      nft), and Debian's table stays: both tables coexist.
#  (2) Debian's fail2ban with its nftables ban action (nftables-multiport), banning from a log
#      file: fail2ban's table inet f2b-table holds the ban, ivozfw's table equals the policy,
#      none of fail2ban's commits counts as drift, `ivozfw apply` and a restore of ivozfw's
#      table leave fail2ban's table byte-for-byte (handles included), and the unban and
#      fail2ban's shutdown (its table deleted) cost ivozfw nothing.
# fail2ban runs in the foreground in the test's namespace, with a private copy of its
# configuration: socket, pid file, log and database (in memory) under the temp dir.
. "$(dirname "$0")/../lib/lib.sh"

DEBIAN_CONF=/etc/nftables.conf
[ -s "$DEBIAN_CONF" ] || fail "$DEBIAN_CONF is missing: the nftables package (Debian's stock ruleset) is needed (scripts/setup.sh)"
grep -q '^flush ruleset' "$DEBIAN_CONF" || fail "$DEBIAN_CONF does not start with \`flush ruleset\` as Debian's does"
for tool in fail2ban-server fail2ban-client; do
    command -v "$tool" >/dev/null || fail "$tool is missing: the fail2ban package is needed (scripts/setup.sh)"
done
[ -r /etc/fail2ban/action.d/nftables-multiport.conf ] && [ -r /etc/fail2ban/filter.d/sshd.conf ] ||
    fail "fail2ban's nftables-multiport action or sshd filter is missing under /etc/fail2ban"

new_ns ns
new_ns ref ref
P=$T/policy.json
shipped_policy "$P"
P2=$T/policy2.json   # the same with one more service: an apply of it changes the table
edit_policy "$P2" --from "$P" -e 'p["services"]["extra"] = {"tcp": [8443]}'
W=$IVOZFW_STATE_DIR/watch.json
BANNED=203.0.113.50
wj() { jq -r "$1" "$W" 2>/dev/null; }
wj_is() { [ "$(wj "$1")" = "$2" ]; }
wj_ge() { local v; v=$(wj "$1"); [ -n "$v" ] && [ "$v" != null ] && [ "$v" -ge "$2" ]; }
in_sync() { ivz "$ns" diff -p "$P" >/dev/null 2>&1; }
tables() { in_ns "$1" nft list tables | sort; }

# Debian's file as it loads on its own: what table inet filter (and any other of its tables)
# must look like next to ivozfw's.
in_ns "$ref" nft -f "$DEBIAN_CONF" || fail "nft -f $DEBIAN_CONF in a scratch namespace"
has_table "$ref" filter || fail "$DEBIAN_CONF defines no table inet filter"
debian_filter=$(table_json "$ref" filter)
debian_tables=$(tables "$ref")

# kernel_gen: the ruleset's current generation id (NFT_MSG_GETGEN, what `nft monitor` prints
# as "# new generation N"; nft has no command that prints it).
kernel_gen() {
    in_ns "$ns" "$PY" - <<'EOF'
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)   # NETLINK_NETFILTER
s.bind((0, 0))
# NFNL_SUBSYS_NFTABLES (10) << 8 | NFT_MSG_GETGEN (16), NLM_F_REQUEST; nfgenmsg AF_UNSPEC, v0
s.send(struct.pack("=IHHII", 20, (10 << 8) | 16, 1, 1, 0) + struct.pack("=BBH", 0, 0, 0))
d = s.recv(65536)
n, t = struct.unpack_from("=IH", d)
if t != (10 << 8) | 15:   # the answer is an NFT_MSG_NEWGEN
    raise SystemExit("GETGEN: unexpected answer type %d" % t)
off = 20
while off + 4 <= n:
    alen, atype = struct.unpack_from("=HH", d, off)
    if atype & 0x3fff == 1:   # NFTA_GEN_ID, big endian
        print(struct.unpack_from(">I", d, off + 4)[0])
        raise SystemExit(0)
    off += (alen + 3) & ~3
raise SystemExit("GETGEN: no NFTA_GEN_ID")
EOF
}
# settle: wait until watch has handled every commit made so far (watch.json's generation has
# reached the kernel's), so each has been judged, and counted if it were drift.
settle() {
    local g
    g=$(kernel_gen) && [ -n "$g" ] || fail "cannot read the kernel's generation id"
    wait_until 5 wj_ge .generation "$g" || fail "watch did not reach generation $g: $(cat "$W")"
}

expect_exit 0 ivz "$ns" apply -p "$P"
ivz_table=$(table_json "$ns")
ip netns exec "$ns" "$IVOZFW" watch -p "$P" >>"$T/watch.log" 2>&1 &
WATCH_PID=$!
bg_pid "$WATCH_PID"
wait_until 10 test -s "$W" || fail "watch wrote no $W: $(cat "$T/watch.log")"
wait_until 5 wj_is .committed true || fail "watch did not take the loaded table as committed: $(cat "$W")"
settle
# restores_are N D WHEN: watch.json counts exactly N restores and D drifts.
restores_are() {
    [ "$(wj .restores)" = "$1" ] && [ "$(wj .drifts)" = "$2" ] ||
        fail "$3: watch.json has restores=$(wj .restores) drifts=$(wj .drifts), want $1 and $2; last_drift: $(wj .last_drift)
--- watch.log:
$(tail -20 "$T/watch.log")"
}
# ivozfw's table equals the policy and the table applied at the start.
ivozfw_intact() {
    expect_exit 0 ivz "$ns" diff -p "$P"
    expect_same "$ivz_table" "$(table_json "$ns")" "table inet ivozfw ($1) and the one applied"
}

# (1) Debian's /etc/nftables.conf, as `systemctl reload nftables` or an admin loads it.
r0=$(wj .restores)
d0=$(wj .drifts)
ip netns exec "$ns" nft -f "$DEBIAN_CONF" &   # $!: nft itself (ip execs it)
NFT_PID=$!
wait "$NFT_PID" || fail "nft -f $DEBIAN_CONF failed"
wait_until 10 wj_ge .restores $((r0 + 1)) || fail "watch did not restore after nft -f $DEBIAN_CONF: $(cat "$T/watch.log")"
wait_until 10 in_sync || fail "table inet ivozfw not equal to the policy after the restore"
settle
restores_are $((r0 + 1)) $((d0 + 1)) "after nft -f $DEBIAN_CONF"
expect_match "^table inet ivozfw deleted by pid $NFT_PID \(nft\)$" "$(wj .last_drift)" "watch.json's last_drift"
expect_match "^table inet ivozfw deleted by pid $NFT_PID \(nft\); restored in [0-9]+ ms" "$(wj .last_restore)" \
    "watch.json's last_restore"
has_table "$ns" filter || fail "watch removed Debian's table inet filter"
expect_same "$debian_filter" "$(table_json "$ns" filter)" "Debian's table inet filter next to ivozfw's and alone"
expect_same "$(printf '%s\ntable inet ivozfw\n' "$debian_tables" | sort)" "$(tables "$ns")" "the tables"
ivozfw_intact "restored after Debian's nftables.conf"

# (2) fail2ban, Debian's configuration with one jail: sshd, polling a log file of ours.
F=$T/f2b
cp -a /etc/fail2ban "$F" || fail "copy /etc/fail2ban"
# Only what this test says: no jail enabled by Debian's jail.d, no local overrides of the host.
rm -f "$F"/jail.d/* "$F"/fail2ban.d/* "$F"/*.local "$F"/action.d/*.local "$F"/filter.d/*.local
SOCK=$T/f2b.sock
AUTH=$T/auth.log
: >"$AUTH"
cat >"$F/fail2ban.local" <<EOF || fail "fail2ban.local"
[Definition]
loglevel = INFO
logtarget = $T/fail2ban.log
socket = $SOCK
pidfile = $T/fail2ban.pid
dbfile = :memory:
allowipv6 = auto
EOF
cat >"$F/jail.local" <<EOF || fail "jail.local"
[DEFAULT]
backend = polling
usedns = no
ignoreself = false
ignoreip = 127.0.0.1/8 ::1
banaction = nftables-multiport
banaction_allports = nftables-allports

[sshd]
enabled = true
logpath = $AUTH
maxretry = 2
findtime = 10m
bantime = 1h
EOF
f2b() { in_ns "$ns" timeout 20 fail2ban-client -c "$F" -s "$SOCK" "$@"; }
r1=$(wj .restores)
d1=$(wj .drifts)
c1=$(wj .commits_seen)
ip netns exec "$ns" fail2ban-server -f -x -c "$F" -s "$SOCK" -p "$T/fail2ban.pid" --logtarget "$T/fail2ban.log" \
    >"$T/fail2ban.out" 2>&1 &
F2B_PID=$!
bg_pid "$F2B_PID"
f2b_jail_up() { f2b status sshd | grep -q "File list:.*$AUTH"; }
wait_until 20 f2b_jail_up || fail "fail2ban's sshd jail did not start:
$(cat "$T/fail2ban.out" "$T/fail2ban.log" 2>/dev/null | tail -30)"

# Failed logins, as sshd logs them through rsyslog (now: fail2ban only counts the last 10 min).
for port in 4242 4243 4244; do
    echo "$(LC_ALL=C date '+%b %e %H:%M:%S') voip1 sshd[$port]: Failed password for root from $BANNED port $port ssh2" >>"$AUTH"
done
f2b_has() {   # f2b_has ADDR: fail2ban's set holds ADDR
    in_ns "$ns" nft -j list set inet f2b-table addr-set-sshd 2>/dev/null |
        jq -e --arg a "$1" '[.nftables[] | .set? | select(.) | .elem[]?] | any(. == $a)' >/dev/null
}
# Meanwhile ivozfw applies, again and again, a changed policy and the policy: its commits come
# between fail2ban's (add table, chain, set, rule, element). Each apply must succeed.
APPLIES=0
apply_until_banned() {
    if ! ivz "$ns" apply -p "$P2" >>"$T/applies.log" 2>&1 || ! ivz "$ns" apply -p "$P" >>"$T/applies.log" 2>&1; then
        touch "$T/apply.failed"
        return 0
    fi
    APPLIES=$((APPLIES + 2))
    f2b_has "$BANNED"
}
wait_until 30 apply_until_banned || fail "fail2ban did not ban $BANNED in its nftables table:
$(tail -20 "$T/fail2ban.log" 2>/dev/null)
$(in_ns "$ns" nft list ruleset)"
[ -e "$T/apply.failed" ] && fail "ivozfw apply failed while fail2ban was banning:
$(tail -20 "$T/applies.log")"
f2b_has "$BANNED" || fail "fail2ban did not ban $BANNED"
log "$APPLIES applies while fail2ban set up its table and banned"
expect_exit 0 f2b status sshd
expect_match "Banned IP list:.*$BANNED" "$OUT" "fail2ban-client status sshd"
settle
restores_are "$r1" "$d1" "after fail2ban's ban (fail2ban's commits are not ivozfw's table)"
wj_ge .commits_seen $((c1 + 1)) || fail "watch did not take ivozfw's applies as ivozfw's: $(cat "$W")"
ivozfw_intact "after fail2ban's ban"
has_table "$ns" filter || fail "Debian's table inet filter is gone"
expect_same "$debian_filter" "$(table_json "$ns" filter)" "Debian's table inet filter with fail2ban running"
expect_contains "reject" "$(in_ns "$ns" nft list chain inet f2b-table f2b-chain)" "fail2ban's chain"

# ivozfw apply with fail2ban's table holding a ban: not a byte of it changes (handles included).
foreign_before=$(foreign_json "$ns")
expect_exit 0 ivz "$ns" apply -p "$P"
expect_same "$foreign_before" "$(foreign_json "$ns")" "fail2ban's and Debian's tables before and after ivozfw apply"
settle
restores_are "$r1" "$d1" "after ivozfw apply"
ivozfw_intact "after an apply with fail2ban's ban"

# A restore (a hand-flushed chain of ivozfw's) with fail2ban's ban: only ivozfw's table is written.
in_ns "$ns" nft flush chain inet ivozfw input || fail "flush chain"
wait_until 10 wj_ge .restores $((r1 + 1)) || fail "watch did not restore the flushed chain: $(tail -5 "$T/watch.log")"
wait_until 10 in_sync || fail "table inet ivozfw not equal to the policy after the restore"
settle
restores_are $((r1 + 1)) $((d1 + 1)) "after a flushed chain"
expect_same "$foreign_before" "$(foreign_json "$ns")" "fail2ban's and Debian's tables before and after watch's restore"
f2b_has "$BANNED" || fail "the ban is gone from fail2ban's table after watch's restore"
ivozfw_intact "restored with fail2ban's ban"

# fail2ban's unban: gone from its table, ivozfw's untouched, no drift.
expect_exit 0 f2b set sshd unbanip "$BANNED"
f2b_lost() { ! f2b_has "$BANNED"; }
wait_until 10 f2b_lost || fail "fail2ban's unban left $BANNED in its table"
has_table "$ns" f2b-table || fail "fail2ban's table went away with the unban"
settle
restores_are $((r1 + 1)) $((d1 + 1)) "after fail2ban's unban"
ivozfw_intact "after fail2ban's unban"

# fail2ban stops: its actionstop deletes its rule, set and table; ivozfw's stays, no drift.
expect_exit 0 f2b stop
f2b_gone() { ! kill -0 "$F2B_PID" 2>/dev/null && ! has_table "$ns" f2b-table; }
wait_until 20 f2b_gone || fail "fail2ban did not stop and remove its table"
settle
restores_are $((r1 + 1)) $((d1 + 1)) "after fail2ban stopped"
ivozfw_intact "after fail2ban stopped"
expect_same "$debian_filter" "$(table_json "$ns" filter)" "Debian's table inet filter at the end"
kill -0 "$WATCH_PID" 2>/dev/null || fail "watch died: $(tail -20 "$T/watch.log")"
[ "$(wj .failures)" = 0 ] || fail "watch counted failures: $(cat "$W")"
pass
