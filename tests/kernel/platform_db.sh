#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The platform section: company ranges, application servers + proxies and carriers read from
# a real MariaDB (private server, unix socket only) holding IvozProvider's tables.
#   - apply loads all of it in its one transaction: ipFilter 1 only (0 and NULL not), the
#     wholesale clients' kam_trusted addresses whatever ipFilter says, ip_addr + mask with
#     Kamailio's meaning (host bits -> the network, one warning naming the row), NULL ip_addr
#     -> source_address, IPv6 ip_addr -> one address, 10,000 bulk companies;
#   - bad rows of every table skipped with a warning naming table and row id, exit 3;
#   - `platform sync`: no-op says +0 -0, one row changed sends exactly that delta, entries the
#     policy writes survive the database dropping them, `companies sync` touches companies only;
#   - the max_remove_percent guard (and --force);
#   - database frozen / stopped / wrong password / missing column / missing table: exit 1,
#     the kernel byte-identical; apply with the database down applies everything else;
#   - outbound carriers (CarrierServers): ip (the outbound proxy) or else hostname (sipProxy's
#     host); a host name is a note (apply, status), not a warning, and is not loaded;
#   - explain names the database row, status has a platform section.
# Every expected message is one line below (E_*), so a wording change is a one-line edit.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB_DIR/mariadb.sh"

# --- expected wording (issue text); one line each --------------------------------------------
E_COUNTS="10003 companies, 10010 ranges, 8 application servers and proxies, 6 carrier addresses (14 bad rows skipped)"
E_HOSTNAME="note: CarrierServers.id=3 (carrier 1): \"sbc.carrier.example\" (hostname) is a host name, not loaded"
E_COUNTS_CLEAN="(0 bad rows skipped)"
E_NOOP="platform sets already up to date: +0 -0 elements, nothing sent"
E_UPDATED="platform sets updated in one transaction:"
E_GUARD="max_remove_percent"
E_NOTHING="nothing was changed"
E_KEPT="keep what the kernel has"            # apply with the database down
E_BADPW="Access denied"                      # MariaDB's own error text, passed through
E_AS_ADD="+2 -0 elements"                    # one application server: application_servers_v4 + exempt_v4
E_AS_DEL="+0 -2 elements"
# -----------------------------------------------------------------------------------------------

db_start
db_company 1 Acme
db_company 2 NoFilter 0
db_company 3 NullFilter NULL
db_company 4 Wholesale0 0 wholesale
db_company 5 Wholesale1 1 wholesale
# company 1: every shape of kam_users_address row
db_address 1 203.0.113.0/28 101                                  # ip_addr NULL: source_address
db_address_split 1 192.0.2.77 192.0.2.77 28 102                  # host bits: 192.0.2.64/28, warned
db_address_split 1 192.0.2.10 192.0.2.10 32 103                  # bare address
db_address_split 1 2001:db8:1::5 2001:db8:1::5 32 104            # IPv6 ip_addr: /128, not /32
db_address_split 1 2001:db8:2::/48 2001:db8:2:: 32 105           # IPv6 prefix in source_address
db_address 1 192.0.2.130/26 106                                  # host bits in source_address: .128/26, warned
db_address 2 100.64.0.0/24 201                                   # ipFilter 0: not loaded
db_address 3 100.64.1.0/24 301                                   # ipFilter NULL: not loaded
db_address 4 100.64.2.0/24 401                                   # wholesale, ipFilter 0: not loaded...
db_trusted 1 4 198.51.100.50                                     # ...but its kam_trusted row is
db_address 5 198.51.100.128/25 501                               # wholesale, ipFilter 1
db_trusted 2 5 198.51.100.60
db_trusted 3 5 2001:db8:5::1
db_bulk_companies 1000 10000 1 10.0.0.0                          # 10.0.0.0/30, 10.0.0.8/30 ... 10.1.56.120/30
# application servers and proxies; 203.0.113.22 is also a carrier and in both policy lists
db_appserver 1 203.0.113.20 as-one
db_appserver 2 203.0.113.22 as-two
db_appserver 3 203.0.113.24 as-three
db_appserver 4 203.0.113.26 as-four
db_appserver 5 203.0.113.28 as-five
db_appserver 6 2001:db8:20::1 as-six
db_proxy users 1 203.0.113.30
db_proxy trunks 1 203.0.113.32
# carriers
db_carrier 11 203.0.113.22
db_carrier 14 198.51.100.64 28
db_carrier 15 2001:db8:40::1                                     # mask 32 on IPv6: one address
db_carrier 16 203.0.113.44
# outbound carriers: sipProxy an address; an outbound proxy in front of a named sipProxy (its
# ip is where calls go: no note); a host name alone (a note, not loaded)
db_carrier_server 1 NULL 203.0.113.70
db_carrier_server 2 203.0.113.72 sbc-behind-proxy.carrier.example
db_carrier_server 3 NULL sbc.carrier.example
# bad rows, one or more per table (14 in all)
db_address 1 "not an address" 99901
db_address_split 1 10.99.0.0/24 10.99.0.0 40 99902                 # mask out of range
db_address_split 1 bogus2 bogus 32 99903                           # unparsable ip_addr
db_trusted 9 5 bogus-host
db_trusted 10 4 NULL
db_appserver 7 not-an-ip broken
db_proxy users 8 NULL
db_proxy trunks 9 203.0.113.999
db_carrier 12 203.0.113.300
db_carrier 13 203.0.113.40 33
db_carrier 17 NULL
db_carrier_server 5 not-an-ip 203.0.113.74
db_carrier_server 6 NULL NULL
db_carrier_server 7 NULL "sbc carrier!"
db_creds "$T/db.cnf"

