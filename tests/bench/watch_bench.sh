#!/usr/bin/env bash
# Benchmark (not a test): how fast `ivozfw watch` puts the table back after `nft flush
# ruleset`, and what it costs while nothing happens.
#   - restore latency: N flushes, each timed from the flush's commit to the restore's commit
#     as the kernel's nftables events show them (flush_latency.py), p50/p99/max; against
#     `nft -f` of the same table (`ivozfw export`) into an empty namespace, the same work by
#     the standard tool (process start included, which the watch does not pay);
#   - idle: watch's CPU time over IDLE seconds with nothing changing (the ban poll only), as
#     a share of one core; its peak RSS.
# The shipped policy plus an optional INTERVALS-interval list (the size of the table).
# Back-off is widened for the run (IVOZFW_WATCH_TIMING), or 100 flushes would trip it.
# Usage: sudo tests/bench/watch_bench.sh [build/ivozfw] [flushes=100] [intervals=0] [idle_s=60]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
n=${2:-100}
intervals=${3:-0}
idle=${4:-60}
tmp=$(mktemp -d)
ns=ivozfw-wbench-$$ nsB=ivozfw-wbench-b-$$
trap 'kill $wpid 2>/dev/null; ip netns del $ns 2>/dev/null; ip netns del $nsB 2>/dev/null; rm -rf $tmp' EXIT
wpid=
ip netns add $ns; ip netns add $nsB
python3 - "$here/rules/ivozprovider.json" "$intervals" > "$tmp/policy.json" <<'PY'
import json, re, sys
p = json.loads(re.sub(r'(?m)^\s*//.*$', '', open(sys.argv[1]).read()))
n = int(sys.argv[2])
def ip(v): return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))
if n: p.setdefault("lists", {})["bulk"] = [f"{ip((10 << 24) + 8*i)}/30" for i in range(n)]
print(json.dumps(p))
PY
chmod 600 "$tmp/policy.json"
export IVOZFW_STATE_DIR=$tmp/state
"$bin" export -p "$tmp/policy.json" > "$tmp/export.nft"
ip netns exec $ns "$bin" apply -p "$tmp/policy.json" >/dev/null
for i in 1 2 3; do ip netns exec $ns "$bin" ban "192.0.2.$((100 + i))" --for 1h -p "$tmp/policy.json" >/dev/null; done

IVOZFW_WATCH_TIMING=100000,1000,1000 ip netns exec $ns "$bin" watch -p "$tmp/policy.json" 2>"$tmp/watch.log" &
wpid=$!
for _ in $(seq 100); do [ -s "$tmp/state/watch.json" ] && break; sleep 0.1; done
[ -s "$tmp/state/watch.json" ] || { echo "watch did not start: $(cat "$tmp/watch.log")" >&2; exit 1; }

# Idle first: nothing but the ban poll.
ticks() { awk '{print $14 + $15}' "/proc/$wpid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s.%N)
sleep "$idle"
t1=$(ticks); s1=$(date +%s.%N)
python3 -c "import sys; t,hz,s=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'idle: {t/hz:.3f} s CPU in {s:.1f} s = {100*t/hz/s:.3f}% of a core (target <= 0.5%)')" \
    $((t1 - t0)) "$hz" "$(echo "$s1 - $s0" | bc)"

# Phase B first, with watch the only listener: N flushes, each waited for in watch's log;
# watch's own figure (event read -> commit acked). A listener with a big buffer (phase A's)
# makes the kernel's delivery of a big restore's notifications slower for everyone.
for _ in $(seq "$n"); do
    c=$(grep -c "restored in" "$tmp/watch.log" || true)
    ip netns exec $ns nft flush ruleset
    for _ in $(seq 400); do [ "$(grep -c "restored in" "$tmp/watch.log" || true)" -gt "$c" ] && break; sleep 0.025; done
done
grep -o "restored in [0-9]* ms" "$tmp/watch.log" | awk '{print $3}' > "$tmp/alone"
python3 - "$tmp/alone" <<'PY'
import sys
v = sorted(float(l) for l in open(sys.argv[1]))
p = lambda q: v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]
print(f"watch alone ({len(v)} flushes, its own figure: event read -> commit acked): p50 {p(50):.0f} ms  p99 {p(99):.0f} ms  max {v[-1]:.0f} ms")
PY
before_a=$(grep -c "restored in" "$tmp/watch.log" || true)
# Phase A: end to end, timed on the kernel's event stream by a second listener.
ip netns exec $ns python3 "$here/tests/bench/flush_latency.py" "$n" 50 > "$tmp/lat"
/usr/bin/time -f "%e %M" -o "$tmp/t" ip netns exec $nsB nft -f "$tmp/export.nft"
read -r nftw nftr < "$tmp/t"
python3 - "$tmp/lat" "$nftw" "$intervals" <<'PY'
import sys
lat = sorted(float(l) for l in open(sys.argv[1]))
nft = float(sys.argv[2]) * 1000
def pct(p): return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
print(f"table: shipped policy + {sys.argv[3]} intervals; flushes: {len(lat)}")
print(f"restore latency (flush commit -> restore commit): p50 {pct(50):.1f} ms  p99 {pct(99):.1f} ms  max {lat[-1]:.1f} ms  (target p99 <= 1000 ms)")
print(f"nft -f of the same table into an empty namespace: {nft:.1f} ms  ratio p50/nft-f {pct(50)/nft:.2f}")
PY
grep -o "restored in [0-9]* ms" "$tmp/watch.log" | tail -n +$((before_a + 1)) | awk "{print \$3}" | tr "\n" " " | sed "s/^/watch restore times in order (ms): /"; echo
grep -c "restored in" "$tmp/watch.log" | sed 's/^/restores logged by watch (both phases): /'
grep -o "restored in [0-9]* ms" "$tmp/watch.log" | tail -n +$((before_a + 1)) | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print "watch'"'"'s own figure (event read -> commit acked): p50 " a[int(NR*0.5)+1] " ms, max " a[NR] " ms"}'
grep -q "3 bans with their time left" "$tmp/watch.log" && echo "bans restored: 3 on every restore"
echo "watch peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$wpid/status)"
