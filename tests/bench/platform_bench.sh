#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): the platform section against a private MariaDB (unix socket) holding
# N companies x 5 ranges (non-adjacent /30s, nothing merges), 500 application servers and
# 500 carrier addresses (single addresses, non-adjacent).
#
#   apply            fresh namespace, full database: everything in apply's one transaction
#   first sync       the same policy applied against an EMPTY database (same schema, no
#                    rows: platform sets empty, everything else loaded), then `platform sync`
#                    against the full one: every platform element goes out in one sync
#   no-op sync       nothing changed in the database: nothing may be sent
#   one changed      one company's range replaced: must send +1 -1
#   carrier added    one kam_trunks_address row added: must send +1 -0
# For each: wall time and peak RSS (/usr/bin/time), elements sent (+X -Y from the output).
# Floors: the SELECTs (as we expect ivozfw to issue them) through the `mariadb` client, and
# `nft -f` of the same elements into a fresh namespace.
# Usage: sudo tests/bench/platform_bench.sh [build/ivozfw] [companies=10000]
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
N=${2:-10000}
AS=500 CARRIERS=500 PER=5
set -- "$bin"
. "$here/tests/lib/lib.sh"
. "$LIB_DIR/mariadb.sh"
set +e
[ -x /usr/bin/time ] || fail "needs /usr/bin/time (package time)"

db_start
t=$(now_ms)
db_bulk_companies 1 "$N" "$PER" 10.0.0.0           # company i, range k: 10.0.0.0 + 8 * (5 (i-1) + k), /30
db_bulk_appservers 1 "$AS" 100.64.0.0               # 100.64.0.0, .2, .4 ...
db_bulk_carriers 1 "$CARRIERS" 100.65.0.0           # 100.65.0.0, .2, .4 ...
log "loaded $N companies x $PER ranges, $AS application servers, $CARRIERS carriers in $(($(now_ms) - t)) ms"
# An empty twin: same tables, no rows, readable by the same user.
{
    echo "CREATE DATABASE ivozprovider_empty;"
    for tb in Companies kam_users_address kam_trusted ApplicationServers ProxyUsers ProxyTrunks kam_trunks_address CarrierServers; do
        echo "CREATE TABLE ivozprovider_empty.$tb LIKE ivozprovider.$tb;"
    done
    echo "GRANT SELECT ON ivozprovider_empty.* TO ivozfw@localhost;"
} | mariadb --no-defaults -S "$DB_SOCK" -u root || fail "creating the empty database"
db_creds "$T/db.cnf"
sed 's/^database = .*/database = ivozprovider_empty/' "$T/db.cnf" >"$T/empty.cnf" && chmod 600 "$T/empty.cnf"
edit_policy "$T/full.json" -e "p['platform'] = {'database': 'mysql:$T/db.cnf'}"
edit_policy "$T/empty.json" -e "p['platform'] = {'database': 'mysql:$T/empty.cnf'}"

# The kernel floor: every platform element by nft -f (companies, application servers and their
# exempt copy, carriers) into a table of its own in a fresh namespace.
"$PY" - "$N" "$PER" "$AS" "$CARRIERS" "$T/full.nft" <<'PY'
import sys
n, per, nas, nca = map(int, sys.argv[1:5])
out = sys.argv[5]
def ip(v): return ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))
def base(a): return sum(int(x) << s for x, s in zip(a.split("."), (24, 16, 8, 0)))
sets = {
    "companies_v4": [f"{ip(base('10.0.0.0') + 8 * k)}/30" for k in range(n * per)],
    "application_servers_v4": [ip(base("100.64.0.0") + 2 * k) for k in range(nas)],
    "exempt_v4": [ip(base("100.64.0.0") + 2 * k) for k in range(nas)],
    "carriers_v4": [ip(base("100.65.0.0") + 2 * k) for k in range(nca)],
}
with open(out, "w") as f:
    f.write("table inet bench {\n")
    for name, elems in sets.items():
        f.write(f" set {name} {{\n  type ipv4_addr\n  flags interval\n  elements = {{\n")
        f.write(",\n".join(elems))
        f.write("\n  }\n }\n")
    f.write("}\n")
PY
[ $? -eq 0 ] || fail "cannot generate $T/full.nft"

measure() {  # label ns cmd... -> prints a line; wall and RSS kept in $T/m.<label>
    local label=$1 ns=$2
    shift 2
    /usr/bin/time -f "%e %M" -o "$T/time" ip netns exec "$ns" "$@" >"$T/out.$label" 2>"$T/err.$label"
    local rc=$?
    read -r wall rss <"$T/time"
    echo "$wall $rss" >"$T/m.$label"
    printf '%-16s %8.3f s %9d KiB  exit %d  %-22s %s\n' "$label" "$wall" "$rss" "$rc" \
        "$(grep -oE '\+[0-9]+ -[0-9]+ elements|[0-9]+ set elements' "$T/out.$label" | head -1)" \
        "$(grep -oE 'read in [0-9.]+ ms' "$T/out.$label")"
    [ "$rc" -eq 0 ] || log "$label: exit $rc: $(head -5 "$T/err.$label")"
}
ratio() { "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'inf')" "$1" "$2"; }
sent() { grep -oE '\+[0-9]+ -[0-9]+ elements' "$T/out.$1" | head -1; }

