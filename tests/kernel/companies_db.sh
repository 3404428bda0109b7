#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Company ranges from a real MariaDB (private server, unix socket only) holding IvozProvider's
# Companies and kam_users_address: apply loads them, sync sends only the delta, a range
# shared by two companies stays while one still has it, bad rows are skipped with exit 3,
# and a database that is frozen, stopped or badly configured changes nothing.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB_DIR/mariadb.sh"

db_start
db_company 1 Acme
db_company 2 Beta
db_company 3 Gamma
db_company 4 NoFilter 0
db_address 1 203.0.113.0/28
db_address 1 198.51.100.0/24
db_address 2 192.0.2.10
db_address 2 192.0.2.64/26
db_address 3 198.51.100.0/24
db_address 3 2001:db8:3::/48
db_address 4 100.64.0.0/10
db_creds "$T/db.cnf"

edit_policy "$T/policy.json" -e "p['companies'] = {'source': 'mysql:$T/db.cnf'}"
new_ns ns

set_v4() { in_ns "$ns" nft -j list set inet ivozfw companies_v4 | jq -c '[.nftables[].set? | select(.) | .elem // [] | .[] | tostring] | sort'; }
set_v6() { in_ns "$ns" nft -j list set inet ivozfw companies_v6 | jq -c '[.nftables[].set? | select(.) | .elem // [] | .[] | tostring] | sort'; }
has() { in_ns "$ns" nft get element inet ivozfw "$1" "{ $2 }" >/dev/null 2>&1; }
sync() { ivz "$ns" companies sync -p "$T/policy.json" "$@"; }

# apply loads the sets in its single transaction
expect_exit 0 ivz "$ns" apply -p "$T/policy.json"
has companies_v4 203.0.113.0/28 || fail "apply did not load 203.0.113.0/28"
has companies_v4 192.0.2.10 || fail "apply did not load 192.0.2.10"
has companies_v6 2001:db8:3::/48 || fail "apply did not load the IPv6 range"
has companies_v4 100.64.0.1 && fail "company 4 (ipFilter = 0) was loaded"
log "after apply: $(set_v4) $(set_v6)"

expect_exit 0 sync
expect_contains "3 companies, 6 ranges" "$OUT" "sync output"   # ipFilter = 0 is not read
expect_contains "+0 -0 elements, nothing sent" "$OUT" "no-op sync"

# one company changes: exactly that delta goes out
db_sql "DELETE FROM kam_users_address WHERE companyId = 2 AND source_address = '192.0.2.10'"
db_sql "INSERT INTO kam_users_address (companyId, source_address) VALUES (2, '192.0.2.20')"
before=$(set_v4)
expect_exit 0 sync
log "one company changed: $OUT"
expect_contains "+1 -1 elements" "$OUT" "delta sync"
has companies_v4 192.0.2.20 || fail "192.0.2.20 not added"
has companies_v4 192.0.2.10 && fail "192.0.2.10 not removed"
expect_exit 0 sync
expect_contains "+0 -0 elements" "$OUT" "sync after the delta"

# a range two companies share stays while one of them still has it
db_sql "DELETE FROM kam_users_address WHERE companyId = 1 AND source_address = '198.51.100.0/24'"
expect_exit 0 sync
expect_contains "+0 -0 elements" "$OUT" "removing a shared range from one company"
has companies_v4 198.51.100.0/24 || fail "shared range removed while company 3 still has it"
db_sql "DELETE FROM kam_users_address WHERE companyId = 3 AND source_address = '198.51.100.0/24'"
expect_exit 0 sync
expect_contains "+0 -1 elements" "$OUT" "removing the last holder of a shared range"
has companies_v4 198.51.100.7 && fail "198.51.100.0/24 still loaded after its last company dropped it"

