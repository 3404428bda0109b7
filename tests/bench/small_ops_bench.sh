#!/usr/bin/env bash
# Benchmark (not a test): the small operations with a big table loaded. A GeoIP deny of 10
# countries from the combined real database (58,901 intervals) is applied in a fresh
# namespace; then, timed from inside that namespace (no `ip netns exec` in the figures):
#   ivozfw --version          process start, the floor of every command
#   ivozfw status             with the GeoIP database unchanged since the apply
#   ivozfw ban / unban        one address
#   nft add / delete element  the same change through nft, for comparison
#   floor add / delete        the same change as ONE raw batch of one element from a process
#                             that does nothing else (tests/bench/floor_probe.cc): process
#                             start, the commit and the socket's release, the floor of a ban
#   ivozfw status             after each nft or floor change: the cache no longer holds
# Each is run ROUNDS times; the median and the slowest wall time and the largest peak RSS
# are printed. unban pays the kernel's RCU grace period when its netlink socket is released
# after a deletion (nf_tables flushes its destroy work then); nft and the floor pay it too.
# Usage: sudo tests/bench/small_ops_bench.sh [build/ivozfw] [ROUNDS=15]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
floor=$(dirname "$bin")/ivozfw-floor
[ -x "$floor" ] || { echo "missing $floor (ninja -C build ivozfw-floor)" >&2; exit 1; }
rounds=${2:-15}
DB="$here/../shared/data/mmdb/real/geo-whois-asn-country.mmdb"
[ -r "$DB" ] || { echo "missing $DB" >&2; exit 1; }
tmp=$(mktemp -d)
ns=ivozfw-sbench-$$
trap 'ip netns del $ns 2>/dev/null; rm -rf $tmp' EXIT
ip netns add $ns

python3 "$here/tests/lib/policy.py" "$tmp/p.json" -e "p['geoip'] = {'database': '$DB', 'mode': 'deny', \
'countries': 'CN,RU,KP,IR,BR,IN,VN,NG,PK,ID'.split(','), 'max_shrink_percent': 100}"
ip netns exec $ns "$bin" --state-dir "$tmp/s" apply -p "$tmp/p.json"

# One shell inside the namespace times every run with its own clock (EPOCHREALTIME, no fork
# around the command but the command's own) and GNU time's peak RSS.
ip netns exec $ns env BIN="$bin" FLOOR="$floor" P="$tmp/p.json" S="$tmp/s" R="$rounds" TMP="$tmp" bash <<'SH'
set -u
run() {  # label command...: one run; appends "ms kib" to $TMP/r.label
    local label=$1; shift
    local t0=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o "$TMP/rss" "$@" > /dev/null 2> "$TMP/err" || { echo "$label failed:"; cat "$TMP/err"; exit 1; }
    local t1=$EPOCHREALTIME
    echo "$(echo "($t1 - $t0) * 1000" | bc -l) $(cat "$TMP/rss")" >> "$TMP/r.$label"
}
# GNU time itself: its fork and exec are in every figure; measured to subtract.
for i in $(seq "$R"); do
    run time-true true
    run version "$BIN" --version
    run status "$BIN" --state-dir "$S" status -p "$P"
    run ban "$BIN" --state-dir "$S" ban 198.51.100.7 -p "$P"
    run unban "$BIN" --state-dir "$S" unban 198.51.100.7 -p "$P"
done
# Any other tool's commit moves the generation: the element cache no longer holds, and the
# next read dumps the sets (status here, after each nft change). The floor's commits are
# another tool's too, so they run here.
for i in $(seq "$R"); do
    run floor-add "$FLOOR" add ivozfw ban_v4 198.51.100.9
    run floor-delete "$FLOOR" delete ivozfw ban_v4 198.51.100.9
    run nft-add nft add element inet ivozfw ban_v4 '{ 198.51.100.8 }'
    run nft-delete nft delete element inet ivozfw ban_v4 '{ 198.51.100.8 }'
    run status-uncached "$BIN" --state-dir "$S" status -p "$P"
done
base=$(sort -g "$TMP/r.time-true" | awk '{print $1}' | sed -n "$(( (R + 1) / 2 ))p")
printf '%-14s %10s %10s %10s   (wall minus GNU time'"'"'s own %.1f ms; %s rounds)\n' what "median ms" "max ms" "peak KiB" "$base" "$R"
median() { sort -g "$TMP/r.$1" | awk '{print $1}' | sed -n "$(( (R + 1) / 2 ))p"; }
for l in version status ban unban floor-add floor-delete nft-add nft-delete status-uncached; do
    med=$(median "$l")
    max=$(sort -g "$TMP/r.$l" | awk '{print $1}' | tail -1)
    rss=$(sort -g -k2 "$TMP/r.$l" | awk '{print $2}' | tail -1)
    printf '%-14s %10.1f %10.1f %10d\n' "$l" "$(echo "$med - $base" | bc -l)" "$(echo "$max - $base" | bc -l)" "$rss"
done
ratio() { printf '%.2f' "$(echo "($(median "$1") - $base) / ($(median "$2") - $base)" | bc -l)"; }
echo "ratio to the floor (medians): ban/floor-add $(ratio ban floor-add)  unban/floor-delete $(ratio unban floor-delete)"
echo "ratio to nft (medians): ban/nft-add $(ratio ban nft-add)  unban/nft-delete $(ratio unban nft-delete)"
SH
