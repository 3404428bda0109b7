#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A list of 500,000 non-adjacent /32s (set contents only, never traffic) goes in with one
# apply (one batch split over many messages), reads back complete, diff is clean afterwards,
# and a second apply removing half of them works. Prints timings.
# Slow by nature (~1.5-2 min): the kernel's dump of a big interval set restarts its tree walk
# for every netlink message, so each full read (nft's or ivozfw's) costs ~20 s at 500,000.
# IVOZFW_LARGE_N=50000 runs a smaller version.
. "$(dirname "$0")/../lib/lib.sh"

N=${IVOZFW_LARGE_N:-500000}
new_ns ns
# every other address from 10.0.0.0: 10.0.0.0, 10.0.0.2, ... (never adjacent, so never merged)
gen() {
    "$PY" "$LIB_DIR/policy.py" "$1" -e "
n, step = $N, $2
p['lists']['bulk'] = ['10.%d.%d.%d' % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(0, 2 * n, 2 * step)]
" || fail "cannot generate $1"
}
gen "$T/full.json" 1
gen "$T/half.json" 2

# One dump of the set (the kernel's dump of a big interval set is slow: read it once).
dump_v4() {
    in_ns "$ns" nft -j list set inet ivozfw bulk_v4 >"$T/dump.json" || fail "nft -j list set bulk_v4"
}
count_v4() { jq '[.nftables[] | .set? | select(.) | .elem // [] | length][0]' "$T/dump.json"; }
# has_v4 ADDR : ADDR is an element of the last dump (a single address, not a range)
has_v4() { jq -e --arg a "$1" '[.nftables[] | .set? | select(.) | .elem[]? | select(. == $a)] | length == 1' "$T/dump.json" >/dev/null; }
ip_of() { "$PY" -c "i = $1; print('10.%d.%d.%d' % ((i >> 16) & 255, (i >> 8) & 255, i & 255))"; }

t=$(now_ms)
expect_exit 0 ivz "$ns" check -p "$T/full.json"
log "check: $(($(now_ms) - t)) ms"

t=$(now_ms)
expect_exit 0 ivz "$ns" apply -p "$T/full.json"
log "apply $N elements: $(($(now_ms) - t)) ms: $OUT"
expect_match "\([0-9]+ set elements\)" "$OUT" "stdout of apply"

t=$(now_ms)
dump_v4
got=$(count_v4)
log "nft -j list set ($got elements): $(($(now_ms) - t)) ms"
[ "$got" == "$N" ] || fail "bulk_v4 holds $got elements, expected $N"
last=$(ip_of "2 * ($N - 1)")
has_v4 10.0.0.0 || fail "10.0.0.0 is not in bulk_v4"
has_v4 "$last" || fail "$last (the last one) is not in bulk_v4"
has_v4 10.0.0.1 && fail "10.0.0.1 (a gap) is in bulk_v4"
has_v4 "$(ip_of "2 * $N")" && fail "$(ip_of "2 * $N") (past the end) is in bulk_v4"

t=$(now_ms)
expect_exit 0 ivz "$ns" diff -p "$T/full.json"
log "diff (no changes): $(($(now_ms) - t)) ms"

t=$(now_ms)
expect_exit 0 ivz "$ns" apply -p "$T/half.json"
log "apply removing $((N / 2)): $(($(now_ms) - t)) ms: $OUT"
expect_match "applied .*\($((N / 2))[0-9]{0,2} set elements\)" "$OUT" "stdout of the apply removing half"
dump_v4
got=$(count_v4)
[ "$got" == "$((N / 2))" ] || fail "bulk_v4 holds $got elements after removing half, expected $((N / 2))"
has_v4 10.0.0.2 && fail "10.0.0.2 still in bulk_v4 after the second apply"
has_v4 10.0.0.4 || fail "10.0.0.4 missing from bulk_v4 after the second apply"

pass