P="$T/policy.json"
edit_policy "$P" \
    -e "p['platform'] = {'database': 'mysql:$T/db.cnf', 'max_remove_percent': 40}" \
    -e "p['lists']['application_servers'] = ['203.0.113.22', '192.0.2.200']" \
    -e "p['lists']['carriers'] = ['203.0.113.22', '203.0.113.60']"
new_ns ns

has() { in_ns "$ns" nft get element inet ivozfw "$1" "{ $2 }" >/dev/null 2>&1; }
want() { has "$1" "$2" || fail "$3: $2 is not in $1"; }          # want SET ADDR why
wont() { ! has "$1" "$2" || fail "$3: $2 is in $1"; }             # wont SET ADDR why
elems() { in_ns "$ns" nft -j list set inet ivozfw "$1" | jq '[.nftables[].set? | select(.) | .elem // [] | length] | add'; }
set_dump() { local s; for s in "$@"; do in_ns "$ns" nft -j list set inet ivozfw "$s" | jq -c '[.nftables[].set? | select(.) | .elem // []] | add | sort_by(tojson)'; done; }
psync() { ivz "$ns" platform sync -p "$P" "$@"; }
count_in() {  # count_in ROW HAYSTACK : lines naming ROW (table.id=N, not followed by a digit)
    printf '%s\n' "$2" | grep -cE -- "${1//./\\.}([^0-9]|\$)"
}

# --- policy checks ------------------------------------------------------------------------------
expect_exit 0 ivz "$ns" check -p "$P"
mkdir -p "$T/companies.d"
edit_policy "$T/both.json" --from "$P" -e "p['companies'] = {'source': '$T/companies.d'}"
expect_exit 1 ivz "$ns" check -p "$T/both.json"
expect_contains "platform" "$ERR" "companies.source together with platform"
expect_contains "source" "$ERR" "companies.source together with platform"
edit_policy "$T/strict.json" --from "$P" -e "p['companies'] = {'strict': True}"
expect_exit 0 ivz "$ns" check -p "$T/strict.json"