echo "platform: $N companies x $PER ranges = $((N * PER)) intervals, $AS application servers, $CARRIERS carriers"
printf '%-16s %10s %13s  %-7s %-22s %s\n' step wall "peak RSS" exit sent "source read"
new_ns nsref ref
measure nft-f-full "$nsref" nft -f "$T/full.nft"

new_ns nsa apply
measure apply "$nsa" "$IVOZFW" apply -p "$T/full.json"

new_ns ns sync
ivz "$ns" apply -p "$T/empty.json" >/dev/null || fail "apply against the empty database"
sync=("$IVOZFW" platform sync -p "$T/full.json")
measure first-sync "$ns" "${sync[@]}"
grep -qE '^platform sets updated in one transaction: \+[0-9]+ -0 elements' "$T/out.first-sync" ||
    fail "first sync did not load the platform sets: $(cat "$T/out.first-sync" "$T/err.first-sync")"
measure noop-sync "$ns" "${sync[@]}"
[ "$(sent noop-sync)" = "+0 -0 elements" ] || fail "no-op sync sent something: $(cat "$T/out.noop-sync")"
db_sql "UPDATE kam_users_address SET source_address = '172.16.0.0/30', ip_addr = '172.16.0.0'
        WHERE id = (SELECT MIN(id) FROM kam_users_address WHERE companyId = 17)"
measure one-changed "$ns" "${sync[@]}"
[ "$(sent one-changed)" = "+1 -1 elements" ] || fail "one company changed, expected +1 -1: $(cat "$T/out.one-changed")"
db_carrier $((CARRIERS + 1)) 100.66.0.1
measure carrier-added "$ns" "${sync[@]}"
[ "$(sent carrier-added)" = "+1 -0 elements" ] || fail "one carrier added, expected +1 -0: $(cat "$T/out.carrier-added")"

# The database floor: the reads ivozfw makes, through the mariadb client.
# (src/platform/load.cc's queries as of this writing, in its one read-only snapshot.)
cat >"$T/select.sql" <<'SQL'
START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;
SELECT c.id, c.name, a.id, a.source_address, a.ip_addr, a.mask FROM Companies c
  LEFT JOIN kam_users_address a ON a.companyId = c.id WHERE c.ipFilter = 1 ORDER BY c.id, a.id;
SELECT t.id, t.companyId, c.name, t.src_ip FROM kam_trusted t LEFT JOIN Companies c ON c.id = t.companyId ORDER BY t.id;
SELECT id, ip, name FROM ApplicationServers ORDER BY id;
SELECT id, ip FROM ProxyUsers ORDER BY id;
SELECT id, ip FROM ProxyTrunks ORDER BY id;
SELECT id, ip_addr, mask, grp FROM kam_trunks_address ORDER BY id;
SELECT id, ip, hostname, sipProxy, carrierId FROM CarrierServers ORDER BY id;
COMMIT;
SQL
t=$(now_ms)
for i in 1 2 3 4 5; do
    mariadb --no-defaults -S "$DB_SOCK" -u ivozfw -pivozfw-test-pw ivozprovider -N -B <"$T/select.sql" >"$T/select.out" ||
        fail "the floor SELECTs failed"
done
db_ms=$(( ($(now_ms) - t) / 5 ))
/usr/bin/time -f "%e %M" -o "$T/time" mariadb --no-defaults -S "$DB_SOCK" -u ivozfw -pivozfw-test-pw ivozprovider \
    -N -B <"$T/select.sql" >/dev/null
read -r _ db_rss <"$T/time"
echo "database floor: the same SELECTs through the mariadb client: $db_ms ms (mean of 5), peak RSS $db_rss KiB," \
    "$(wc -l <"$T/select.out") rows"

read -r nw nr <"$T/m.nft-f-full"
read -r aw ar <"$T/m.apply"
read -r sw sr <"$T/m.first-sync"
read -r ow or <"$T/m.noop-sync"
echo "apply / nft -f full:       wall $(ratio "$aw" "$nw"), peak RSS $(ratio "$ar" "$nr")"
echo "first sync / nft -f full:  wall $(ratio "$sw" "$nw"), peak RSS $(ratio "$sr" "$nr")"
echo "no-op sync / DB floor:     wall $(ratio "$ow" "$(echo "$db_ms" | awk '{print $1 / 1000}')")"
pass
