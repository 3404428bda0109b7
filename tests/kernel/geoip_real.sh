#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real database (ip-location-db, ~1M networks): the kernel sets hold exactly the
# addresses the database assigns, checked by an independent reader (python3-maxminddb) at
# every interval boundary and its neighbours, plus random samples.
. "$(dirname "$0")/../lib/lib.sh"
DB="$IVOZFW_SRC/../shared/data/mmdb/real/geo-whois-asn-country.mmdb"
[ -r "$DB" ] || { echo "SKIP: $TEST_NAME: $DB not found"; exit 77; }

check() {  # mode countries
    new_ns ns "$1"
    edit_policy "$T/$1.json" -e "p['geoip'] = {'database': '$DB', 'mode': '$1', 'countries': '$2'.split(',')}"
    expect_exit 0 ivz "$ns" apply -p "$T/$1.json"
    log "$1 $2: $OUT"
    in_ns "$ns" nft -j list set inet ivozfw geoip_v4 >"$T/s4.json"
    in_ns "$ns" nft -j list set inet ivozfw geoip_v6 >"$T/s6.json"
    /usr/bin/python3 "$LIB_DIR/geocheck.py" "$DB" "$1" "$2" "$T/s4.json" "$T/s6.json" --samples 30000 >"$T/check.txt" 2>&1 ||
        fail "$1 $2: kernel sets disagree with the database: $(cat "$T/check.txt")"
    log "$(tr '\n' ' ' <"$T/check.txt")"
    expect_exit 0 ivz "$ns" diff -p "$T/$1.json"
}
check deny CN,RU,KP,IR,BR,IN,VN,NG,PK,ID
check allow ES
pass
