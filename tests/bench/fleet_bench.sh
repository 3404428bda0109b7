#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): ban propagation across the fleet (issue 11). Three hosts, Redis with
# sentinels and MariaDB as in tests/packet/fleet_bans.sh, `ivozfw bansync` on each host.
# Bans are put into A's ban_v4 with `nft add element` (N elements in one command: what the
# packet path would add), and bansync publishes what appears:
#   - 1 source (repeated), 50 and 500 at once: latency from the element appearing in A's set
#     to it appearing in B's and C's (p50 / p99 / max), and until the last one arrived;
#   - the 500 burst: CPU time (utime + stime, + waited-for children, from /proc/PID/stat) and peak RSS (VmHWM, reset
#     through clear_refs before the burst) of bansync on A (publisher + BannedAddresses) and on
#     B (subscriber), how many "applied" transactions B logged, how long until BannedAddresses
#     held the 500 rows.
# Usage: sudo tests/bench/fleet_bench.sh [build/ivozfw] [repeat-1-source=10]
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(readlink -f "${1:-$here/build/ivozfw}")
REPEAT1=${2:-10}
set -- "$bin"
. "$here/tests/lib/lib.sh"
. "$LIB_DIR/fleet.sh"
set +e

E_APPLIED_RE=${E_APPLIED_RE:-"bansync: applied ([0-9]+) bans?"}   # "applied N bans from proxy-a in one transaction"
TIMEOUT=10m                                                         # the bench's bans outlive it

# 561 documentation addresses, none of them a host, Redis, an attacker or the admin (192.0.2.10).
pool=()
for i in $(seq 20 199); do pool+=("192.0.2.$i"); done
for i in $(seq 100 254); do pool+=("198.51.100.$i"); done
for i in $(seq 1 254); do pool+=("203.0.113.$i"); done
next=0
take() {  # take N : the next N addresses of the pool into the array NEW
    NEW=("${pool[@]:$next:$1}")
    next=$((next + $1))
    [ "${#NEW[@]}" = "$1" ] || fail "address pool exhausted"
}

fleet_up --no-uas
watch_start
for h in $FLEET_HOSTS; do bansync_start "$h"; done

cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }   # utime stime cutime cstime
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
arrived() {  # arrived HOST T0 SECONDS ADDR... : HOST's watcher saw every ADDR after T0
    local h=$1 t0=$2 s=$3
    shift 3
    "$PY" "$FLEET_TOOL" wait "$T/watch-$h.log" --after "$t0" --timeout "$s" "$@" >/dev/null
}
ban_a() {  # ban_a ADDR... : one `nft add element` in A
    in_ns "${H_NS[A]}" nft add element inet ivozfw ban_v4 "{ $(printf '%s timeout '$TIMEOUT',' "$@" | sed 's/,$//') }" ||
        fail "nft add element in A"
}
report() {  # report LABEL T0 ADDR... (sets LAST: ms from T0 to the last arrival on B or C)
    local label=$1 t0=$2 lat
    shift 2
    lat=$("$PY" "$FLEET_TOOL" latency --origin "$T/watch-A.log" --log "$T/watch-B.log" --log "$T/watch-C.log" --after "$t0" "$@")
    printf '%-22s samples %4s  p50 %5s ms  p99 %5s ms  max %5s ms  missing %s\n' "$label" \
        "$(jq .n <<<"$lat")" "$(jq .p50 <<<"$lat")" "$(jq .p99 <<<"$lat")" "$(jq .max <<<"$lat")" "$(jq '.missing | length' <<<"$lat")"
    LAST=$(jq .last_after <<<"$lat")
}

echo "fleet bench: $bin; hosts A B C, bansync pids A=${H_BANSYNC[A]} B=${H_BANSYNC[B]} C=${H_BANSYNC[C]}"

# --- 1 source, repeated ---------------------------------------------------------------------------
t0=$(now_ms)
ones=()
for r in $(seq "$REPEAT1"); do
    take 1
    ones+=("${NEW[@]}")
    t1=$(now_ms)
    ban_a "${NEW[@]}"
    arrived B "$t1" 10 "${NEW[@]}"
    arrived C "$t1" 10 "${NEW[@]}"
    sleep 0.2
done
report "1 source x $REPEAT1" "$t0" "${ones[@]}"

# --- 50 and 500 at once -----------------------------------------------------------------------------
for n in 50 500; do
    take "$n"
    sleep 1
    declare -A c0=() h0=() r0=()
    for h in A B; do
        p=${H_BANSYNC[$h]}
        echo 5 >"/proc/$p/clear_refs" 2>/dev/null   # reset VmHWM to the current RSS
        c0[$h]=$(cpu_ticks "$p") r0[$h]=$(rss_kib "$p") h0[$h]=$(hwm_kib "$p")
    done
    lb=$(wc -l <"$T/bansync-B.log")
    rows0=$(db_sql "SELECT COUNT(*) FROM BannedAddresses")
    t0=$(now_ms)
    ban_a "${NEW[@]}"
    arrived B "$t0" 60 "${NEW[@]}"
    arrived C "$t0" 60 "${NEW[@]}"
    t_all=$(($(now_ms) - t0))
    wait_until 60 sh -c "[ \$(mariadb --no-defaults -S '$DB_SOCK' -u root -N -B ivozprovider -e 'SELECT COUNT(*) FROM BannedAddresses') -ge $((rows0 + n)) ]"
    t_db=$(($(now_ms) - t0))
    sleep 1   # let the services settle before reading their counters
    report "$n at once" "$t0" "${NEW[@]}"
    echo "  $n at once: last arrival on B or C $LAST ms after nft add (polled until all: $t_all ms);" \
        "BannedAddresses +$(($(db_sql "SELECT COUNT(*) FROM BannedAddresses") - rows0)) rows within $t_db ms"
    tx=$(tail -n +$((lb + 1)) "$T/bansync-B.log" | grep -cE "$E_APPLIED_RE")
    sum=$(tail -n +$((lb + 1)) "$T/bansync-B.log" | sed -nE "s/.*$E_APPLIED_RE.*/\\1/p" | awk '{s += $1} END {print s + 0}')
    echo "  $n at once: B logged $tx \"applied\" transactions for ${sum:-?} bans"
    for h in A B; do
        p=${H_BANSYNC[$h]}
        c1=$(cpu_ticks "$p")
        printf '  %s at once: bansync on %s: CPU %s ms (utime+stime, children included), RSS %s -> %s KiB, peak (VmHWM) %s KiB (before: %s)\n' "$n" "$h" \
            $(((c1 - c0[$h]) * 1000 / $(getconf CLK_TCK))) "${r0[$h]}" "$(rss_kib "$p")" "$(hwm_kib "$p")" "${h0[$h]}"
    done
done
for h in $FLEET_HOSTS; do
    bansync_alive "$h" || echo "bansync on $h died: $(tail -5 "$T/bansync-$h.log")"
    bansync_stop "$h"
done
pass
