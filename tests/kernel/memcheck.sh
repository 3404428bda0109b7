#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real netlink path under valgrind memcheck, in a namespace of its own: an apply whose
# batch spans several 2 MiB pages (70,000 intervals), a no-op apply, check --kernel (a batch
# the kernel aborts), diff from the element cache and with no cache (the dump), ban, bans,
# unban, status, remove. Any invalid read or write, any decision on an uninitialised value
# and any uninitialised byte handed to the kernel (sendmsg: libmnl 1.0.4 does not write
# attribute padding, so the batch is zeroed ahead) fails the test.
. "$(dirname "$0")/../lib/lib.sh"
command -v valgrind >/dev/null || fail "valgrind is missing (scripts/setup.sh installs it)"

new_ns ns
edit_policy "$T/p.json" -e "
p['lists']['bulk'] = ['10.%d.%d.%d/30' % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(0, 8 * 70000, 8)]"

n=0
# vg WANT ARGS... : ivozfw ARGS under memcheck in the namespace; it must exit WANT and
# valgrind must report nothing.
vg() {
    local want=$1
    shift
    n=$((n + 1))
    IVZ_VG_LOG="$T/vg.$n.log"
    run ip netns exec "$ns" timeout 600 valgrind -q --error-exitcode=99 --log-file="$IVZ_VG_LOG" \
        "$IVOZFW" "$@"
    [ -s "$IVZ_VG_LOG" ] && fail "memcheck, ivozfw $*:
$(head -60 "$IVZ_VG_LOG")"
    [ "$RC" = "$want" ] || fail "ivozfw $* exited $RC, not $want:
$(printf '%s\n' "$ERR" | head -20)"
    log "ivozfw $*: exit $RC, memcheck clean"
}

vg 0 apply -p "$T/p.json"
expect_match "applied [0-9]+ changes \(7[0-9]{4} set elements\) in one transaction \(([0-9]+) netlink messages, ([0-9]+) bytes\)" "$OUT" "apply"
bytes=$(printf '%s\n' "$OUT" | sed -n 's/.*messages, \([0-9]*\) bytes).*/\1/p')
[ "$bytes" -gt $((2 * 1024 * 1024)) ] || fail "the batch ($bytes bytes) fits one 2 MiB page: the test needs several"
vg 0 apply -p "$T/p.json"
expect_contains "no changes" "$OUT" "the second apply"
vg 0 check --kernel -p "$T/p.json"
vg 0 diff -p "$T/p.json"
vg 0 --state-dir "$T/empty" diff -p "$T/p.json"
vg 0 ban 198.51.100.7 -p "$T/p.json"
vg 0 bans -p "$T/p.json"
expect_contains "198.51.100.7" "$OUT" "bans"
vg 0 unban 198.51.100.7 -p "$T/p.json"
vg 0 status -p "$T/p.json"
vg 0 remove --table ivozfw   # no policy file here: the table is named
has_table "$ns" && fail "remove left the table"
pass
