#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Company ranges from files: a directory of <id>.json, one JSON document, standard input.
# Only the delta is sent and nothing else in the table changes; shared ranges, IPv6, bad
# rows (exit 3), unreadable sources (exit 1, kernel untouched), the remove-share guard,
# list/show, the state record and strict mode.
. "$(dirname "$0")/../lib/lib.sh"

D="$T/companies.d"
mkdir -p "$D"
company() {   # company ID NAME RANGE...
    local id=$1 name=$2
    shift 2
    jq -n --argjson id "$id" --arg name "$name" '{id: $id, name: $name, ranges: $ARGS.positional}' --args "$@" \
        >"$D/$id.json" || fail "cannot write $D/$id.json"
}
company 1 Acme 203.0.113.0/28 198.51.100.0/24 2001:db8:1::/48
company 2 Beta 198.51.100.0/24 192.0.2.10
company 3 Gamma 192.0.2.128/25

edit_policy "$T/policy.json" -e "p['companies'] = {'source': '$D', 'max_remove_percent': 50}"
new_ns ns
has() { in_ns "$ns" nft get element inet ivozfw "$1" "{ $2 }" >/dev/null 2>&1; }
sync() { ivz "$ns" companies sync -p "$T/policy.json" "$@"; }
# everything in the table but the two company sets
rest() { table_json "$ns" | jq -S 'map(select((.set.name // "") | test("^companies_") | not))'; }

# a sync before any apply: a clear error
expect_exit 1 sync
expect_contains "ivozfw apply" "$ERR" "sync before apply"

expect_exit 0 ivz "$ns" apply -p "$T/policy.json"
has companies_v4 203.0.113.5 || fail "apply did not load the directory"
has companies_v6 2001:db8:1::1 || fail "apply did not load the IPv6 range"
expect_exit 0 sync
expect_contains "3 companies, 6 ranges" "$OUT" "sync"
expect_contains "+0 -0 elements" "$OUT" "no-op sync"

# one company changes: only its delta, nothing else in the table
others=$(rest)
company 3 Gamma 192.0.2.128/26 192.0.2.240/28
expect_exit 0 sync
log "changed company 3: $OUT"
expect_contains "+2 -1 elements" "$OUT" "delta"
has companies_v4 192.0.2.130 || fail "192.0.2.128/26 missing"
has companies_v4 192.0.2.200 && fail "192.0.2.200 still in after company 3 shrank"
expect_same "$others" "$(rest)" "the rest of the table before and after a sync"

# shared range: kept while company 2 still has it
company 1 Acme 203.0.113.0/28 2001:db8:1::/48
expect_exit 0 sync
expect_contains "+0 -0 elements" "$OUT" "shared range dropped by one company"
has companies_v4 198.51.100.1 || fail "shared range removed while company 2 has it"

# IPv6 change
company 1 Acme 203.0.113.0/28 2001:db8:1::/48 2001:db8:9::/64
expect_exit 0 sync
expect_contains "+1 -0 elements" "$OUT" "IPv6 range added"
has companies_v6 2001:db8:9::1 || fail "2001:db8:9::/64 not loaded"

# bad rows: exit 3, named, the rest of the company loads
jq -n '{id: 4, name: "Delta", ranges: ["10.0.0.1/33", "10.9.0.1/16", 42, "2001:db8:4::/48", "::ffff:zz"]}' >"$D/4.json"
expect_exit 3 sync
expect_contains "company 4 (Delta), row 1 ($D/4.json: \$.ranges[0]): \"10.0.0.1/33\": prefix length must be 0-32" "$ERR" "stderr"
expect_contains "company 4 (Delta), row 2" "$ERR" "stderr"
expect_contains "did you mean 10.9.0.0/16?" "$ERR" "stderr"
expect_contains "company 4 (Delta), row 3" "$ERR" "stderr"
expect_contains "company 4 (Delta), row 5" "$ERR" "stderr"
has companies_v6 2001:db8:4::1 || fail "company 4's good row not loaded"

# state record for status
st=$(cat "$IVOZFW_STATE_DIR/companies.json") || fail "no companies.json in the state dir"
[ "$(jq -r '.per_company["4"].ranges[0]' <<<"$st")" == "2001:db8:4::/48" ] || fail "companies.json: $st"
[ "$(jq -r '.warnings | length' <<<"$st")" == 4 ] || fail "companies.json warnings: $st"

# list / show
expect_exit 3 ivz "$ns" companies list -p "$T/policy.json" --json
[ "$(jq '[.companies[].ranges[] | select(.in_kernel | not)] | length' <<<"$OUT")" == 0 ] ||
    fail "list --json: ranges not in the kernel: $OUT"