# --- apply loads everything in its one transaction ---------------------------------------------
t=$(now_ms)
expect_exit 3 ivz "$ns" apply -p "$P"
log "apply with 10,000 companies and 14 bad rows: $(($(now_ms) - t)) ms"
log "apply stderr: $(printf '%s\n' "$ERR" | head -20)"
for w in "kam_users_address.id=99901" "kam_users_address.id=99902" "kam_users_address.id=99903" \
    "kam_trusted.id=9" "kam_trusted.id=10" "ApplicationServers.id=7" "ProxyUsers.id=8" \
    "ProxyTrunks.id=9" "kam_trunks_address.id=12" "kam_trunks_address.id=13" "kam_trunks_address.id=17" \
    "CarrierServers.id=5" "CarrierServers.id=6" "CarrierServers.id=7"; do
    expect_contains "$w" "$ERR" "apply stderr (bad row $w)"
done
expect_contains "broken" "$(printf '%s\n' "$ERR" | grep -F "ApplicationServers.id=7")" "apply stderr (the application server's name)"
expect_contains "company 1 (Acme), row" "$ERR" "apply stderr (company row format)"
expect_contains "row skipped" "$ERR" "apply stderr"
# host bits: loaded as the network, exactly one warning each, the row not skipped
[ "$(count_in "kam_users_address.id=102" "$ERR")" = 1 ] || fail "kam_users_address.id=102 (host bits via mask) not warned exactly once: $ERR"
[ "$(count_in "kam_users_address.id=106" "$ERR")" = 1 ] || fail "kam_users_address.id=106 (host bits in source_address) not warned exactly once: $ERR"
expect_not_contains "kam_users_address.id=101" "$ERR" "apply stderr (a good row)"
expect_not_contains "kam_trunks_address.id=16" "$ERR" "apply stderr (a good row)"
expect_contains "$E_HOSTNAME" "$ERR" "apply stderr (a carrier server named by host name)"
expect_not_contains "warning: CarrierServers.id=3" "$ERR" "apply stderr (a host name is a note, not a warning)"
expect_not_contains "CarrierServers.id=2" "$ERR" "apply stderr (an outbound proxy's address is where calls go: nothing to note)"

# companies: ipFilter 1, host bits, NULL ip_addr, IPv6, wholesale kam_trusted, bulk
want companies_v4 203.0.113.5 "row 101 (ip_addr NULL, source_address 203.0.113.0/28)"
want companies_v4 192.0.2.65 "row 102 (192.0.2.77 mask 28 = 192.0.2.64/28)"
want companies_v4 192.0.2.79 "row 102"
wont companies_v4 192.0.2.80 "row 102 loaded wider than /28"
want companies_v4 192.0.2.10 "row 103 (bare address)"
wont companies_v4 192.0.2.11 "row 103 loaded wider than one address"
want companies_v4 192.0.2.129 "row 106 (source_address 192.0.2.130/26 = 192.0.2.128/26)"
want companies_v4 192.0.2.191 "row 106"
want companies_v6 2001:db8:1::5 "row 104 (IPv6 ip_addr)"
wont companies_v6 2001:db8:1::6 "row 104: mask 32 applied to an IPv6 address"
wont companies_v6 2001:db8:ffff::1 "row 104: mask 32 applied to an IPv6 address"
want companies_v6 2001:db8:2:ffff::1 "row 105 (source_address 2001:db8:2::/48)"
wont companies_v4 100.64.0.1 "company 2 (ipFilter 0)"
wont companies_v4 100.64.1.1 "company 3 (ipFilter NULL)"
wont companies_v4 100.64.2.1 "company 4 (wholesale, ipFilter 0): its kam_users_address row"
want companies_v4 198.51.100.50 "company 4 (wholesale, ipFilter 0): kam_trusted row"
want companies_v4 198.51.100.60 "company 5 (wholesale, ipFilter 1): kam_trusted row"
want companies_v6 2001:db8:5::1 "company 5: IPv6 kam_trusted row"
want companies_v4 198.51.100.200 "company 5: kam_users_address row"
want companies_v4 10.0.0.1 "bulk company 1000"
want companies_v4 10.0.156.65 "bulk company 6000"
want companies_v4 10.1.56.121 "bulk company 10999"
wont companies_v4 10.0.0.5 "bulk: the gap between two /30s"
wont companies_v4 10.99.0.1 "bad row 99902 (mask 40)"
n4=$(elems companies_v4) n6=$(elems companies_v6)
[ "$n4" = 10007 ] && [ "$n6" = 3 ] || fail "companies_v4/_v6 hold $n4/$n6 intervals, expected 10007/3"
# application servers and proxies: DB rows plus the policy list, also exempt
for a in 203.0.113.20 203.0.113.22 203.0.113.24 203.0.113.26 203.0.113.28 203.0.113.30 203.0.113.32 192.0.2.200; do
    want application_servers_v4 "$a" "application servers / proxies / policy list"
    want exempt_v4 "$a" "application servers are exempt"
