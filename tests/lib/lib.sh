# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for the root-only kernel and packet tests (tests/kernel, tests/packet).
#
# A test is `bash tests/<kind>/<name>.sh /path/to/ivozfw` (ctest passes the binary and sets
# IVOZFW_SRC to the source tree). It sources this file first:
#
#   . "$(dirname "$0")/../lib/lib.sh"
#   ns=$(new_ns)                      # fresh network namespace, deleted on exit
#   ivz "$ns" apply -p "$policy"      # ivozfw inside that namespace
#   pass
#
# Nothing here touches the host's own ruleset: ivozfw and nft only ever run through
# `ip netns exec` in namespaces this file created.
set -uo pipefail

TEST_NAME=$(basename "$0" .sh)
IVOZFW=${1:-${IVOZFW:-}}
IVOZFW_SRC=${IVOZFW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LIB_DIR="$IVOZFW_SRC/tests/lib"
# IVOZFW_TEST_BASE_POLICY replaces the shipped policy as the base of every test (diagnostics).
SHIPPED_POLICY=${IVOZFW_TEST_BASE_POLICY:-$IVOZFW_SRC/rules/ivozprovider.json}

_die_early() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
[ -n "$IVOZFW" ] || _die_early "usage: bash $0 /path/to/ivozfw"
[ -x "$IVOZFW" ] || _die_early "$IVOZFW is not an executable"
IVOZFW=$(readlink -f "$IVOZFW")
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: $TEST_NAME: needs root (network namespaces)" >&2
    exit 77
fi
for tool in ip nft jq python3 timeout; do
    command -v "$tool" >/dev/null || _die_early "missing tool: $tool"
done
# The real interpreter, not a pyenv shim: faster, and the same inside every namespace.
PY=$(python3 -c 'import sys; print(sys.executable)')

# An SSH session of whoever runs the suite must not trigger ivozfw's lockout guard.
unset SSH_CONNECTION SSH_CLIENT IVOZFW_POLICY IVOZFW_TEST_RACE IVOZFW_TEST_RACE_ALWAYS IVOZFW_INJECT_FAILURE

T=$(mktemp -d "/tmp/ivozfw-$TEST_NAME.XXXXXX")
chmod 700 "$T"
# ivozfw writes last-apply.json even without --confirm: never into /var/lib on the host.
export IVOZFW_STATE_DIR="$T/state"
_NS_LIST="$T/.netns"
_BG_LIST="$T/.bgpids"
: >"$_NS_LIST"
: >"$_BG_LIST"
_NS_SEQ=0

_cleanup() {
    local rc=$? pid ns
    set +e
    while read -r pid; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done <"$_BG_LIST"
    while read -r ns; do
        [ -n "$ns" ] || continue
        # Processes left in our namespaces (listeners, ivozfw rollback watchers): by id.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done <"$_NS_LIST"
    if [ "$rc" -ne 0 ] && [ -n "${KEEP_TMP:-}" ]; then
        echo "($TEST_NAME: temp dir kept: $T)" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $TEST_NAME: $*" >&2
    exit 1
}

pass() {
    echo "PASS: $TEST_NAME"
    exit 0
}

log() { echo "[$TEST_NAME] $*" >&2; }

# new_ns VAR [label] : create a fresh namespace (lo up), deleted when the test exits, and
# store its name in the variable VAR.
new_ns() {
    local var=$1 label=${2:-ns} name
    _NS_SEQ=$((_NS_SEQ + 1))
    name="ivzt-${TEST_NAME:0:20}-$label-$$-$_NS_SEQ"
    ip netns add "$name" || fail "ip netns add $name"
    echo "$name" >>"$_NS_LIST"
    ip -n "$name" link set lo up || fail "lo up in $name"
    printf -v "$var" '%s' "$name"
}

# in_ns NS cmd... : run a command inside a namespace.
in_ns() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# ivz NS args... : run ivozfw inside a namespace (bounded, so a hang fails the test).
ivz() {
    local ns=$1
    shift
    ip netns exec "$ns" timeout "${IVZ_TIMEOUT:-120}" "$IVOZFW" "$@"
}

# bg_pid PID : remember a background process to kill at exit.
bg_pid() { echo "$1" >>"$_BG_LIST"; }

# run cmd... : run, keep stdout in $OUT, stderr in $ERR, exit code in $RC (never fails).
OUT= ERR= RC=0
run() {
    "$@" >"$T/.out" 2>"$T/.err"
    RC=$?
    OUT=$(cat "$T/.out")
    ERR=$(cat "$T/.err")
    return 0
}

# expect_exit CODE cmd... : run (as `run`), fail unless it exits CODE. Output in $OUT/$ERR.
expect_exit() {
    local want=$1
    shift
    run "$@"
    if [ "$RC" != "$want" ]; then
        fail "expected exit $want, got $RC from: $*
--- stdout:
$(printf '%s\n' "$OUT" | head -40)
--- stderr:
$(printf '%s\n' "$ERR" | head -40)"
    fi
}

# expect_contains TEXT HAYSTACK [what]
expect_contains() {
    case "$2" in
    *"$1"*) ;;
    *) fail "${3:-output} does not contain \"$1\":
