#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): N companies x 5 ranges (non-adjacent /30s, nothing merges), from a
# directory of <id>.json files and from MariaDB (private server, unix socket).
#   first sync, no-op sync, sync after one company changed (elements sent must equal the
#   delta): wall time and peak RSS; the source read (database round trip) reported apart;
#   ratios against `nft -f` of the same elements into a fresh namespace.
# Usage: sudo tests/bench/companies_bench.sh [build/ivozfw] [companies=10000]
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
N=${2:-10000}
set -- "$bin"
. "$here/tests/lib/lib.sh"
. "$LIB_DIR/mariadb.sh"
set +e

D="$T/companies.d"
mkdir -p "$D"
# company i, range k: 10.0.0.0 + 8 * (5i + k), /30
"$PY" - "$N" "$D" "$T/rows.sql" "$T/full.nft" <<'PY'
import json, sys
n, d, sql, nft = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def ip(v): return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))
def ranges(i): return [f"{ip((10 << 24) + 8 * (5 * i + k))}/30" for k in range(5)]
with open(sql, "w") as out:
    for start in range(0, n, 1000):
        ids = range(start + 1, min(n, start + 1000) + 1)
        out.write("INSERT INTO Companies (id, brandId, name, nif, postalAddress, postalCode, town, province, country)"
                  " VALUES " + ",".join(f"({i},1,'c{i}','B','s','0','t','p','c')" for i in ids) + ";\n")
        out.write("INSERT INTO kam_users_address (companyId, source_address) VALUES " +
                  ",".join(f"({i},'{r}')" for i in ids for r in ranges(i)) + ";\n")
for i in range(1, n + 1):
    with open(f"{d}/{i}.json", "w") as f:
        json.dump({"id": i, "name": f"c{i}", "ranges": ranges(i)}, f)
with open(nft, "w") as f:
    f.write("table inet ivozfw {\n set companies_v4 {\n  type ipv4_addr\n  flags interval\n  elements = {\n")
    f.write(",\n".join(r for i in range(1, n + 1) for r in ranges(i)))
    f.write("\n  }\n }\n}\n")
PY
[ $? -eq 0 ] || fail "cannot generate the data"
db_start
t=$(now_ms)
mariadb --no-defaults -S "$DB_SOCK" -u root ivozprovider <"$T/rows.sql" || fail "loading rows"
log "loaded $N companies into MariaDB in $(($(now_ms) - t)) ms"
db_creds "$T/db.cnf"

# The policy's own source is an empty directory: apply creates empty company sets.
mkdir -p "$T/empty.d"
edit_policy "$T/policy.json" -e "p['companies'] = {'source': '$T/empty.d'}"

measure() {  # label ns cmd... -> prints a line; wall and RSS kept in $T/m.<label>
    local label=$1 ns=$2
    shift 2
    /usr/bin/time -f "%e %M" -o "$T/time" ip netns exec "$ns" "$@" >"$T/out.$label" 2>"$T/err.$label"
    local rc=$?
    read -r wall rss <"$T/time"
    echo "$wall $rss" >"$T/m.$label"
    printf '%-26s %7.3f s %8d KiB  exit %d  %s\n' "$label" "$wall" "$rss" "$rc" \
        "$(grep -o '+[0-9]* -[0-9]* elements' "$T/out.$label") $(grep -o 'read in [0-9.]* ms' "$T/out.$label")"
}
ratio() { "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'inf')" "$1" "$2"; }
swap17() {  # swap17 OLD NEW : company 17 (database and file) trades one range for another
    db_sql "UPDATE kam_users_address SET source_address = '$2' WHERE companyId = 17 AND source_address = '$1'"
    jq -c --arg o "$1" --arg n "$2" '.ranges = [.ranges[] | if . == $o then $n else . end]' "$D/17.json" \
        >"$D/17.json.new" && mv "$D/17.json.new" "$D/17.json"
}

echo "companies: $N x 5 ranges = $((N * 5)) intervals"
new_ns nsref ref
measure nft-f-full "$nsref" nft -f "$T/full.nft"
printf 'delete element inet ivozfw companies_v4 { 10.0.2.168/30 }\nadd element inet ivozfw companies_v4 { 172.16.0.0/30 }\n' >"$T/delta.nft"
measure nft-f-delta "$nsref" nft -f "$T/delta.nft"

for src in dir db; do
    [ $src = dir ] && S=$D || S="mysql:$T/db.cnf"
    new_ns ns "$src"
    ivz "$ns" apply -p "$T/policy.json" >/dev/null || fail "apply"
    sync=("$IVOZFW" companies sync -p "$T/policy.json" --source "$S")
    measure "$src-first-sync" "$ns" "${sync[@]}"
    measure "$src-noop-sync" "$ns" "${sync[@]}"
    swap17 10.0.2.168/30 172.16.0.0/30
    measure "$src-one-changed" "$ns" "${sync[@]}"
    grep -q '+1 -1 elements' "$T/out.$src-one-changed" || fail "$src: one company changed, expected +1 -1: $(cat "$T/out.$src-one-changed")"
    swap17 172.16.0.0/30 10.0.2.168/30   # back, for the next source
done
t=$(now_ms)
for i in 1 2 3 4 5; do
    mariadb --no-defaults -S "$DB_SOCK" -u ivozfw -pivozfw-test-pw ivozprovider -N -B -e \
        "SELECT c.id, c.name, a.id, a.source_address FROM Companies c LEFT JOIN kam_users_address a ON a.companyId = c.id WHERE c.ipFilter = 1 ORDER BY c.id, a.id" >/dev/null
done
echo "database round trip alone (mariadb client, same query, mean of 5): $(( ($(now_ms) - t) / 5 )) ms"

read -r nw nr <"$T/m.nft-f-full"
read -r dw dr <"$T/m.nft-f-delta"
for src in dir db; do
    read -r fw fr <"$T/m.$src-first-sync"
    read -r cw cr <"$T/m.$src-one-changed"
    echo "$src: first sync / nft -f full: wall $(ratio "$fw" "$nw"), peak RSS $(ratio "$fr" "$nr");" \
         "one changed / nft -f delta: wall $(ratio "$cw" "$dw"), peak RSS $(ratio "$cr" "$dr")"
done
pass
