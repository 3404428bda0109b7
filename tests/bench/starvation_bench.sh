#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): does a big apply still get through while other writers keep
# committing? In one fresh network namespace, the shipped policy plus an N-interval address
# list (every other /64 of 2001:db8::/32, nothing merges) is applied once; then, at the same
# time and until the applies are done:
#   - `ivozfw ban ADDR` / `ivozfw unban ADDR` back to back as fast as they go (same state
#     directory, so they share the writers' lock with apply), ADDR from 203.0.113.0/24;
#   - another tool committing to its own table once a second (`nft add table ip other_I;
#     add chain ip other_I c`, one transaction);
#   - APPLIES runs of `ivozfw apply`, alternating between two versions of the big policy that
#     differ by 4 + 4 elements, so every apply really commits.
# Reported: applies ok/total with wall time and attempts each, apply p50/max, bans+unbans
# per second with failures and p50/p99 latency, foreign commits; then one summary line.
# Usage: sudo tests/bench/starvation_bench.sh [build/ivozfw] [intervals=158000] [applies=10]
# Every ivozfw command is bounded (CMD_TIMEOUT, default 90 s: apply's 60 s deadline plus a
# read); no apply starts after MAX_S seconds (default 600). FOREIGN_PERIOD=0 turns the other
# tool off (ivozfw writers only), any other value is its period in seconds (default 1).
# WATCH=1 runs `ivozfw watch` in the namespace (same state directory) during the whole run, as
# deployed: it keeps the element cache valid across other tables' commits.
# BUSY=N runs N CPU burners (busy loops) during the concurrent phase: BUSY=2 keeps both cores
# of a 2-core machine busy, as the issue's target asks.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
n=${2:-158000}
applies=${3:-10}
cmd_timeout=${CMD_TIMEOUT:-90}
max_s=${MAX_S:-600}
foreign_period=${FOREIGN_PERIOD:-1}
with_watch=${WATCH:-0}
busy=${BUSY:-0}
watch_pid=
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespace)" >&2; exit 77; }
[ -x "$bin" ] || { echo "$bin is not an executable" >&2; exit 1; }
tmp=$(mktemp -d /tmp/ivozfw-starve.XXXXXX)
ns=ivozfw-starve-$$
bg=()
cleanup() {
    rm -f "$tmp/run"
    for p in "${bg[@]}" $watch_pid; do kill "$p" 2>/dev/null; done
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns" || exit 1
ip -n "$ns" link set lo up

# Two versions of the policy: A, and B = A with its last 4 ranges traded for 4 others.
python3 - "$here/rules/ivozprovider.json" "$n" "$tmp" <<'PY' || exit 1
import json, os, re, sys
text = re.sub(r'(?m)^\s*//.*$', '', open(sys.argv[1]).read())   # the shipped file has comments
p = json.loads(text)
n, out = int(sys.argv[2]), sys.argv[3]
def net(i): return f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::/64"
a = [net(2 * i) for i in range(n)]                  # every other /64: nothing merges
b = a[:-4] + [f"2001:db8:ff:{2 * k:x}::/64" for k in range(4)]
for name, bulk in (("A", a), ("B", b)):
    p.setdefault("lists", {})["bulk"] = bulk
    path = f"{out}/{name}.json"
    with open(path, "w") as f:
        json.dump(p, f)
    os.chmod(path, 0o600)
PY

ivz() { timeout "$cmd_timeout" "$bin" --state-dir "$tmp/state" "$@"; }
us() { echo "${EPOCHREALTIME/./}"; }

t0=$(us)
ip netns exec "$ns" "$bin" --state-dir "$tmp/state" apply -p "$tmp/A.json" >"$tmp/first.out" 2>&1
rc=$?
echo "intervals: $n; first apply (fresh namespace, policy A): $(( ($(us) - t0) / 1000 )) ms, exit $rc"
[ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat "$tmp/first.out"; exit 1; }

if [ "$with_watch" = 1 ]; then
    ip netns exec "$ns" "$bin" --state-dir "$tmp/state" watch -p "$tmp/A.json" 2>"$tmp/watch.log" &
    watch_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/state/watch.json" ] && break; sleep 0.1; done
    [ -s "$tmp/state/watch.json" ] || { echo "watch did not start: $(cat "$tmp/watch.log")"; exit 1; }
    echo "ivozfw watch runs (pid $watch_pid)"
fi

# The loops run inside the namespace; each line: op start_us duration_us exit
ban_loop() {
    local i=0 a s rc op
    while [ -e "$tmp/run" ]; do
        a=203.0.113.$((i % 200 + 1))
        i=$((i + 1))
        for op in ban unban; do
            s=$(us)
            ivz "$op" "$a" -p "$tmp/A.json" >/dev/null 2>>"$tmp/ban.err"
            rc=$?
            echo "$op $s $(($(us) - s)) $rc" >>"$tmp/bans.log"
        done
    done
}
foreign_loop() {
    local i=0 s rc
    while [ -e "$tmp/run" ]; do
        s=$(us)
        nft "add table ip other_$i; add chain ip other_$i c" 2>>"$tmp/foreign.err"
        rc=$?
        echo "nft $s $(($(us) - s)) $rc" >>"$tmp/foreign.log"
        i=$((i + 1))
        sleep "$foreign_period"
    done
}
export -f ban_loop foreign_loop ivz us
export tmp bin cmd_timeout foreign_period
: >"$tmp/bans.log"
: >"$tmp/foreign.log"
: >"$tmp/applies.log"
touch "$tmp/run"
if [ "$foreign_period" != 0 ]; then
    ip netns exec "$ns" bash -c foreign_loop &
    bg+=($!)
fi
ip netns exec "$ns" bash -c ban_loop &
bg+=($!)
for _ in $(seq 1 "$busy"); do
    bash -c 'while [ -e "$1" ]; do :; done' _ "$tmp/run" &
    bg+=($!)
done
sleep 2   # both loops going
start=$(us)
for k in $(seq 1 "$applies"); do
    [ $(($(us) - start)) -lt $((max_s * 1000000)) ] || { echo "MAX_S=$max_s reached: no more applies"; break; }
    [ $((k % 2)) -eq 1 ] && pol=B || pol=A
    s=$(us)
    ip netns exec "$ns" bash -c 'ivz apply -p "$1"' _ "$tmp/$pol.json" >"$tmp/apply.$k.out" 2>"$tmp/apply.$k.err"
    rc=$?
    d=$(($(us) - s))
    att=$(grep -o '[0-9]* attempts' "$tmp/apply.$k.out" | cut -d' ' -f1)
    [ -n "$att" ] || { [ $rc -eq 0 ] || [ $rc -eq 3 ]; } && att=${att:-1} || att=-
    grep -q 'no changes' "$tmp/apply.$k.out" && att="$att (no changes!)"
    printf 'apply %2d (%s): %7d ms  exit %d  attempts %s %s\n' "$k" "$pol" "$((d / 1000))" \
        "$rc" "$att" "$( [ $rc -eq 0 ] || [ $rc -eq 3 ] || head -c 300 "$tmp/apply.$k.err" | tr '\n' ' ')"
    echo "apply $s $d $rc ${att%% *}" >>"$tmp/applies.log"
done
end=$(us)
rm -f "$tmp/run"
wait "${bg[@]}" 2>/dev/null
bg=()
if [ -n "$watch_pid" ]; then
    kill "$watch_pid" 2>/dev/null
    wait "$watch_pid" 2>/dev/null
    echo "watch: $(jq -c '{restores, drifts, commits_seen, events_lost}' "$tmp/state/watch.json")"
    watch_pid=
fi

python3 - "$tmp" "$start" "$end" <<'PY'
import sys
tmp, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
span = (end - start) / 1e6
def rows(f): return [l.split() for l in open(f"{tmp}/{f}") if l.strip()]
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")
bans = [r for r in rows("bans.log") if start <= int(r[1]) <= end]
ap = rows("applies.log")
fo = [r for r in rows("foreign.log") if start <= int(r[1]) <= end]
ok = [r for r in ap if r[3] in ("0", "3")]
lat = [int(r[2]) / 1e6 for r in ap]
print(f"concurrent phase: {span:.1f} s")
print(f"applies: {len(ok)}/{len(ap)} ok; attempts {' '.join(r[4] for r in ap)}; "
      f"wall p50 {pct(lat, .5):.2f} s, max {max(lat):.2f} s")
line = []
for op in ("ban", "unban"):
    r = [x for x in bans if x[0] == op]
    ms = [int(x[2]) / 1e3 for x in r]
    bad = sum(1 for x in r if x[3] != "0")
    good = len(r) - bad
    print(f"{op}: {len(r)} run, {good} ok ({good / span:.2f}/s), {bad} failed; latency (all runs) "
          f"p50 {pct(ms, .5):.0f} ms, p99 {pct(ms, .99):.0f} ms, max {max(ms, default=0):.0f} ms")
    line.append(f"{op} {good / span:.2f}/s ok p50 {pct(ms, .5):.0f} ms p99 {pct(ms, .99):.0f} ms {bad}/{len(r)} failed")
print(f"foreign commits: {len(fo)} ({sum(1 for x in fo if x[3] != '0')} failed)")
print(f"SUMMARY: applies {len(ok)}/{len(ap)} ok, attempts max {max((int(r[4]) for r in ap if r[4] != '-'), default='-')}, "
      f"apply p50 {pct(lat, .5):.2f} s max {max(lat):.2f} s; " + "; ".join(line) +
      f"; {len(fo)} foreign commits in {span:.0f} s")
PY
if [ -s "$tmp/ban.err" ]; then
    echo "ban/unban stderr (first lines):"
    sort "$tmp/ban.err" | uniq -c | sort -rn | head -5
fi
