#!/usr/bin/env bash
# Benchmark (not a test): GeoIP on the real combined database (~1M networks).
#  (a) full load, mmdb -> kernel with `ivozfw apply`, deny 10 countries and allow ["ES"],
#      vs `nft -f` of the same networks (deny: the raw networks, one elements = {...} with
#      auto-merge; allow: the drop intervals, as nft cannot complement) into a fresh namespace.
#      Both also against the floor (ivozfw-floor insert: the walk plus one batch of the merged
#      intervals into a fresh namespace, nothing else) and the walk alone.
#  (b) refresh with a database where ~1% of the IPv4 networks changed country (both written
#      with the Perl writer): time vs the full load, and elements sent vs the interval delta.
# Usage: sudo tests/bench/geoip_bench.sh [build/ivozfw]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
DB="$here/../shared/data/mmdb/real/geo-whois-asn-country.mmdb"
tmp=$(mktemp -d); : > "$tmp/nss"
trap 'for n in $(cat $tmp/nss 2>/dev/null); do ip netns del $n 2>/dev/null; done; rm -rf $tmp' EXIT
fresh() { local n=ivozfw-gbench-$$-$(wc -l < $tmp/nss 2>/dev/null || echo 0); ip netns add $n; echo $n >> $tmp/nss; echo $n; }
PY=/usr/bin/python3
DENY="CN,RU,KP,IR,BR,IN,VN,NG,PK,ID"

