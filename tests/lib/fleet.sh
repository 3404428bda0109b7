# SPDX-License-Identifier: GPL-2.0-or-later
# Three firewall hosts on one LAN, the platform's Redis (master, replica, three sentinels)
# and its MariaDB (BannedAddresses): the topology of the fleet tests (tests/packet/fleet_*.sh)
# and benchmark (tests/bench/fleet_bench.sh). Source after lib.sh; it sources mariadb.sh,
# redis.sh and sipp/env.sh itself. Documentation addresses only, in namespaces the test
# creates; servers listen on namespace addresses or on a unix socket under $T.
#
#   namespace $lan      bridge br0 (no address): the LAN
#   hosts A B C         ${H_NS[X]}, 192.0.2.11-13 + 2001:db8::11-13, each its own state dir
#                       ($T/state-X) and policy ($T/policy-X.json), host name proxy-a/b/c
#   $rns                redis: 192.0.2.201 master, .202 replica, .203-.205 sentinels (26379)
#   $atk                attackers: 198.51.100.7 (the flooder), .99 (antiflood_trusted on B),
#                       .10-.79 (ATK_SRCS), 2001:db8:0:1::a
#   MariaDB             unix socket under $T, IvozProvider's tables + BannedAddresses
#
#   fleet_up [--no-fleet] [--no-uas]   all of the above; policies applied on A, B, C, sipp
#                       UAS on each host's address port 5060; MariaDB and Redis always started.
#                       --no-fleet: policies without the fleet and platform sections (for a
#                       binary without the feature)
#   hz X args...        ivozfw in host X's namespace with X's state dir
#   bansync_start X     `ivozfw bansync -p` in the background, stderr to $T/bansync-X.log;
#                       returns once the log says it is connected ($E_CONNECTED)
#   bansync_stop X      SIGTERM; sets BANSYNC_RC
#   bansync_alive X     exit 0 when its process is still running
#   watch_start         a fleet_tool.py watcher per host: $T/watch-X.log (JSON lines)
#   in_ban X ADDR       exit 0 when ADDR is in X's ban_v4/ban_v6 (nft get element)
#   wait_ban X ADDR S / wait_unban X ADDR S   poll every 20 ms for up to S seconds
#   flood_a SRC...      fleet_tool.py flood: 40 OPTIONS at 300/s per source to A
#   fleet_rcli args...  redis-cli as admin, on $FLEET_MASTER (set it after a failover)
#   fleet_live_keys     "KEY PTTL_MS VALUE" of every ivozfw:ban:* key, in one round trip
#   banned_rows IP      "blocker|lastTimeBanned|brandId|companyId" rows for IP, ordered by id
. "$IVOZFW_SRC/tests/packet/sipp/env.sh"
. "$LIB_DIR/mariadb.sh"
REDIS_PASSWORD=${REDIS_PASSWORD:-fleet-admin-pw}
# Set REDIS_USER= or SENTINEL_PASSWORD= (empty) in the environment to go without them.
REDIS_USER=${REDIS_USER-ivozfw}
REDIS_USER_PASSWORD=${REDIS_USER_PASSWORD-fleet-user-pw}
SENTINEL_PASSWORD=${SENTINEL_PASSWORD-fleet-sentinel-pw}
. "$LIB_DIR/redis.sh"

FLEET_TOOL="$LIB_DIR/fleet_tool.py"
FLEET_HOSTS="A B C"
declare -A H_NS=() H_ADDR=([A]=192.0.2.11 [B]=192.0.2.12 [C]=192.0.2.13)
declare -A H_ADDR6=([A]=2001:db8::11 [B]=2001:db8::12 [C]=2001:db8::13)
declare -A H_NAME=([A]=proxy-a [B]=proxy-b [C]=proxy-c) H_POLICY=() H_STATE=() H_BANSYNC=()
REDIS_M=192.0.2.201 REDIS_R=192.0.2.202 REDIS_SENTINELS="192.0.2.203 192.0.2.204 192.0.2.205"
FLOODER=198.51.100.7 B_TRUSTED=198.51.100.99 FLOODER6=2001:db8:0:1::a
ATK_SRCS=$(for i in $(seq 10 79); do printf '198.51.100.%s ' "$i"; done)
FLEET_URL="sentinel://192.0.2.203:26379,192.0.2.204:26379,192.0.2.205:26379/$REDIS_MASTER_NAME"
FLEET_CNF="$T/fleet.cnf"
FLEET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')   # the fleet's signing key
# Anti-flood tuned low, as in antiflood_udp.sh: a flood of 40 at 300/s is banned at once.
RATE=${RATE:-10} BURST=${BURST:-20} BAN=${BAN:-30}
# What bansync's log says once it is connected (approximate wording: one place to edit).
E_CONNECTED=${E_CONNECTED:-"bansync: connected to redis master"}

