# SPDX-License-Identifier: GPL-2.0-or-later
# Private Redis servers and sentinels for the fleet tests: processes started by the test
# inside namespaces it created, each listening on one namespace address (never the host's
# network), config, log and data under $T/redis, no systemd and no /etc/redis involved.
# Source after lib.sh (and after mariadb.sh when both are used: the EXIT trap is composed
# with whatever trap is already set, so both servers stop before lib.sh deletes $T):
#
#   . "$LIB_DIR/redis.sh"
#   REDIS_PASSWORD=pw                       # optional: requirepass on the servers, masterauth on
#                                           # replicas, sentinel auth-pass on sentinels
#   REDIS_USER=ivozfw REDIS_USER_PASSWORD=upw   # optional: an ACL user (keys and channels ivozfw:*)
#   SENTINEL_PASSWORD=spw                   # optional: requirepass on the sentinels
#   redis_start NS ADDR PORT [replicaof ADDR PORT]   # a server; returns once it answers PING
#   sentinel_start NS ADDR PORT MASTER_ADDR MASTER_PORT   # quorum 2, down-after 1000 ms,
#                                           # failover-timeout 3000 ms, master name $REDIS_MASTER_NAME
#   redis_wait_replica ADDR PORT            # the replica's link to its master is up
#   sentinel_wait_ready ADDR PORT [others [replicas]]   # the sentinel knows the other sentinels
#                                           # (2) and the replicas (1)
#   redis_cli NS ADDR PORT args...          # redis-cli as the admin (default user / sentinel pw)
#   redis_master NS ADDR PORT               # "ADDR PORT" of the master, asked to one sentinel
#   redis_kill [NS ADDR PORT]               # kill -9 the master (the one the sentinel names);
#                                           # sets REDIS_KILLED_ADDR/PORT and REDIS_KILLED_MS
#   wait_for_failover NS ADDR PORT OLD_ADDR [TIMEOUT_S]   # poll the sentinel until the master is
#                                           # not OLD_ADDR; sets FAILOVER_MS (since the kill when
#                                           # redis_kill ran, else since the call) and REDIS_NEW_MASTER
#   redis_stop ADDR PORT, redis_stop_all    # SIGTERM (then SIGKILL); all stopped at exit anyway
REDIS_DIR="$T/redis"
REDIS_MASTER_NAME=${REDIS_MASTER_NAME:-mymaster}
REDIS_PASSWORD=${REDIS_PASSWORD:-}
REDIS_USER=${REDIS_USER:-}
REDIS_USER_PASSWORD=${REDIS_USER_PASSWORD:-}
SENTINEL_PASSWORD=${SENTINEL_PASSWORD:-}
REDIS_KILLED_MS= REDIS_KILLED_ADDR= REDIS_KILLED_PORT= FAILOVER_MS= REDIS_NEW_MASTER=
declare -A _RDS_PID=() _RDS_NS=() _RDS_KIND=()

for tool in redis-server redis-sentinel redis-cli; do
    command -v "$tool" >/dev/null || _die_early "missing $tool (apt-get install redis-server redis-sentinel)"
done
mkdir -p "$REDIS_DIR" || fail "mkdir $REDIS_DIR"

redis_stop() {
    local key="$1:$2" pid i
    pid=${_RDS_PID[$key]:-}
    [ -n "$pid" ] || return 0
    kill -CONT "$pid" 2>/dev/null
    kill "$pid" 2>/dev/null
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    _RDS_PID[$key]=
}

redis_stop_all() {
    local key
    for key in "${!_RDS_PID[@]}"; do redis_stop "${key%:*}" "${key##*:}"; done
}

# Compose with the EXIT trap already set (lib.sh's _cleanup, maybe mariadb.sh's): stop
# the servers first, then run it with the original exit code.
_RDS_PREV_EXIT=
_rds_prev_trap() {   # a function: `set --` must not touch the script's own arguments
    [ -n "$(trap -p EXIT)" ] || return 0
    eval "set -- $(trap -p EXIT)"
    _RDS_PREV_EXIT=${3:-}
}
_rds_prev_trap
_redis_exit() {
    local rc=$?
    redis_stop_all
    (exit "$rc")
    eval "${_RDS_PREV_EXIT:-exit $rc}"
}
trap _redis_exit EXIT

# _rds_auth_args ADDR PORT : the redis-cli options for the admin of that instance.
_rds_pass() {
    if [ "${_RDS_KIND["$1:$2"]:-server}" = sentinel ]; then
        printf '%s' "$SENTINEL_PASSWORD"
    else
        printf '%s' "$REDIS_PASSWORD"
    fi
}

