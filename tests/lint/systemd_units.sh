#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every shipped unit passes `systemd-analyze verify`, and every service scores an exposure
# of at most MAX_EXPOSURE in `systemd-analyze security --offline=true` (printed).
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
[ "$rc" = 0 ] && echo "PASS: systemd_units"
exit "$rc"
