#!/usr/bin/env bash
# Benchmark (not a test): the shipped policy plus an N-interval address list.
#   ivozfw apply  vs  nft -f of `ivozfw export`, each into a fresh network namespace,
#   then a no-op apply and a diff on the loaded table. Wall time and peak RSS, as ratios.
# Usage: sudo tests/bench/apply_bench.sh [build/ivozfw] [intervals=200000]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/build/ivozfw}
floor=$(dirname "$bin")/ivozfw-floor
[ -x "$floor" ] || { echo "missing $floor (ninja -C build ivozfw-floor)" >&2; exit 1; }
n=${2:-200000}
tmp=$(mktemp -d)
nsA=ivozfw-bench-a-$$ nsB=ivozfw-bench-b-$$
trap 'ip netns del $nsA 2>/dev/null; ip netns del $nsB 2>/dev/null; rm -rf $tmp' EXIT
ip netns add $nsA; ip netns add $nsB

# N disjoint, non-adjacent ranges (every other /30 from 10.0.0.0): nothing merges.
python3 - "$here/rules/ivozprovider.json" "$n" > "$tmp/policy.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'(?m)^\s*//.*$', '', text)           # the shipped file has comments
p = json.loads(text)
n = int(sys.argv[2])
base = 10 << 24
def ip(v): return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))
p.setdefault("lists", {})["bulk"] = [f"{ip(base + 8*i)}/30" for i in range(n)]
print(json.dumps(p))
PY
chmod 600 "$tmp/policy.json"
"$bin" export -p "$tmp/policy.json" > "$tmp/export.nft"

measure() {  # label, command... -> "label wall_s rss_kb"
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > /dev/null
    read -r wall rss < "$tmp/t"
    printf '%-28s %8.3f s %9d KiB\n' "$label" "$wall" "$rss"
    echo "$wall $rss" > "$tmp/$label"
}
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.3f}' if b else 'inf')" "$1" "$2"; }

echo "intervals: $n   export script: $(du -h "$tmp/export.nft" | cut -f1)"
measure nft-f             ip netns exec $nsB nft -f "$tmp/export.nft"
measure ivozfw-apply      ip netns exec $nsA "$bin" --state-dir "$tmp/s" apply -p "$tmp/policy.json"
measure ivozfw-apply-noop ip netns exec $nsA "$bin" --state-dir "$tmp/s" apply -p "$tmp/policy.json"
measure ivozfw-diff       ip netns exec $nsA "$bin" --state-dir "$tmp/s" diff -p "$tmp/policy.json"
measure ivozfw-diff-nocache ip netns exec $nsA "$bin" --state-dir "$tmp/empty" diff -p "$tmp/policy.json"
# The floor of a diff with no cache: one dump of the table's elements, received and
# dropped unparsed (ivozfw-floor dump). `nft list table` dumps them the same way. The kernel
# restarts its set walk for every chunk of at most 32 KiB, so the dump is quadratic in a
# set's size and the floor is the kernel's.
measure floor-dump        ip netns exec $nsA "$floor" dump ivozfw
measure nft-list-table    ip netns exec $nsA nft list table inet ivozfw
read -r nw nr < "$tmp/nft-f"; read -r aw ar < "$tmp/ivozfw-apply"
echo "ratio apply/nft-f: wall $(ratio "$aw" "$nw")  peak RSS $(ratio "$ar" "$nr")"
read -r dw dr < "$tmp/ivozfw-diff-nocache"; read -r lw lr < "$tmp/nft-list-table"; read -r fw fr < "$tmp/floor-dump"
echo "ratio diff-nocache/floor-dump: wall $(ratio "$dw" "$fw")  peak RSS $(ratio "$dr" "$fr")"
echo "ratio diff-nocache/nft-list-table: wall $(ratio "$dw" "$lw")  peak RSS $(ratio "$dr" "$lr")"