$(printf '%s\n' "$2" | head -40)" ;;
    esac
}

# expect_not_contains TEXT HAYSTACK [what]
expect_not_contains() {
    case "$2" in
    *"$1"*) fail "${3:-output} unexpectedly contains \"$1\":
$(printf '%s\n' "$2" | grep -F -- "$1" | head -10)" ;;
    esac
}

# expect_match ERE HAYSTACK [what]
expect_match() {
    printf '%s\n' "$2" | grep -Eq -- "$1" || fail "${3:-output} does not match /$1/:
$(printf '%s\n' "$2" | head -40)"
}

# expect_same A B what : two strings must be identical (a diff is printed when not).
expect_same() {
    [ "$1" == "$2" ] && return 0
    printf '%s\n' "$1" >"$T/.a"
    printf '%s\n' "$2" >"$T/.b"
    fail "$3 differ:
$(diff -u "$T/.a" "$T/.b" | head -60)"
}

# write_policy FILE < text : a policy file, mode 600 (ivozfw refuses world-writable ones).
write_policy() {
    local f=$1
    cat >"$f" || fail "cannot write $f"
    chmod 600 "$f"
}

# edit_policy OUT [--from FILE] [-e PYTHON]... : the shipped policy (or FILE), comments
# stripped, with Python statements applied to the dict `p`; written mode 600.
edit_policy() {
    "$PY" "$LIB_DIR/policy.py" "$@" || fail "edit_policy $*"
}

# shipped_policy OUT : the shipped policy, copied mode 600.
shipped_policy() {
    [ -s "$SHIPPED_POLICY" ] || fail "shipped policy $SHIPPED_POLICY is missing"
    install -m 600 "$SHIPPED_POLICY" "$1" || fail "copy $SHIPPED_POLICY"
}

# JSON filter for comparing kernel states: deletes every "handle" member, sorts set elements
# (the kernel lists some set types in insertion order) and sorts the objects by kind, table
# and chain/name (the listing follows creation order). sort_by is stable, so the rules of a
# chain keep their order, which does carry meaning.
_JQ_NOHANDLE='walk(if type == "object" then del(.handle)
    | (if (.elem? | type) == "array" then .elem |= sort_by(tojson) else . end) else . end)
  | if (.nftables? | type) == "array" then .nftables |= sort_by(
      (to_entries[0]) as $e | [$e.key, $e.value.family // "", $e.value.table // $e.value.name // "",
                               $e.value.chain // $e.value.name // ""]) else . end'
# JSON filter keeping only objects outside table inet ivozfw (metainfo dropped).
_JQ_FOREIGN='.nftables | map(select(has("metainfo") | not)) | map(select(
    (to_entries[0]) as $e
    | ($e.value.family == "inet" and (($e.key == "table" and $e.value.name == "ivozfw")
                                      or ($e.value.table? == "ivozfw"))) | not))'

# ruleset_raw NS : `nft -j list ruleset`, handles included, pretty and stable.
ruleset_raw() {
    in_ns "$1" nft -j list ruleset | jq -S . || fail "nft -j list ruleset in $1"
}

# ruleset_json NS : `nft -j list ruleset` without handles, set elements sorted.
ruleset_json() {
    in_ns "$1" nft -j list ruleset | jq -S "$_JQ_NOHANDLE" || fail "nft -j list ruleset in $1"
}

# table_json NS [table] : `nft -j list table inet T` without handles and metainfo, set
# elements sorted.
table_json() {
    in_ns "$1" nft -j list table inet "${2:-ivozfw}" |
        jq -S "$_JQ_NOHANDLE | .nftables | map(select(has(\"metainfo\") | not))" ||
        fail "nft -j list table inet ${2:-ivozfw} in $1"
}