measure() {  # label cmd... ; prints and stores "wall rss"
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > "$tmp/out.$label"
    read -r wall rss < "$tmp/t"
    printf '  %-24s %8.3f s %9d KiB   %s\n' "$label" "$wall" "$rss" "$(head -c 150 "$tmp/out.$label" | tr '\n' ' ')"
    echo "$wall $rss" > "$tmp/m.$label"
}
median() {  # label: the median wall and median peak RSS of label.1..3 become label's
    local w r
    w=$(for i in 1 2 3; do cut -d' ' -f1 "$tmp/m.$1.$i"; done | sort -g | sed -n 2p)
    r=$(for i in 1 2 3; do cut -d' ' -f2 "$tmp/m.$1.$i"; done | sort -g | sed -n 2p)
    echo "$w $r" > "$tmp/m.$1"
    printf '  %-24s %8.3f s %9d KiB   median of 3\n' "$1" "$w" "$r"
}
ratio() { $PY -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$@"; }
compare() {  # ivozfw-label nft-label
    read -r aw ar < "$tmp/m.$1"; read -r nw nr < "$tmp/m.$2"
    echo "  => $1 / $2: wall $(ratio "$aw" "$nw"), peak RSS $(ratio "$ar" "$nr") (issue 12 target: RSS <= 0.5)"
}
# The floor (tests/bench/floor_probe.cc, built beside the binary): the walk and one batch of
# the merged intervals, nothing else. Same namespace setup as the others.
floor=$(dirname "$bin")/ivozfw-floor
[ -x "$floor" ] || { echo "missing $floor (built with the tests: ninja ivozfw-floor)" >&2; exit 1; }
compare_floor() {  # ivozfw-label floor-label
    read -r aw ar < "$tmp/m.$1"; read -r fw fr < "$tmp/m.$2"
    echo "  => $1 / $2: wall $(ratio "$aw" "$fw") (issue 12 target: <= 1.25), peak RSS $(ratio "$ar" "$fr")"
}
policy() {  # out mode countries db
    $PY "$here/tests/lib/policy.py" "$1" -e "p['geoip'] = {'database': '$4', 'mode': '$2', 'countries': '$3'.split(','), 'max_shrink_percent': 100}"
}

echo "== raw networks of $DB"
perl "$here/tests/bench/geoip_nets.pl" "$DB" > "$tmp/nets.txt"
$PY - "$tmp/nets.txt" "$DENY" <<'PY'
import sys
nets = [l.split() for l in open(sys.argv[1]) if l.strip()]
deny = set(sys.argv[2].split(","))
v4 = sum(1 for n in nets if ":" not in n[0]); v6 = len(nets) - v4
d4 = sum(1 for n in nets if ":" not in n[0] and len(n) > 1 and n[1] in deny)
d6 = sum(1 for n in nets if ":" in n[0] and len(n) > 1 and n[1] in deny)
print(f"  networks: {v4} IPv4 + {v6} IPv6; deny list: {d4} IPv4 + {d6} IPv6 raw networks")
PY

for mode in deny allow; do
    countries=$DENY; [ $mode = allow ] && countries=ES
    echo "== (a) full load, $mode $countries"
    policy "$tmp/$mode.json" $mode "$countries" "$DB"
    if [ $mode = deny ]; then
        # nft's own input: the same policy's table, GeoIP sets filled with the raw networks.
        "$bin" export -p "$tmp/$mode.json" > "$tmp/$mode.nft"
        $PY - "$tmp/nets.txt" "$DENY" "$tmp/$mode.nft" <<'PY'
import re, sys
nets = [l.split() for l in open(sys.argv[1]) if l.strip()]
deny = set(sys.argv[2].split(","))
text = open(sys.argv[3]).read()
for fam, sep in (("v4", False), ("v6", True)):
    raw = [n[0] for n in nets if len(n) > 1 and n[1] in deny and (":" in n[0]) == sep]
    block = re.search(r"\tset geoip_%s \{.*?\n\t\}" % fam, text, re.S).group(0)
    head = block.split("\n")[0:2]
    new = "\n".join(head) + "\n\t\tauto-merge\n\t\telements = { " + ", ".join(raw) + " }\n\t}"
    text = text.replace(block, new)
open(sys.argv[3], "w").write(text)
PY
    else
        "$bin" export -p "$tmp/$mode.json" > "$tmp/$mode.nft"
    fi
    # Three rounds, each command into a fresh namespace, interleaved; the medians are compared
    # (a single run is at the mercy of the kernel tearing down earlier namespaces beside it).
    for r in 1 2 3; do
        nsA=$(fresh); nsB=$(fresh); nsC=$(fresh)
        measure "nft-f-$mode.$r" ip netns exec $nsB nft -f "$tmp/$mode.nft"
        measure "ivozfw-apply-$mode.$r" ip netns exec $nsA "$bin" --state-dir "$tmp/s-$mode-$r" apply -p "$tmp/$mode.json"
        measure "floor-$mode.$r" ip netns exec $nsC "$floor" insert "$tmp/$mode.json"
    done
    for l in nft-f ivozfw-apply floor; do median "$l-$mode"; done
    measure "walk-only-$mode" "$floor" walk "$tmp/$mode.json"
    measure "netns-exec-true" ip netns exec $nsC true
    compare "ivozfw-apply-$mode" "nft-f-$mode"
    compare_floor "ivozfw-apply-$mode" "floor-$mode"
    compare_floor "nft-f-$mode" "floor-$mode"
    echo "  intervals in the kernel: v4 $(ip netns exec $nsA nft -j list set inet ivozfw geoip_v4 | jq '[.nftables[].set.elem? // empty | length] | add') v6 $(ip netns exec $nsA nft -j list set inet ivozfw geoip_v6 | jq '[.nftables[].set.elem? // empty | length] | add')"
done

echo "== (b) refresh after ~1% of the IPv4 networks changed country"
$PY - "$tmp/nets.txt" "$tmp/a.args" "$tmp/b.args" <<'PY'
import random, sys
nets = [l.split() for l in open(sys.argv[1]) if l.strip() and ":" not in l.split()[0] and len(l.split()) > 1]
rnd = random.Random(7)
codes = sorted({n[1] for n in nets})
with open(sys.argv[2], "w") as a, open(sys.argv[3], "w") as b:
    for net, cc in nets:
        a.write(f"{net}={cc}\n")
        b.write(f"{net}={rnd.choice(codes) if rnd.random() < 0.01 else cc}\n")
PY
perl "$here/tests/lib/mkmmdb.pl" "$tmp/a.mmdb" --epoch 1700000000 --schema iplocation --from "$tmp/a.args"
perl "$here/tests/lib/mkmmdb.pl" "$tmp/b.mmdb" --epoch 1700000100 --schema iplocation --from "$tmp/b.args"
policy "$tmp/ra.json" deny "$DENY" "$tmp/a.mmdb"
policy "$tmp/rb.json" deny "$DENY" "$tmp/b.mmdb"
ns=$(fresh)
measure full-load ip netns exec $ns "$bin" --state-dir "$tmp/s-r" apply -p "$tmp/ra.json"
measure refresh-1pct ip netns exec $ns "$bin" --state-dir "$tmp/s-r" geoip refresh -p "$tmp/rb.json"
# A refresh must walk the whole new database whatever changed: the walk is its floor.
measure walk-only-refresh "$floor" walk "$tmp/rb.json"
read -r fw _ < "$tmp/m.full-load"; read -r rw _ < "$tmp/m.refresh-1pct"; read -r ww _ < "$tmp/m.walk-only-refresh"
echo "  => refresh / full load: wall $(ratio "$rw" "$fw") (issue 3's target <= 0.1); refresh / walk-only: wall $(ratio "$rw" "$ww")"
sent=$(grep -o '[0-9]* elements sent' "$tmp/out.refresh-1pct" | cut -d' ' -f1)
"$bin" export -p "$tmp/ra.json" > "$tmp/ra.nft"; "$bin" export -p "$tmp/rb.json" > "$tmp/rb.nft"
delta=$($PY - "$tmp/ra.nft" "$tmp/rb.nft" <<'PY'
import re, sys
def elems(path):
    text = open(path).read()
    out = set()
    for fam in ("v4", "v6"):
        m = re.search(r"\tset geoip_%s \{.*?elements = \{(.*?)\}" % fam, text, re.S)
        if m: out |= {fam + e.strip() for e in m.group(1).split(",")}
    return out
a, b = elems(sys.argv[1]), elems(sys.argv[2])
print(len(a ^ b))
PY
)
echo "  elements sent: $sent; independent interval delta (symmetric difference of the exports): $delta"
