#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad policies are refused by check, diff and apply (exit 1, a precise message on stderr) and
# leave the live ruleset byte-for-byte as it was (handles included).
. "$(dirname "$0")/../lib/lib.sh"

new_ns ns
GOOD=$T/good.json
shipped_policy "$GOOD"
expect_exit 0 ivz "$ns" apply -p "$GOOD"
before=$(ruleset_raw "$ns")

# refused NAME FILE FRAGMENT... : check, diff and apply all exit 1 naming every fragment,
# and nothing changed in the kernel.
refused() {
    local name=$1 file=$2 frag cmd
    shift 2
    for cmd in check diff apply; do
        expect_exit 1 ivz "$ns" "$cmd" -p "$file"
        for frag in "$@"; do
            expect_contains "$frag" "$ERR" "stderr of $cmd ($name)"
        done
        [ -z "$OUT" ] || [ "$cmd" != apply ] || expect_not_contains "applied" "$OUT" "stdout of apply ($name)"
    done
    expect_exit 1 ivz "$ns" export -p "$file"
    expect_same "$before" "$(ruleset_raw "$ns")" "ruleset before/after the refused policy ($name)"
    log "refused as expected: $name"
}

# A minimal valid policy with one hole punched in it per case.
base() {
    cat <<'EOF'
{
  "table": "ivozfw",
  "lists": { "admin": ["192.0.2.10"] },
  "services": {
    "sip": { "udp": [5060], "tcp": [5060] },
    "rtp": { "udp": ["13000-19000"] },
    "ssh": { "tcp": [22], "from": ["admin"] }
  }
}
EOF
}
base | write_policy "$T/base.json"
expect_exit 0 ivz "$ns" check -p "$T/base.json"

# JSON syntax: a missing comma at the end of line 4; the message has file:line:col.
cat <<'EOF' | write_policy "$T/syntax.json"
{
  "table": "ivozfw",
  "lists": { "admin": ["192.0.2.10"] }
  "services": { "sip": { "udp": [5060] } }
}
EOF
refused "syntax error" "$T/syntax.json" "$T/syntax.json:4:"
expect_match "syntax\.json:4:[0-9]+: error" "$ERR" "syntax error message"

base | sed 's/"tcp": \[5060\]/"tcp": [5060, 70000]/' | write_policy "$T/port.json"
refused "port 70000" "$T/port.json" "services.sip.tcp[1]" "70000 is not a port"

base | sed 's|"192.0.2.10"|"192.0.2.10/24"|' | write_policy "$T/hostbits.json"
refused "host bits" "$T/hostbits.json" "lists.admin[0]" "did you mean 192.0.2.0/24"

base | sed 's/"13000-19000"/"19000-13000"/' | write_policy "$T/reversed.json"
refused "reversed range" "$T/reversed.json" "services.rtp.udp[0]" "reversed" '"13000-19000"'

base | sed 's/"rtp": { "udp": \["13000-19000"\] },/"rtp": { "udp": ["13000-19000"] }, "sip": { "tcp": [5061] },/' |
    write_policy "$T/dupname.json"
refused "duplicate service name" "$T/dupname.json" 'duplicate key "sip"' "services"

base | sed 's/"13000-19000"/"5000-13000"/' | write_policy "$T/overlap.json"
refused "two services on one port" "$T/overlap.json" "claimed by both" '"sip"' '"rtp"' "udp port 5060"

base | sed 's/"from": \["admin"\]/"from": ["admins"]/' | write_policy "$T/undefined.json"
refused "undefined list" "$T/undefined.json" "services.ssh.from[0]" 'undefined list "admins"' 'did you mean "admin"'

base | sed 's/"services":/"servces":/' | write_policy "$T/unknown.json"
refused "unknown key" "$T/unknown.json" "servces" "unknown key" 'did you mean "services"'

base | sed 's/"udp": \[5060\], "tcp"/"udp": [5060], "tpc"/' | write_policy "$T/unknown2.json"
refused "unknown service key" "$T/unknown2.json" "services.sip.tpc" 'did you mean "tcp"'

base | write_policy "$T/worldwritable.json"
chmod 666 "$T/worldwritable.json"
refused "world-writable file" "$T/worldwritable.json" "world-writable"

refused "missing file" "$T/does-not-exist.json" "$T/does-not-exist.json" "No such file"

# Every diagnostic of a policy is reported, not only the first.
base | sed 's/"tcp": \[5060\]/"tcp": [0]/; s/"from": \["admin"\]/"from": ["nobody"]/' | write_policy "$T/two.json"
refused "two errors at once" "$T/two.json" "services.sip.tcp[0]" 'undefined list "nobody"'

# ssh only from an empty admin list: a warning, but a valid policy.
base | sed 's/"admin": \["192.0.2.10"\]/"admin": []/' | write_policy "$T/emptyadmin.json"
expect_exit 0 ivz "$ns" check -p "$T/emptyadmin.json"
expect_contains "warning" "$ERR" "check of an empty admin list"
expect_contains "lock yourself out" "$ERR" "check of an empty admin list"
expect_contains "ssh" "$ERR" "check of an empty admin list"
expect_same "$before" "$(ruleset_raw "$ns")" "ruleset after check of the empty-admin policy"

# remove with a policy that does not load names no table: refused, the table stays; with
# --table it goes. (It used to delete table "ivozfw" whatever the policy named.)
base | sed 's/"table": "ivozfw"/"table": "ivozfw_b"/' | write_policy "$T/b.json"
expect_exit 0 ivz "$ns" apply -p "$T/b.json"
sed 's/"ivozfw_b"/"ivozfw_b",,/' "$T/b.json" | write_policy "$T/b-broken.json"
in_ns "$ns" nft add table inet ivozfw || fail "a table named ivozfw (another instance's)"
expect_exit 1 ivz "$ns" remove -p "$T/b-broken.json"
expect_contains "ivozfw remove --table NAME" "$ERR" "remove with a broken policy"
expect_contains "nothing was changed" "$ERR" "remove with a broken policy"
has_table "$ns" ivozfw || fail "remove with a broken policy deleted table inet ivozfw"
has_table "$ns" ivozfw_b || fail "remove with a broken policy deleted table inet ivozfw_b"
expect_exit 0 ivz "$ns" remove --table ivozfw_b -p "$T/b-broken.json"
has_table "$ns" ivozfw_b && fail "remove --table ivozfw_b left it"
has_table "$ns" ivozfw || fail "remove --table ivozfw_b took table ivozfw"
in_ns "$ns" nft delete table inet ivozfw

# A state directory that cannot be written: a writer says it runs without the writers' lock;
# a reader does not.
touch "$T/not-a-dir"
expect_exit 0 ivz "$ns" apply -p "$T/b.json"
in_ns "$ns" nft add element inet ivozfw_b admin_v4 "{ 192.0.2.99 }" || fail "a change for apply to undo"
expect_exit 3 ivz "$ns" --state-dir "$T/not-a-dir/state" apply -p "$T/b.json"
expect_contains "no writers' lock" "$ERR" "apply without a state directory"
expect_contains "committed, but" "$ERR" "apply without a state directory (it committed)"
expect_exit 0 ivz "$ns" --state-dir "$T/not-a-dir/state" diff -p "$T/b.json"   # applied
expect_not_contains "writers' lock" "$ERR" "diff without a state directory"
expect_exit 0 ivz "$ns" remove -p "$T/b.json"

pass