# redis_cli NS ADDR PORT args... : redis-cli inside NS (bounded), as the default user with
# the instance's password (the sentinel password for a sentinel).
redis_cli() {
    local ns=$1 addr=$2 port=$3 pw
    shift 3
    pw=$(_rds_pass "$addr" "$port")
    REDISCLI_AUTH=$pw ip netns exec "$ns" timeout 10 redis-cli --no-auth-warning -h "$addr" -p "$port" "$@"
}

# redis_user_cli NS ADDR PORT args... : redis-cli as the ACL user $REDIS_USER.
redis_user_cli() {
    local ns=$1 addr=$2 port=$3
    shift 3
    ip netns exec "$ns" timeout 10 redis-cli --no-auth-warning -h "$addr" -p "$port" \
        --user "$REDIS_USER" --pass "$REDIS_USER_PASSWORD" "$@"
}

_rds_ping() { [ "$(redis_cli "$1" "$2" "$3" PING 2>/dev/null)" = PONG ]; }

# redis_start NS ADDR PORT [replicaof MADDR MPORT]
redis_start() {
    local ns=$1 addr=$2 port=$3 d key="$2:$3"
    d="$REDIS_DIR/$addr-$port"
    mkdir -p "$d" || fail "mkdir $d"
    {
        printf 'bind %s\nport %s\nprotected-mode no\ndaemonize no\ndir %s\nlogfile %s/redis.log\n' "$addr" "$port" "$d" "$d"
        printf 'save ""\nappendonly no\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n'
        # One namespace may hold several servers: announce and connect from our own address,
        # or the master would see every replica at its own address.
        printf 'replica-announce-ip %s\nbind-source-addr %s\n' "$addr" "$addr"
        if [ -n "$REDIS_PASSWORD" ]; then
            printf 'requirepass %s\nmasterauth %s\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD"
        fi
        if [ -n "$REDIS_USER" ]; then
            # The service's own user: its keys and its channel only.
            printf 'user %s on >%s resetkeys ~ivozfw:* resetchannels &ivozfw:* +@all\n' "$REDIS_USER" "$REDIS_USER_PASSWORD"
        fi
        if [ "${4:-}" = replicaof ]; then
            printf 'replicaof %s %s\n' "$5" "$6"
        fi
    } >"$d/redis.conf"
    chmod 600 "$d/redis.conf"
    ip netns exec "$ns" redis-server "$d/redis.conf" >"$d/stdout" 2>&1 &
    _RDS_PID[$key]=$!
    _RDS_NS[$key]=$ns
    _RDS_KIND[$key]=server
    wait_until 10 _rds_ping "$ns" "$addr" "$port" ||
        fail "redis-server on $addr:$port did not start: $(tail -5 "$d/redis.log" "$d/stdout" 2>&1)"
}

# redis_wait_replica ADDR PORT : its replication link is up (10 s).
_rds_link_up() { redis_cli "${_RDS_NS["$1:$2"]}" "$1" "$2" INFO replication | grep -q '^master_link_status:up'; }
redis_wait_replica() {
    wait_until 10 _rds_link_up "$1" "$2" ||
        fail "replica $1:$2: link to its master not up: $(redis_cli "${_RDS_NS["$1:$2"]}" "$1" "$2" INFO replication | tr -d '\r')"
}

# sentinel_start NS ADDR PORT MASTER_ADDR MASTER_PORT
sentinel_start() {
    local ns=$1 addr=$2 port=$3 maddr=$4 mport=$5 d key="$2:$3" m=$REDIS_MASTER_NAME
    d="$REDIS_DIR/sentinel-$addr-$port"
    mkdir -p "$d" || fail "mkdir $d"
    {
        printf 'bind %s\nport %s\nprotected-mode no\ndaemonize no\ndir %s\nlogfile %s/sentinel.log\n' "$addr" "$port" "$d" "$d"
        printf 'sentinel announce-ip %s\n' "$addr"
        printf 'sentinel monitor %s %s %s 2\n' "$m" "$maddr" "$mport"
        printf 'sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 3000\n' "$m" "$m"
        printf 'sentinel parallel-syncs %s 1\n' "$m"
        [ -n "$REDIS_PASSWORD" ] && printf 'sentinel auth-pass %s %s\n' "$m" "$REDIS_PASSWORD"
        if [ -n "$SENTINEL_PASSWORD" ]; then
            # Clients must authenticate; the sentinels use the same password between themselves.
            printf 'requirepass %s\nsentinel sentinel-pass %s\n' "$SENTINEL_PASSWORD" "$SENTINEL_PASSWORD"
        fi
    } >"$d/sentinel.conf"
    chmod 600 "$d/sentinel.conf"   # the sentinel rewrites it (state): writable, ours only
    _RDS_KIND[$key]=sentinel
    ip netns exec "$ns" redis-sentinel "$d/sentinel.conf" >"$d/stdout" 2>&1 &
    _RDS_PID[$key]=$!
    _RDS_NS[$key]=$ns
    wait_until 10 _rds_ping "$ns" "$addr" "$port" ||
        fail "redis-sentinel on $addr:$port did not start: $(tail -5 "$d/sentinel.log" "$d/stdout" 2>&1)"
}