hz() {
    local h=$1
    shift
    IVOZFW_STATE_DIR="${H_STATE[$h]}" ivz "${H_NS[$h]}" "$@"
}

fleet_up() {
    local fleet=1 uas=1 h a
    while [ $# -gt 0 ]; do
        case $1 in
        --no-fleet) fleet=0 ;;
        --no-uas) uas=0 ;;
        *) fail "fleet_up: unknown option $1" ;;
        esac
        shift
    done
    new_ns lan lan
    in_ns "$lan" ip link add br0 type bridge || fail "bridge"
    in_ns "$lan" ip link set br0 up
    AF_BRIDGE_NS=$lan
    for h in $FLEET_HOSTS; do
        af_client "H_NS[$h]" "host$h" "${H_ADDR[$h]}" "${H_ADDR6[$h]}"
        H_STATE[$h]="$T/state-$h"
        mkdir -p "${H_STATE[$h]}"
    done
    # shellcheck disable=SC2086
    af_client rns redis $REDIS_M $REDIS_R $REDIS_SENTINELS
    # shellcheck disable=SC2086
    af_client atk attack $FLOODER $B_TRUSTED $ATK_SRCS $FLOODER6

    db_start
    db_banned_table
    db_creds "$T/db.cnf"
    redis_start "$rns" $REDIS_M 6379
    redis_start "$rns" $REDIS_R 6379 replicaof $REDIS_M 6379
    redis_wait_replica $REDIS_R 6379
    for a in $REDIS_SENTINELS; do sentinel_start "$rns" "$a" 26379 $REDIS_M 6379; done
    for a in $REDIS_SENTINELS; do sentinel_wait_ready "$a" 26379; done
    FLEET_MASTER="$REDIS_M 6379"
    # The credentials file: key = value, a [section] line the reader ignores.
    {
        printf '[fleet]\n'
        printf 'key = %s\n' "$FLEET_KEY"
        if [ -n "$REDIS_USER" ]; then
            printf 'user = %s\npassword = %s\n' "$REDIS_USER" "$REDIS_USER_PASSWORD"
        else
            printf 'password = %s\n' "$REDIS_PASSWORD"
        fi
        [ -n "$SENTINEL_PASSWORD" ] && printf 'sentinel_password = %s\n' "$SENTINEL_PASSWORD"
    } >"$FLEET_CNF"
    chown root "$FLEET_CNF" && chmod 600 "$FLEET_CNF"
    for h in $FLEET_HOSTS; do
        H_POLICY[$h]="$T/policy-$h.json"
        local e=(-e "p['antiflood'].update({'rate': '$RATE/second', 'burst': $BURST, 'ban': '${BAN}s'})")
        [ "$h" = B ] && e+=(-e "p['lists']['antiflood_trusted'] = ['$B_TRUSTED']")
        if [ $fleet = 1 ]; then
            e+=(-e "p['fleet'] = {'redis': '$FLEET_URL', 'credentials': '$FLEET_CNF', 'host': '${H_NAME[$h]}', 'max_ban': '1h'}")
            e+=(-e "p['platform'] = {'database': 'mysql:$T/db.cnf'}")
        fi
        edit_policy "${H_POLICY[$h]}" "${e[@]}"
        run hz "$h" apply -p "${H_POLICY[$h]}"
        [ "$RC" = 0 ] || fail "apply on host $h: exit $RC: $ERR"
        [ $uas = 1 ] && sip_uas "${H_ADDR[$h]}" 5060 "${H_NS[$h]}"
    done
    return 0
}

bansync_start() {
    local h=$1 lines=0
    [ -e "$T/bansync-$h.log" ] && lines=$(wc -l <"$T/bansync-$h.log")
    IVOZFW_STATE_DIR="${H_STATE[$h]}" ip netns exec "${H_NS[$h]}" "$IVOZFW" bansync -p "${H_POLICY[$h]}" \
        >>"$T/bansync-$h.out" 2>>"$T/bansync-$h.log" &
    H_BANSYNC[$h]=$!
    bg_pid $!
    wait_until 15 sh -c "tail -n +$((lines + 1)) '$T/bansync-$h.log' | grep -qF -- '$E_CONNECTED'" ||
        fail "bansync on $h: no \"$E_CONNECTED\" in 15 s: $(tail -20 "$T/bansync-$h.log")"
}