rm "$D/4.json"
company 2 Beta 198.51.100.0/24 192.0.2.10 192.0.2.11
expect_exit 0 ivz "$ns" companies show -p "$T/policy.json" 2
expect_contains "192.0.2.11" "$OUT" "show 2"
expect_match "192\.0\.2\.11 +NOT in kernel" "$OUT" "show 2"
expect_match "198\.51\.100\.0/24 +in kernel" "$OUT" "show 2"
expect_exit 1 ivz "$ns" companies show -p "$T/policy.json" 99
expect_contains "company 99 is not in" "$ERR" "show 99"
expect_exit 0 sync
expect_contains "+1 -2 elements" "$OUT" "company 4 gone, 192.0.2.10 and .11 merged into one interval"

# unreadable sources: exit 1, the whole ruleset as before
snap=$(ruleset_raw "$ns")
echo '{"id": 5, "ranges": [' >"$D/5.json"
expect_exit 1 sync
expect_contains "$D/5.json" "$ERR" "broken JSON"
expect_contains "nothing was changed" "$ERR" "broken JSON"
rm "$D/5.json"
expect_exit 1 sync --source "$T/missing.d"
expect_contains "$T/missing.d" "$ERR" "missing source"
expect_same "$snap" "$(ruleset_raw "$ns")" "ruleset after failed syncs"

# one JSON document, and standard input
jq -n '{companies: [{id: 1, ranges: ["203.0.113.0/28", "2001:db8:1::/48", "2001:db8:9::/64"]},
                    {id: 2, ranges: ["198.51.100.0/24", "192.0.2.10", "192.0.2.11"]},
                    {id: 3, ranges: ["192.0.2.128/26", "192.0.2.240/28"]}]}' >"$T/all.json"
expect_exit 0 sync --source "$T/all.json"
expect_contains "+0 -0 elements" "$OUT" "same content as one document"
jq '.companies |= map(select(.id != 3))' "$T/all.json" |
    ip netns exec "$ns" "$IVOZFW" companies sync -p "$T/policy.json" --source - >"$T/out" 2>&1 ||
    fail "sync from stdin: $(cat "$T/out")"
expect_contains "standard input" "$(cat "$T/out")" "stdin sync"
expect_contains "+0 -2 elements" "$(cat "$T/out")" "stdin sync"

# remove-share guard: dropping most ranges at once keeps the kernel's (exit 3) unless --force
before=$(ruleset_raw "$ns")
echo '[{"id": 1, "ranges": ["203.0.113.0/28"]}]' >"$T/few.json"
expect_exit 3 sync --source "$T/few.json"
expect_contains "max_remove_percent 50%" "$ERR" "shrink guard"
expect_contains "kept what the kernel has" "$ERR" "shrink guard"
expect_contains "--force" "$ERR" "shrink guard"
expect_contains "+0 -0 elements, nothing sent" "$OUT" "held sync"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after a held sync"
# a new range still goes in while the removal is held
echo '[{"id": 1, "ranges": ["203.0.113.0/28"]}, {"id": 9, "ranges": ["192.0.2.248/29"]}]' >"$T/few-new.json"
expect_exit 3 sync --source "$T/few-new.json"
expect_contains "+1 -0 elements" "$OUT" "held sync with a new range"
has companies_v4 192.0.2.249 || fail "a new range was not added while the guard held the removal"
has companies_v4 198.51.100.1 || fail "the guard did not keep 198.51.100.0/24"
expect_exit 0 sync --source "$T/few.json" --force
expect_contains "+0 -5 elements" "$OUT" "forced sync"
has companies_v4 198.51.100.1 && fail "forced sync did not remove 198.51.100.0/24"

# strict: SIP services end with drop_not_company after the exemptions; others do not
edit_policy "$T/strict.json" --from "$T/policy.json" -e "p['companies']['strict'] = True"
expect_exit 0 ivz "$ns" apply -p "$T/strict.json"
chain=$(in_ns "$ns" nft list chain inet ivozfw svc_sip)
expect_match 'counter name "drop_not_company" drop' "$chain" "svc_sip"
order=$(in_ns "$ns" nft -j list chain inet ivozfw svc_sip | jq -r '[.nftables[].rule? | select(.) | .comment] | join(" ")')
expect_match "sip/exempt-v6 .*sip/company-v6 ivozfw:sip/not-company " "$order" "svc_sip rule order"
expect_not_contains "drop_not_company" "$(in_ns "$ns" nft list chain inet ivozfw svc_web)" "svc_web"
pass