done
want application_servers_v6 2001:db8:20::1 "IPv6 application server"
want exempt_v6 2001:db8:20::1 "IPv6 application server is exempt"
n4=$(elems application_servers_v4) n6=$(elems application_servers_v6)
[ "$n4" = 8 ] && [ "$n6" = 1 ] || fail "application_servers_v4/_v6 hold $n4/$n6, expected 8/1"
# carriers: kam_trunks_address plus the policy list; not exempt from everything
for a in 203.0.113.22 198.51.100.64 198.51.100.79 203.0.113.44 203.0.113.60 203.0.113.70 203.0.113.72; do want carriers_v4 "$a" "carriers"; done
wont carriers_v4 203.0.113.74 "CarrierServers row 5 (bad ip): its hostname loaded although the row is skipped"
wont carriers_v4 198.51.100.80 "carrier row 14 (mask 28) loaded too wide"
wont carriers_v4 203.0.113.40 "bad carrier row 13 (mask 33)"
want carriers_v6 2001:db8:40::1 "IPv6 carrier"
wont carriers_v6 2001:db8:40::2 "carrier row 15: mask 32 applied to an IPv6 address"
n4=$(elems carriers_v4) n6=$(elems carriers_v6)
[ "$n4" = 6 ] && [ "$n6" = 1 ] || fail "carriers_v4/_v6 hold $n4/$n6, expected 6/1"
wont exempt_v4 203.0.113.44 "a carrier is in the general exempt set"
# the carrier exemption sits in sip-trunks (input chain, and before conntrack before its flood
# rule and the service's cap), and nowhere in sip
chain_rules() { in_ns "$ns" nft -j list chain inet ivozfw "$1" | jq -r '.nftables[].rule? | select(.) | .comment'; }
trunks_rules=$(chain_rules svc_sip-trunks)
expect_contains "ivozfw:sip-trunks/carrier-v4" "$trunks_rules" "chain svc_sip-trunks"
expect_contains "ivozfw:sip-trunks/carrier-v6" "$trunks_rules" "chain svc_sip-trunks"
pre_rules=$(chain_rules flood_sip-trunks)
c=$(printf '%s\n' "$pre_rules" | grep -n 'sip-trunks/carrier-v4' | cut -d: -f1)
f=$(printf '%s\n' "$pre_rules" | grep -n 'sip-trunks/flood-v4' | cut -d: -f1)
k=$(printf '%s\n' "$pre_rules" | grep -n 'sip-trunks/cap' | cut -d: -f1)
[ -n "$c" ] && [ -n "$f" ] && [ -n "$k" ] && [ "$c" -lt "$f" ] && [ "$f" -lt "$k" ] ||
    fail "in flood_sip-trunks, carrier-v4 (line $c) is not before flood-v4 (line $f) and cap (line $k): $pre_rules"
expect_not_contains "carrier" "$(in_ns "$ns" nft list chain inet ivozfw svc_sip)" "chain svc_sip"
expect_not_contains "carrier" "$(in_ns "$ns" nft list chain inet ivozfw flood_sip)" "chain flood_sip"

# --- platform sync: no-op, with the bad rows still there ---------------------------------------
expect_exit 3 psync
log "sync: $OUT"
expect_contains "$E_COUNTS" "$OUT" "platform sync, first line"
expect_match "^mysql:$T/db.cnf: .* read in [0-9.]+ ms$" "$(printf '%s\n' "$OUT" | head -1)" "platform sync, first line"
expect_contains "$E_NOOP" "$OUT" "no-op platform sync"
expect_not_contains "sbc.carrier.example" "$ERR" "platform sync (its timer runs every minute: no notes)"