BANSYNC_RC=
bansync_stop() {
    local h=$1 pid=${H_BANSYNC[$1]:-} i
    [ -n "$pid" ] || fail "bansync_stop $h: not running"
    kill -TERM "$pid"
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && fail "bansync on $h still running 5 s after SIGTERM"
    wait "$pid"
    BANSYNC_RC=$?
    H_BANSYNC[$h]=
}

bansync_alive() { [ -n "${H_BANSYNC[$1]:-}" ] && kill -0 "${H_BANSYNC[$1]}" 2>/dev/null; }

watch_start() {
    local h
    for h in $FLEET_HOSTS; do
        rm -f "$T/watch-$h.ready"
        in_ns "${H_NS[$h]}" "$PY" "$FLEET_TOOL" watch --log "$T/watch-$h.log" --ready "$T/watch-$h.ready" \
            --interval "${WATCH_INTERVAL:-0.005}" --lifetime 900 &
        bg_pid $!
    done
    for h in $FLEET_HOSTS; do
        wait_until 10 test -e "$T/watch-$h.ready" || fail "ban watcher on $h did not start"
    done
}

_ban_set() { case $1 in *:*) echo ban_v6 ;; *) echo ban_v4 ;; esac; }
in_ban() { in_ns "${H_NS[$1]}" nft get element inet ivozfw "$(_ban_set "$2")" "{ $2 }" >/dev/null 2>&1; }
_poll() {  # _poll SECONDS cmd... : every 20 ms
    local deadline=$(($(now_ms) + $1 * 1000))
    shift
    until "$@"; do
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.02
    done
}
wait_ban() { _poll "$3" in_ban "$1" "$2"; }
_not_in_ban() { ! in_ban "$1" "$2"; }
wait_unban() { _poll "$3" _not_in_ban "$1" "$2"; }

flood_a() { in_ns "$atk" "$PY" "$FLEET_TOOL" flood "${H_ADDR[A]}" 5060 300 40 "$@"; }

# fleet_rcli args... : redis-cli as admin against $FLEET_MASTER ("ADDR PORT"; after a
# failover the test sets it to $REDIS_NEW_MASTER), or the master the sentinels name when empty.
FLEET_MASTER=
# fleet_sign JSON [KEY] : the message as a host of the fleet sends it: "ts" now unless given,
# "sig" = HMAC-SHA256 under KEY (default FLEET_KEY) of the compact, key-sorted JSON without
# "sig", as ivozfw signs (fleet/message.h). Prints JSON that is not an object unchanged.
fleet_sign() {
    "$PY" - "$1" "${2:-$FLEET_KEY}" <<'EOF'
import hashlib, hmac, json, sys, time
text, key = sys.argv[1], sys.argv[2]
try:
    j = json.loads(text)
except ValueError:
    j = None
if not isinstance(j, dict):
    print(text)
    sys.exit(0)
j.pop("sig", None)
j.setdefault("ts", int(time.time() * 1000))
body = json.dumps(j, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
j["sig"] = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
print(json.dumps(j, separators=(",", ":"), sort_keys=True, ensure_ascii=False))
EOF
}

fleet_rcli() {
    local m=$FLEET_MASTER
    [ -n "$m" ] || m=$(redis_master "$rns" 192.0.2.203 26379)
    [ -n "$m" ] || m=$(redis_master "$rns" 192.0.2.204 26379)
    redis_cli "$rns" "${m% *}" "${m#* }" "$@"
}

# fleet_live_keys : one line "KEY PTTL_MS VALUE" per ivozfw:ban:* key, read in one round trip.
fleet_live_keys() {
    # raw output (not a terminal): one element a line; the values are one-line JSON
    fleet_rcli EVAL "local r = {} for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
        r[#r + 1] = k .. ' ' .. redis.call('PTTL', k) .. ' ' .. (redis.call('GET', k) or '') end return r" 0 'ivozfw:ban:*'
}

banned_rows() {
    db_sql "SELECT blocker, lastTimeBanned, IFNULL(brandId, 'NULL'), IFNULL(companyId, 'NULL')
            FROM BannedAddresses WHERE ip = $(_q "$1") ORDER BY id" | tr '\t' '|'
}