# foreign_json NS : everything but table inet ivozfw, handles included.
foreign_json() {
    in_ns "$1" nft -j list ruleset | jq -S "$_JQ_FOREIGN" || fail "nft -j list ruleset in $1"
}

# has_table NS [table] : exit 0 when table inet T exists in NS.
has_table() {
    in_ns "$1" nft list table inet "${2:-ivozfw}" >/dev/null 2>&1
}

# counter_packets NS NAME : packets of named counter NAME in table inet ivozfw.
counter_packets() {
    in_ns "$1" nft -j list counter inet ivozfw "$2" | jq '[.nftables[] | .counter? | select(.) | .packets][0]' ||
        fail "cannot read counter $2"
}

# rule_handle NS CHAIN COMMENT : handle of the rule in inet ivozfw CHAIN with that comment.
rule_handle() {
    in_ns "$1" nft -j list chain inet ivozfw "$2" |
        jq -r --arg c "$3" '[.nftables[] | .rule? | select(. and .comment == $c) | .handle][0] // empty'
}

# wait_until SECONDS cmd... : poll every 0.2 s until cmd succeeds; 1 on timeout.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.2
    done
    return 0
}

# settle CMD... : CMD's output once it stops changing (two reads 0.1 s apart agree), within
# 5 s: for counts that packets still in flight may raise, instead of a guessed sleep.
settle() {
    local prev cur deadline=$((SECONDS + 5))
    prev=$("$@")
    while :; do
        sleep 0.1
        cur=$("$@")
        [ "$cur" == "$prev" ] && break
        [ "$SECONDS" -ge "$deadline" ] && break
        prev=$cur
    done
    printf '%s\n' "$cur"
}

# now_ms : milliseconds (for timings).
now_ms() { date +%s%3N; }

# link_pair FW CLIENT ADDR/LEN... : a veth between two namespaces: vfw in FW with 192.0.2.1/24
# and 2001:db8::1/64, vcl in CLIENT with the given addresses (documentation ranges only);
# each client network is routed from FW, and FW's networks from CLIENT.
link_pair() {
    local fw=$1 cl=$2 a net
    shift 2
    ip link add vfw netns "$fw" type veth peer name vcl netns "$cl" || fail "veth"
    in_ns "$fw" ip link set vfw up
    in_ns "$cl" ip link set vcl up
    in_ns "$fw" ip addr add 192.0.2.1/24 dev vfw
    in_ns "$fw" ip addr add 2001:db8::1/64 dev vfw nodad
    for a in "$@"; do
        case "$a" in
        *:*) in_ns "$cl" ip addr add "$a" dev vcl nodad ;;
        *) in_ns "$cl" ip addr add "$a" dev vcl ;;
        esac
        net=$("$PY" -c 'import ipaddress, sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$a")
        in_ns "$fw" ip route replace "$net" dev vfw || fail "route $net"
    done
    in_ns "$cl" ip route replace 192.0.2.0/24 dev vcl
    in_ns "$cl" ip -6 route replace 2001:db8::/64 dev vcl
}

# reach KIND HOST PORT [args] / blocked KIND HOST PORT [args] : a probe.py probe (tcp, udp,
# ping) from namespace $PROBE_NS must get through / must time out (a silent drop).
reach() {
    local r
    r=$(in_ns "$PROBE_NS" "$PY" "$LIB_DIR/probe.py" "$@") || fail "$1 to $2 port $3 ${*:4}: $r (expected it to get through)"
}
blocked() {
    local r
    r=$(in_ns "$PROBE_NS" "$PY" "$LIB_DIR/probe.py" "$@" ${BLOCKED_TIMEOUT:+--timeout $BLOCKED_TIMEOUT})
    [ "$r" == timeout ] || fail "$1 to $2 port $3 ${*:4}: $r (expected a silent drop: timeout)"
}

# listen_in NS LOG LIFETIME [--tcp P,..] [--udp P,..] : start probe.py's listener in NS,
# logging what arrives to LOG; killed at exit; returns once every socket is bound.
listen_in() {
    local ns=$1 logf=$2 life=$3
    shift 3
    rm -f "$logf.ready"
    in_ns "$ns" "$PY" "$LIB_DIR/probe.py" listen "$@" --log "$logf" --ready "$logf.ready" --lifetime "$life" &
    bg_pid $!
    wait_until 10 test -e "$logf.ready" || fail "listener in $ns did not start"
}