# explain names the rows; status has the platform section
expect_contains "application server 1 (as-one)" "$(ivz "$ns" explain 203.0.113.20 udp/7060 -p "$P" 2>&1)" "explain 203.0.113.20"
expect_contains "users proxy 1" "$(ivz "$ns" explain 203.0.113.30 udp/7060 -p "$P" 2>&1)" "explain 203.0.113.30"
expect_contains "trunks proxy 1" "$(ivz "$ns" explain 203.0.113.32 udp/7060 -p "$P" 2>&1)" "explain 203.0.113.32"
x=$(ivz "$ns" explain 203.0.113.44 udp/7060 -p "$P" 2>&1)
expect_contains "carrier address 16" "$x" "explain 203.0.113.44 udp/7060"
expect_contains "sip-trunks/carrier-v4" "$x" "explain 203.0.113.44 udp/7060"
expect_contains "carrier address 15" "$(ivz "$ns" explain 2001:db8:40::1 udp/7060 -p "$P" 2>&1)" "explain 2001:db8:40::1"
expect_contains "carrier server 2 (carrier 1)" "$(ivz "$ns" explain 203.0.113.72 udp/7060 -p "$P" 2>&1)" "explain 203.0.113.72"
x=$(ivz "$ns" explain 203.0.113.44 udp/5060 -p "$P" 2>&1)
expect_contains "sip/flood-v4" "$x" "explain carrier on udp/5060 (metered)"
expect_not_contains "sip/carrier" "$x" "explain carrier on udp/5060"
run ivz "$ns" status -p "$P"
expect_match "^ *platform" "$OUT" "status"
expect_contains "platform rows not loaded: 1" "$OUT" "status"
expect_contains "sbc.carrier.example" "$OUT" "status"
run ivz "$ns" status --json -p "$P"
printf '%s' "$OUT" | jq -e '.platform | type == "object"' >/dev/null || fail "status --json has no platform object: $(printf '%s' "$OUT" | head -c 600)"

# --- clean the bad rows and the host bits: nothing changes in the kernel -----------------------
db_sql "DELETE FROM kam_users_address WHERE id IN (99901, 99902, 99903); DELETE FROM kam_trusted WHERE id IN (9, 10);
        DELETE FROM ApplicationServers WHERE id = 7; DELETE FROM ProxyUsers WHERE id = 8;
        DELETE FROM ProxyTrunks WHERE id = 9; DELETE FROM kam_trunks_address WHERE id IN (12, 13, 17);
        DELETE FROM CarrierServers WHERE id IN (5, 6, 7);
        UPDATE kam_users_address SET source_address = '192.0.2.64/28', ip_addr = '192.0.2.64' WHERE id = 102;
        UPDATE kam_users_address SET source_address = '192.0.2.128/26' WHERE id = 106"
snap=$(ruleset_raw "$ns")
expect_exit 0 psync
expect_contains "$E_COUNTS_CLEAN" "$OUT" "sync without bad rows"
expect_contains "$E_NOOP" "$OUT" "sync without bad rows"
expect_not_contains "row skipped" "$ERR" "sync without bad rows"
[ "$(count_in "kam_users_address.id=102" "$ERR")" = 0 ] || fail "row 102 (host bits fixed) still warned: $ERR"
expect_exit 0 psync
expect_contains "$E_NOOP" "$OUT" "second no-op sync"
expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset before and after two no-op syncs"