# IPv6 from the database
db_sql "INSERT INTO kam_users_address (companyId, source_address) VALUES (1, '2001:db8:1::/64')"
expect_exit 0 sync
expect_contains "+1 -0 elements" "$OUT" "IPv6 row"
has companies_v6 2001:db8:1::1 || fail "2001:db8:1::/64 not loaded"

# bad rows: reported with company and row, skipped; the good rows of the same company load
db_address 1 10.0.0.1/33 9001
db_address 1 10.0.0.1/24 9002
db_address 1 "2001:db8::/200" 9003
db_address 1 "not an address" 9004
db_address 1 192.0.2.200 9005
expect_exit 3 sync
log "bad rows: $ERR"
expect_contains 'company 1 (Acme), row 3 (kam_users_address.id=9001): "10.0.0.1/33": prefix length must be 0-32' "$ERR" "stderr"
# host bits: Kamailio applies the mask, so the network loads, with a warning naming the row
expect_contains "company 1 (Acme), row 4 (kam_users_address.id=9002): 10.0.0.1/24 has host bits set: loaded as 10.0.0.0/24" "$ERR" "stderr"
expect_contains "(kam_users_address.id=9003)" "$ERR" "stderr"
expect_contains "(kam_users_address.id=9004)" "$ERR" "stderr"
expect_contains "+2 -0 elements" "$OUT" "sync with bad rows"
has companies_v4 192.0.2.200 || fail "the good row next to bad ones was not loaded"
has companies_v4 10.0.0.0/24 || fail "the row with host bits did not load its network"
has companies_v4 203.0.113.0/28 || fail "company 1's other ranges went away"
db_sql "DELETE FROM kam_users_address WHERE id IN (9001, 9002, 9003, 9004)"
expect_exit 0 sync

# the database cannot answer: exit 1, the kernel exactly as before
db_sql "INSERT INTO kam_users_address (companyId, source_address) VALUES (3, '192.0.2.250')"
snap=$(ruleset_raw "$ns")
db_pause
t=$(now_ms)
expect_exit 1 sync
log "frozen database: $(($(now_ms) - t)) ms: $ERR"
db_resume
expect_contains "database $DB_SOCK" "$ERR" "stderr (frozen database)"
expect_contains "nothing was changed" "$ERR" "stderr (frozen database)"
expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset before and after a sync against a frozen database"

# connected, query sent, no answer (a table lock held elsewhere): the read timeout ends it
mariadb --no-defaults -S "$DB_SOCK" -u root ivozprovider \
    -e "LOCK TABLES kam_users_address WRITE; SELECT SLEEP(8);" >/dev/null 2>&1 &
locker=$!
bg_pid "$locker"
table_locked() { [ -n "$(db_sql "SHOW OPEN TABLES FROM ivozprovider WHERE In_use > 0 AND \`Table\` = 'kam_users_address'")" ]; }
wait_until 10 table_locked || fail "the table lock was never taken"
t=$(now_ms)
expect_exit 1 sync
log "query without answer: $(($(now_ms) - t)) ms: $ERR"
expect_contains "query failed" "$ERR" "stderr (locked table)"
expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset before and after a sync whose query timed out"
kill "$locker" 2>/dev/null

db_stop
expect_exit 1 sync
log "stopped database: $ERR"
expect_contains "cannot connect" "$ERR" "stderr (stopped database)"
expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset before and after a sync against a stopped database"
# apply with the database down: everything else goes ahead, the company sets keep the kernel's
expect_exit 3 ivz "$ns" apply -p "$T/policy.json"
expect_contains "the company ranges keep what the kernel has" "$ERR" "apply with the database down"
expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset after apply with the database down"

# credentials: readable by others -> refused, naming the file and its mode
chmod 644 "$T/db.cnf"
expect_exit 1 sync
expect_contains "$T/db.cnf" "$ERR" "stderr (credentials mode)"
expect_contains "mode 0644" "$ERR" "stderr (credentials mode)"
chmod 600 "$T/db.cnf"

pass
