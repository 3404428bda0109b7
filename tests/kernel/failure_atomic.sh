#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One batch means all or nothing. With IVOZFW_INJECT_FAILURE=1 the netlink layer appends, at
# the END of the batch, a set element for a set that does not exist: the kernel refuses the
# batch, apply exits 1 naming the failing object, and the ruleset is exactly as before, both
# for a policy change on a live table and for the very first apply (no table left behind).
. "$(dirname "$0")/../lib/lib.sh"
# The faults come from the test-only build (tests/hooked/main.cc); the product has no hooks.
HOOKED=${IVOZFW_HOOKED:-$(dirname "$IVOZFW")/ivozfw-hooked}
[ -x "$HOOKED" ] || fail "test binary $HOOKED is missing (built with ivozfw)"

new_ns ns
A=$T/a.json
B=$T/b.json
shipped_policy "$A"
# B changes many things at once: sets, map elements, chains, rules.
edit_policy "$B" -e 'p["lists"]["admin"] = ["192.0.2.10", "192.0.2.20", "2001:db8:b::/48"]' \
    -e 'p["lists"]["application_servers"] = ["198.51.100.0/28"]' \
    -e 'p["services"]["mysql"] = {"tcp": [3306], "from": ["application_servers", "admin"]}' \
    -e 'p["services"]["rtp"] = {"udp": ["14000-18000"]}' \
    -e 'del p["services"]["web"]' -e 'p["icmp"] = {"echo_rate": 5, "echo_burst": 10}'

expect_exit 0 ivz "$ns" apply -p "$A"
expect_exit 2 ivz "$ns" diff -p "$B"
before=$(ruleset_raw "$ns")

run env IVOZFW_INJECT_FAILURE=1 ip netns exec "$ns" timeout 60 "$HOOKED" apply -p "$B"
if [ "$RC" == 0 ]; then
    fail "IVOZFW_INJECT_FAILURE=1 apply exited 0 (hook not implemented?): $OUT"
fi
[ "$RC" == 1 ] || fail "apply with an injected failure exited $RC, not 1: $ERR"
expect_contains "ivozfw-injected-failure" "$ERR" "stderr of the failed apply"
expect_contains "nothing was changed" "$ERR" "stderr of the failed apply"
expect_not_contains "applied" "$OUT" "stdout of the failed apply"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset before/after a failed apply (handles included)"
expect_exit 2 ivz "$ns" diff -p "$B"
expect_exit 0 ivz "$ns" diff -p "$A"

# The same batch without the injected failure goes through: the failure was the injection.
expect_exit 0 ivz "$ns" apply -p "$B"
expect_exit 0 ivz "$ns" diff -p "$B"

# First apply into an empty namespace: the failed batch must not leave a table (let alone an
# accept-all one) behind.
new_ns empty e
before=$(ruleset_raw "$empty")
run env IVOZFW_INJECT_FAILURE=1 ip netns exec "$empty" timeout 60 "$HOOKED" apply -p "$A"
[ "$RC" == 1 ] || fail "first apply with an injected failure exited $RC, not 1: $OUT $ERR"
expect_contains "ivozfw-injected-failure" "$ERR" "stderr of the failed first apply"
has_table "$empty" && fail "table inet ivozfw exists after a failed first apply"
expect_same "$before" "$(ruleset_raw "$empty")" "ruleset before/after a failed first apply"

# remove is one batch too.
before=$(ruleset_raw "$ns")
run env IVOZFW_INJECT_FAILURE=1 ip netns exec "$ns" timeout 60 "$HOOKED" remove -p "$B"
[ "$RC" == 1 ] || fail "remove with an injected failure exited $RC, not 1: $OUT $ERR"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset before/after a failed remove"

# check --kernel sends apply's batch without its END: validated, never committed.
before=$(ruleset_raw "$empty")
expect_exit 0 ivz "$empty" check --kernel -p "$A"
expect_contains "accepted the" "$OUT" "check --kernel"
has_table "$empty" && fail "check --kernel created the table"
expect_same "$before" "$(ruleset_raw "$empty")" "ruleset before/after check --kernel"
run env IVOZFW_INJECT_FAILURE=1 ip netns exec "$empty" timeout 60 "$HOOKED" check --kernel -p "$A"
[ "$RC" == 1 ] || fail "check --kernel with an injected failure exited $RC, not 1: $OUT $ERR"
expect_contains "ivozfw-injected-failure" "$ERR" "stderr of check --kernel"

pass