# --- one row changed: exactly that delta -------------------------------------------------------
db_sql "UPDATE kam_trunks_address SET ip_addr = '203.0.113.46' WHERE id = 16"
expect_exit 0 psync
log "one carrier changed: $OUT"
expect_contains "$E_UPDATED +1 -1 elements" "$OUT" "one carrier changed"
want carriers_v4 203.0.113.46 "changed carrier row"
wont carriers_v4 203.0.113.44 "changed carrier row (old address)"
db_sql "UPDATE kam_users_address SET source_address = '172.16.0.0/30', ip_addr = '172.16.0.0' WHERE companyId = 6000"
expect_exit 0 psync
expect_contains "+1 -1 elements" "$OUT" "one bulk company changed"
want companies_v4 172.16.0.1 "changed company row"
wont companies_v4 10.0.156.65 "changed company row (old range)"
db_appserver 8 203.0.113.36 as-eight
expect_exit 0 psync
expect_contains "$E_AS_ADD" "$OUT" "one application server added"
want application_servers_v4 203.0.113.36 "new application server"
want exempt_v4 203.0.113.36 "new application server"
db_sql "DELETE FROM ApplicationServers WHERE id = 8"
expect_exit 0 psync
expect_contains "$E_AS_DEL" "$OUT" "one application server removed"
wont exempt_v4 203.0.113.36 "removed application server"
# ipFilter off for a wholesale company: its kam_users_address range goes, kam_trusted stays
db_sql "UPDATE Companies SET ipFilter = 0 WHERE id = 5"
expect_exit 0 psync
expect_contains "+0 -1 elements" "$OUT" "ipFilter 1 -> 0 on a wholesale company"
wont companies_v4 198.51.100.200 "company 5 with ipFilter 0: kam_users_address"
want companies_v4 198.51.100.60 "company 5 with ipFilter 0: kam_trusted"
want companies_v6 2001:db8:5::1 "company 5 with ipFilter 0: kam_trusted (IPv6)"
db_sql "UPDATE Companies SET ipFilter = 1 WHERE id = 5"
expect_exit 0 psync
expect_contains "+1 -0 elements" "$OUT" "ipFilter back to 1"

# --- entries the policy writes survive the database dropping them ------------------------------
db_sql "DELETE FROM ApplicationServers WHERE id = 2; DELETE FROM kam_trunks_address WHERE id = 11"
expect_exit 0 psync
expect_contains "$E_NOOP" "$OUT" "database drops 203.0.113.22, the policy lists still have it"
want application_servers_v4 203.0.113.22 "policy-listed application server"
want exempt_v4 203.0.113.22 "policy-listed application server"
want carriers_v4 203.0.113.22 "policy-listed carrier"
db_appserver 2 203.0.113.22 as-two
db_carrier 11 203.0.113.22

# --- companies sync with a platform policy: company sets only -----------------------------------
db_sql "UPDATE kam_users_address SET source_address = '172.16.0.8/30', ip_addr = '172.16.0.8' WHERE companyId = 6000"
db_sql "UPDATE kam_trunks_address SET ip_addr = '203.0.113.47' WHERE id = 16"
expect_exit 0 ivz "$ns" companies sync -p "$P"
log "companies sync: $OUT"
expect_contains "+1 -1 elements" "$OUT" "companies sync"
want companies_v4 172.16.0.9 "companies sync"
want carriers_v4 203.0.113.46 "companies sync touched the carriers"
wont carriers_v4 203.0.113.47 "companies sync touched the carriers"
expect_exit 0 psync
expect_contains "$E_UPDATED +1 -1 elements" "$OUT" "platform sync after companies sync"
want carriers_v4 203.0.113.47 "platform sync after companies sync"

# --- guard: ApplicationServers emptied ---------------------------------------------------------
# application_servers holds 9 intervals (addresses two apart: nothing merges): policy 192.0.2.200 .22,
# DB .20 .22 .24 .26 .28 2001:db8:20::1, proxies .30 .32;
# emptying the table takes .20 .24 .26 .28 and the IPv6 one (5 of 9, v4 4 of 8, v6 1 of 1 > 40 %).
db_sql "TRUNCATE ApplicationServers"
db_proxy users 2 203.0.113.34                                    # a new entry in the same list
expect_exit 3 psync
log "guard: $ERR"
expect_contains "$E_GUARD" "$ERR" "sync removing 5 of 9 application servers"
expect_match "application[ _]servers" "$ERR" "guard warning names the list"
for a in 203.0.113.20 203.0.113.24 203.0.113.26 203.0.113.28; do
    want application_servers_v4 "$a" "guarded list"
    want exempt_v4 "$a" "guarded list"