# _rds_sentinel_field NS ADDR PORT FIELD : one field of SENTINEL MASTER <name>.
_rds_sentinel_field() {
    redis_cli "$1" "$2" "$3" SENTINEL MASTER "$REDIS_MASTER_NAME" 2>/dev/null |
        awk -v f="$4" 'prev == f {print; exit} {prev = $0}'
}

# sentinel_wait_ready ADDR PORT [OTHERS=2 [REPLICAS=1]] : the sentinel has discovered the
# other sentinels and the replicas (hello messages every 2 s): failover needs them (20 s).
_rds_ready() {
    local ns=${_RDS_NS["$1:$2"]}
    [ "$(_rds_sentinel_field "$ns" "$1" "$2" num-other-sentinels)" = "$3" ] &&
        [ "$(_rds_sentinel_field "$ns" "$1" "$2" num-slaves)" = "$4" ] &&
        [ "$(_rds_sentinel_field "$ns" "$1" "$2" flags)" = master ]
}
sentinel_wait_ready() {
    local addr=$1 port=$2 others=${3:-2} replicas=${4:-1}
    wait_until 20 _rds_ready "$addr" "$port" "$others" "$replicas" ||
        fail "sentinel $addr:$port not ready (wants $others other sentinels, $replicas replicas): $(redis_cli "${_RDS_NS["$addr:$port"]}" "$addr" "$port" SENTINEL MASTER "$REDIS_MASTER_NAME" | paste -sd' ')"
}

# redis_master NS ADDR PORT : "ADDR PORT" of the master according to that sentinel.
redis_master() {
    redis_cli "$1" "$2" "$3" SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME" | paste -sd' '
}

# redis_kill [NS ADDR PORT] : kill -9 the current master, as named by the sentinel
# NS ADDR PORT (default: the first sentinel started).
_rds_first_sentinel() {
    local key
    for key in "${!_RDS_KIND[@]}"; do
        [ "${_RDS_KIND[$key]}" = sentinel ] && printf '%s %s %s\n' "${_RDS_NS[$key]}" "${key%:*}" "${key##*:}"
    done | sort -k2,2V | head -1
}
redis_kill() {
    local s m pid
    if [ $# -ge 3 ]; then s="$1 $2 $3"; else s=$(_rds_first_sentinel); fi
    [ -n "$s" ] || fail "redis_kill: no sentinel"
    # shellcheck disable=SC2086
    m=$(redis_master $s)
    [ -n "$m" ] || fail "redis_kill: the sentinel names no master"
    pid=${_RDS_PID["${m% *}:${m#* }"]:-}
    [ -n "$pid" ] || fail "redis_kill: the master $m is not one of ours"
    REDIS_KILLED_ADDR=${m% *} REDIS_KILLED_PORT=${m#* }
    kill -9 "$pid" || fail "kill -9 $pid (redis master $m)"
    REDIS_KILLED_MS=$(now_ms)
    wait "$pid" 2>/dev/null
    _RDS_PID["${m% *}:${m#* }"]=
}

# wait_for_failover NS ADDR PORT OLD_ADDR [TIMEOUT_S=20]
wait_for_failover() {
    local ns=$1 addr=$2 port=$3 old=$4 timeout=${5:-20} start m deadline
    start=${REDIS_KILLED_MS:-$(now_ms)}
    deadline=$((SECONDS + timeout))
    while :; do
        m=$(redis_master "$ns" "$addr" "$port" 2>/dev/null)
        if [ -n "$m" ] && [ "${m% *}" != "$old" ]; then break; fi
        [ "$SECONDS" -ge "$deadline" ] && fail "no failover within $timeout s: sentinel $addr:$port still names $m"
        sleep 0.05
    done
    FAILOVER_MS=$(($(now_ms) - start))
    REDIS_NEW_MASTER=$m
}
