#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every shipped unit passes `systemd-analyze verify`, and every service scores an exposure
# of at most MAX_EXPOSURE in `systemd-analyze security --offline=true` (printed).
# The boot order: ivozfw.service after the units that load a whole ruleset (nftables.service...),
# ivozfw-watch.service after it, and no ordering cycle with Debian's nftables.service.
# $1: the ivozfw binary (ExecStart= points at it, so verify finds an executable).
set -uo pipefail
src=${IVOZFW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$(readlink -f "${1:-}")
MAX_EXPOSURE=${MAX_EXPOSURE:-3.0}
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd_units: no systemd-analyze" >&2; exit 77; }
[ -x "$bin" ] || { echo "FAIL: systemd_units: usage: $0 /path/to/ivozfw" >&2; exit 1; }

d=$(mktemp -d /tmp/ivozfw-units.XXXXXX)
trap 'rm -rf "$d"' EXIT
# configure_file's @CMAKE_INSTALL_FULL_SBINDIR@/ivozfw -> the built binary
for f in "$src"/systemd/*.in; do
    n=$(basename "$f" .in)
    sed "s|@CMAKE_INSTALL_FULL_SBINDIR@/ivozfw|$bin|g" "$f" >"$d/$n"
    grep -q '@[A-Z_]*@' "$d/$n" && { echo "FAIL: systemd_units: $n: unconfigured @VAR@ left" >&2; exit 1; }
done
cp "$src"/systemd/*.timer "$src"/systemd/*.path "$d/"

rc=0
cd "$d" || exit 1
for u in *.service *.timer *.path; do
    # man:ivozfw(8) is not installed here: that warning only.
    out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$d/$u" 2>&1)
    if [ -n "$out" ]; then
        echo "FAIL: systemd_units: systemd-analyze verify $u:" >&2
        echo "$out" >&2
        rc=1
    fi
done
for u in *.service; do
    line=$(systemd-analyze security --offline=true --no-pager "$d/$u" 2>&1 | grep -a 'Overall exposure level')
    score=$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line")
    if [ -z "$score" ]; then
        echo "FAIL: systemd_units: no exposure score for $u" >&2
        rc=1
        continue
    fi
    echo "exposure $u: $score"
    if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
        echo "FAIL: systemd_units: $u exposure $score > $MAX_EXPOSURE" >&2
        rc=1
    fi
done
# Boot order. ivozfw.service after every unit that loads a whole ruleset (its flush first),
# before the network; ivozfw-watch.service after ivozfw.service, wanting it without requiring
# it (a failed boot apply must not keep the watch from restoring the last committed table).
prop() { sed -n "s/^$2=//p" "$d/$1" | tr '\n' ' '; }
has() {   # has UNIT KEY WORD
    grep -qw -- "$3" <<<"$(prop "$1" "$2")" || { echo "FAIL: systemd_units: $1: $2= lacks $3" >&2; rc=1; }
}
for u in nftables.service netfilter-persistent.service firewalld.service ferm.service ufw.service; do
    has ivozfw.service After "$u"
done
has ivozfw.service Before network-pre.target
# A boot apply with warnings (exit 3: a database not up yet, its lists from their last good
# copies) leaves the unit up, so the units that are Requisite= on it still start.
has ivozfw.service SuccessExitStatus 3
for u in ivozfw-platform.service ivozfw-bansync.service ivozfw-companies.service ivozfw-geoip.service; do
    has "$u" Requisite ivozfw.service
done
has ivozfw-platform.service SuccessExitStatus 3
has ivozfw-watch.service After ivozfw.service
has ivozfw-watch.service Wants ivozfw.service
has ivozfw-watch.service Restart always
has ivozfw-watch.service ExecStart watch
has ivozfw-watch.service Before network-pre.target
for k in Requires Requisite BindsTo; do
    [ -z "$(prop ivozfw-watch.service $k)" ] || { echo "FAIL: systemd_units: ivozfw-watch.service has $k=" >&2; rc=1; }
done
# With Debian's own nftables.service beside them (installed by scripts/setup.sh): no ordering
# cycle, and nftables.service does not order itself after ivozfw.
if [ -f /lib/systemd/system/nftables.service ]; then
    cp /lib/systemd/system/nftables.service "$d/"
    grep -q ivozfw "$d/nftables.service" && { echo "FAIL: systemd_units: nftables.service names ivozfw" >&2; rc=1; }
    out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$d/nftables.service" "$d/ivozfw.service" \
        "$d/ivozfw-watch.service" 2>&1 | grep -v "nft: command\|/usr/sbin/nft")
    [ -z "$out" ] || { echo "FAIL: systemd_units: verify with nftables.service: $out" >&2; rc=1; }
    echo "boot order: nftables.service -> ivozfw.service -> ivozfw-watch.service -> network-pre.target"
else
    echo "FAIL: systemd_units: /lib/systemd/system/nftables.service is missing (package nftables)" >&2
    rc=1
fi
[ "$rc" = 0 ] && echo "PASS: systemd_units"
exit "$rc"