done
want application_servers_v6 2001:db8:20::1 "guarded list"
want application_servers_v4 203.0.113.34 "guarded list still gets new entries"
want carriers_v4 203.0.113.47 "guard on application servers touched the carriers"
expect_exit 0 psync --force
log "forced: $OUT"
for a in 203.0.113.20 203.0.113.24 203.0.113.26 203.0.113.28; do
    wont application_servers_v4 "$a" "sync --force"
    wont exempt_v4 "$a" "sync --force"
done
wont application_servers_v6 2001:db8:20::1 "sync --force"
for a in 203.0.113.22 192.0.2.200 203.0.113.30 203.0.113.32 203.0.113.34; do
    want application_servers_v4 "$a" "sync --force (still listed by the policy or a proxy table)"
done
expect_exit 0 psync
expect_contains "$E_NOOP" "$OUT" "sync after --force"

# --- the database cannot answer: exit 1, the kernel byte-identical ------------------------------
# A change is pending each time, so a sync that went ahead would show in the ruleset.
db_appserver 9 203.0.113.38 as-nine
db_sql "UPDATE kam_trunks_address SET ip_addr = '203.0.113.48' WHERE id = 16"
snap=$(ruleset_raw "$ns")
fails_unchanged() {  # fails_unchanged WHAT [policy] : sync exits 1, says so, changes nothing
    expect_exit 1 ivz "$ns" platform sync -p "${2:-$P}"
    log "$1: $ERR"
    expect_contains "$DB_SOCK" "$ERR" "stderr ($1) names the database"
    expect_contains "$E_NOTHING" "$ERR" "stderr ($1)"
    expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset before and after a sync ($1)"
}
db_sql "ALTER TABLE ProxyUsers RENAME COLUMN ip TO ip_gone"
fails_unchanged "column ProxyUsers.ip missing"
expect_contains "ProxyUsers" "$ERR" "stderr (missing column)"
db_sql "ALTER TABLE ProxyUsers RENAME COLUMN ip_gone TO ip"
sed 's/^password = .*/password = wrong-password/' "$T/db.cnf" >"$T/badpw.cnf" && chmod 600 "$T/badpw.cnf"
grep -q '^password = wrong-password$' "$T/badpw.cnf" || fail "cannot write $T/badpw.cnf"
edit_policy "$T/badpw.json" --from "$P" -e "p['platform']['database'] = 'mysql:$T/badpw.cnf'"
fails_unchanged "wrong password" "$T/badpw.json"
expect_contains "$E_BADPW" "$ERR" "stderr (wrong password)"
db_pause
t=$(now_ms)
fails_unchanged "frozen database"
log "frozen database: $(($(now_ms) - t)) ms"
db_resume
[ $(($(now_ms) - t)) -lt 20000 ] || fail "sync against a frozen database took $(($(now_ms) - t)) ms"
db_sql "DROP TABLE kam_trunks_address"
fails_unchanged "table kam_trunks_address dropped"
expect_contains "kam_trunks_address" "$ERR" "stderr (dropped table)"
db_stop
fails_unchanged "database stopped"

# --- apply with the database down: everything else applied, the platform sets kept -------------
before=$(set_dump companies_v4 companies_v6 application_servers_v4 application_servers_v6 carriers_v4 carriers_v6)
edit_policy "$T/admin.json" --from "$P" -e "p['lists']['admin'].append('192.0.2.99')"
expect_exit 3 ivz "$ns" apply -p "$T/admin.json"
log "apply with the database down: $ERR"
expect_contains "$E_KEPT" "$ERR" "apply with the database down"
want admin_v4 192.0.2.99 "apply with the database down: the rest of the policy"
expect_same "$before" "$(set_dump companies_v4 companies_v6 application_servers_v4 application_servers_v6 carriers_v4 carriers_v6)" \
    "platform sets before and after apply with the database down"
pass
