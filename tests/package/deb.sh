#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, end to end, on this machine (root):
#   build it from a copy of the source tree (dpkg-buildpackage -us -uc -b, no unit tests),
#   check its files, modes, conffiles and maintainer scripts (dpkg-deb -c / -I / -e),
#   run lintian (no error, no warning that is not overridden),
#   install it (apt-get install ./ivozfw_*.deb): no unit enabled or started, no table created,
#   run the installed ivozfw: check on /etc/ivozfw/policy.json, apply in a network namespace,
#   upgrade to a repacked newer version over an edited policy: dpkg stops at the conffile
#   prompt instead of overwriting it, keeps it with --force-confold, re-applies nothing,
#   remove (the message about the table), purge: nothing of the package is left on disk,
#   and the host's `nft list tables` is the same at the end as at the start.
# $1 (the ivozfw built in build/) is not used: the package builds its own.
. "$(dirname "$0")/../lib/lib.sh"

skip() {
    echo "SKIP: $TEST_NAME: $*" >&2
    exit 77
}
[ -r /etc/debian_version ] && command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
    skip "not a Debian system (no apt-get/dpkg)"
# Never replace or purge an ivozfw that somebody else installed on this machine.
if dpkg-query -W -f='${db:Status-Status}' ivozfw 2>/dev/null | grep -qv '^not-installed$'; then
    skip "package ivozfw is already on this machine ($(dpkg-query -W -f='${db:Status-Abbrev}' ivozfw)); the test would replace and purge it"
fi
for p in /usr/sbin/ivozfw /etc/ivozfw /var/lib/ivozfw /lib/systemd/system/ivozfw.service /usr/share/ivozfw; do
    [ -e "$p" ] && skip "$p exists (an ivozfw installed without the package?); the test would overwrite and then delete it"
done
for tool in dpkg-buildpackage dpkg-checkbuilddeps dh lintian; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool (scripts/setup.sh installs dpkg-dev, debhelper, lintian)"
done

export DEBIAN_FRONTEND=noninteractive
PKG_INSTALLED=
_pkg_cleanup() {
    local rc=$?
    set +e
    if [ -n "$PKG_INSTALLED" ] && dpkg-query -W -f='${db:Status-Status}' ivozfw 2>/dev/null | grep -qv '^not-installed$'; then
        log "cleanup: purging ivozfw"
        dpkg --purge --force-remove-reinstreq ivozfw >/dev/null 2>&1 || dpkg --purge --force-all ivozfw >/dev/null 2>&1
        rm -rf /var/lib/ivozfw /etc/ivozfw
    fi
    return "$rc"
}
trap '_pkg_cleanup; _cleanup' EXIT

tables_before=$(nft list tables) || fail "nft list tables (host)"
check_host_tables() {
    local now
    now=$(nft list tables) || fail "nft list tables (host)"
    expect_same "$tables_before" "$now" "host namespace tables ($1: before vs now)"
}

# --- build, from a copy of the tree (no build/, no .git, nothing written into the checkout)
src="$T/src"
mkdir "$src"
tar -C "$IVOZFW_SRC" --exclude=./build --exclude='./build-*' --exclude='./obj-*' --exclude=./.git \
    --exclude=./debian/ivozfw --exclude=./debian/.debhelper -cf - . | tar -C "$src" -xf - ||
    fail "copy of the source tree"
(cd "$src" && dpkg-checkbuilddeps) >"$T/builddeps.log" 2>&1 ||
    fail "build dependencies missing (apt-get build-dep ./ installs them): $(cat "$T/builddeps.log")"
version=$(cd "$src" && dpkg-parsechangelog -SVersion) || fail "dpkg-parsechangelog"
arch=$(dpkg --print-architecture)
upstream=${version%-*}
cmake_version=$(sed -nE 's/^project\(ivozfw VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")
[ "$upstream" = "$cmake_version" ] || fail "debian/changelog says $version, CMakeLists.txt says $cmake_version"

if [ -n "${IVOZFW_TEST_PREBUILT:-}" ]; then
    # Diagnostics: test the packages an earlier run built (in that directory) instead.
    log "using the packages in $IVOZFW_TEST_PREBUILT (IVOZFW_TEST_PREBUILT)"
    cp "$IVOZFW_TEST_PREBUILT"/ivozfw*_"$version"_* "$T/" || fail "no packages in $IVOZFW_TEST_PREBUILT"
else
    log "building ivozfw $version (dpkg-buildpackage -us -uc -b)"
    t0=$(now_ms)
    (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
        fail "dpkg-buildpackage failed:
$(tail -40 "$T/build.log")"
    log "package built in $((($(now_ms) - t0) / 1000)) s"
fi
deb="$T/ivozfw_${version}_${arch}.deb"
dbg="$T/ivozfw-dbgsym_${version}_${arch}.deb"
changes="$T/ivozfw_${version}_${arch}.changes"
for f in "$deb" "$dbg" "$changes"; do [ -s "$f" ] || fail "not built: $f ($(ls "$T"))"; done

# --- contents: every path with its mode and owner
listing=$(dpkg-deb -c "$deb") || fail "dpkg-deb -c"
files=$(awk '{print $1, $2, $6}' <<<"$listing" | sort -k3)
mode_of() { awk -v p="./$1" '$3 == p {print $1}' <<<"$files"; }
expect_mode() {
    local got
    got=$(mode_of "$1")
    [ -n "$got" ] || fail "$1 is not in the package:
$files"
    [ "$got" = "$2" ] || fail "$1 has mode $got, expected $2"
}
expect_mode usr/sbin/ivozfw -rwxr-xr-x
expect_mode etc/ivozfw/policy.json -rw-------
expect_mode var/lib/ivozfw/ drwx------
for u in ivozfw.service ivozfw-watch.service ivozfw-geoip.service ivozfw-geoip.timer ivozfw-companies.service \
    ivozfw-companies.path ivozfw-companies.timer ivozfw-metrics.service ivozfw-metrics.timer; do
    expect_mode "lib/systemd/system/$u" -rw-r--r--
done
expect_mode usr/share/man/man8/ivozfw.8.gz -rw-r--r--
expect_mode usr/share/bash-completion/completions/ivozfw -rw-r--r--
expect_mode usr/share/ivozfw/ivozprovider.json -rw-r--r--
expect_mode usr/share/ivozfw/policy.schema.json -rw-r--r--
for f in "$IVOZFW_SRC"/rules/examples/*.json; do
    expect_mode "usr/share/ivozfw/examples/$(basename "$f")" -rw-r--r--
done
expect_mode usr/share/doc/ivozfw/copyright -rw-r--r--
bad_owner=$(awk '$2 != "root/root"' <<<"$files")
[ -z "$bad_owner" ] || fail "entries not owned by root/root:
$bad_owner"
# Nothing outside the package's own places (no /usr/local, no enablement symlinks in /etc).
SHARED_DIRS=" ./ ./etc/ ./lib/ ./lib/systemd/ ./lib/systemd/system/ ./usr/ ./usr/sbin/ ./usr/share/ ./usr/share/doc/
  ./usr/share/man/ ./usr/share/man/man8/ ./usr/share/bash-completion/ ./usr/share/bash-completion/completions/
  ./usr/share/lintian/ ./usr/share/lintian/overrides/ ./var/ ./var/lib/ "
OWN_PREFIXES="./etc/ivozfw/ ./lib/systemd/system/ivozfw ./usr/sbin/ivozfw ./usr/share/ivozfw/ ./usr/share/doc/ivozfw/
  ./usr/share/man/man8/ivozfw.8.gz ./usr/share/bash-completion/completions/ivozfw ./usr/share/lintian/overrides/ivozfw
  ./var/lib/ivozfw/"
stray=""
for p in $(awk '{print $3}' <<<"$files"); do
    case "$SHARED_DIRS" in *" $p "* | *" $p"$'\n'*) continue ;; esac
    ok=""
    for prefix in $OWN_PREFIXES; do [ "${p#"$prefix"}" != "$p" ] && ok=1; done
    [ -n "$ok" ] || stray="$stray $p"
done
[ -z "$stray" ] || fail "unexpected paths in the package:$stray"
cmp -s <(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/ivozfw/policy.json) "$IVOZFW_SRC/rules/ivozprovider.json" ||
    fail "/etc/ivozfw/policy.json in the package is not rules/ivozprovider.json"
dpkg-deb -c "$dbg" | grep >/dev/null '\./usr/lib/debug/\.build-id/.*\.debug$' || fail "the dbgsym package holds no debug symbols"

# --- control: conffiles, shlibs-computed Depends, maintainer scripts
info=$(dpkg-deb -I "$deb") || fail "dpkg-deb -I"
expect_contains "Version: $version" "$info" "dpkg-deb -I"
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)
expect_same "/etc/ivozfw/policy.json" "$conffiles" "conffiles"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libnftnl11 libmnl0 libmaxminddb0 libmariadb3 libfmt9; do
    expect_match "(^|, )$lib( |,|$)" "$depends" "Depends (shlibs)"
done
dpkg-deb -e "$deb" "$T/control" || fail "dpkg-deb -e"
for s in preinst postinst prerm postrm; do
    [ -e "$T/control/$s" ] || continue
    # No start, restart or enable of a unit, no apply, no table operation on install/upgrade.
    bad=$(grep -nE 'deb-systemd-invoke +(start|restart|try-restart|reload)|systemctl( +--[a-z-]+)* +(start|restart|try-restart|reload|enable)|ivozfw +(apply|remove)|nft +(add|delete|flush|-f)' \
        "$T/control/$s" | grep -vE '^[0-9]+:\s*(#|echo)')
    [ -z "$bad" ] || fail "maintainer script $s would start or change something:
$bad"
done
grep -q 'deb-systemd-helper --quiet was-enabled' "$T/control/postinst" ||
    fail "postinst does not guard enabling with was-enabled (units would be enabled on install)"

log "[${SECONDS}s] package contents and control checked"
# --- lintian: errors and warnings fail, overrides need a reason (a comment in the file)
# (--show-overrides makes lintian count overridden tags as failures: judge by the tags.)
lintian --fail-on none --show-overrides "$changes" >"$T/lintian.txt" 2>&1 || fail "lintian could not run:
$(cat "$T/lintian.txt")"
log "lintian: $(grep -cE '^[EW]: ' "$T/lintian.txt") errors/warnings, $(grep -c '^O: ' "$T/lintian.txt") overridden"
grep -qE '^[EW]: ' "$T/lintian.txt" && fail "lintian errors or warnings (fix them, or override with a reason):
$(cat "$T/lintian.txt")"
awk '/^[^#]/ && prev !~ /^#/ {print} {prev = $0}' "$src/debian/ivozfw.lintian-overrides" | grep . &&
    fail "every lintian override needs a one-line reason (a comment above it)"

log "[${SECONDS}s] lintian done"
# --- install
enabled_before=$(find /etc/systemd/system -name 'ivozfw*' 2>/dev/null)
[ -z "$enabled_before" ] || skip "ivozfw units are linked in /etc/systemd/system already: $enabled_before"
PKG_INSTALLED=1
(cd "$T" && apt-get install -y "./$(basename "$deb")") >"$T/install.log" 2>&1 ||
    fail "apt-get install ./$(basename "$deb"):
$(tail -30 "$T/install.log")"
[ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' ivozfw)" = "installed $version" ] || fail "ivozfw $version is not installed"
[ -x /usr/sbin/ivozfw ] || fail "/usr/sbin/ivozfw missing"
[ "$(stat -c '%a %U:%G' /etc/ivozfw/policy.json)" = "600 root:root" ] || fail "/etc/ivozfw/policy.json: $(stat -c '%a %U:%G' /etc/ivozfw/policy.json)"
[ "$(stat -c '%a %U:%G %F' /var/lib/ivozfw)" = "700 root:root directory" ] || fail "/var/lib/ivozfw: $(stat -c '%a %U:%G %F' /var/lib/ivozfw)"
[ -z "$(ls -A /var/lib/ivozfw)" ] || fail "something ran at install: /var/lib/ivozfw holds $(ls -A /var/lib/ivozfw)"
expect_contains "/etc/ivozfw/policy.json" "$(dpkg-query -W -f='${Conffiles}' ivozfw)" "dpkg's conffiles of ivozfw"
man -w ivozfw >/dev/null 2>&1 || [ -s /usr/share/man/man8/ivozfw.8.gz ] || fail "man page not installed"
/usr/sbin/ivozfw --version >/dev/null 2>&1 || /usr/sbin/ivozfw --help >/dev/null 2>&1 || fail "/usr/sbin/ivozfw does not run"

# Not enabled: no symlink, systemctl and deb-systemd-helper agree. Not started: the
# maintainer scripts hold no start (checked above); with systemd running, not active either.
linked=$(find /etc/systemd/system -name 'ivozfw*' 2>/dev/null)
[ -z "$linked" ] || fail "units were enabled on install: $linked"
# deb-systemd-helper records what it enabled (its *.dsh-also files only list what enabling
# would link, for purge to clean up).
helper=$(find /var/lib/systemd/deb-systemd-helper-enabled -name 'ivozfw*' ! -name '*.dsh-also' 2>/dev/null)
[ -z "$helper" ] || fail "deb-systemd-helper enabled units on install: $helper"
for u in ivozfw.service ivozfw-watch.service ivozfw-geoip.timer ivozfw-companies.path ivozfw-companies.timer ivozfw-metrics.timer; do
    state=$(systemctl is-enabled "$u" 2>&1)
    [ "$state" = disabled ] || fail "systemctl is-enabled $u: $state (expected disabled)"
    if [ -d /run/systemd/system ]; then
        active=$(systemctl is-active "$u" 2>&1)
        [ "$active" != active ] && [ "$active" != activating ] || fail "$u was started on install ($active)"
    fi
done
[ -d /run/systemd/system ] || log "systemd is not PID 1 here: 'not started' rests on the maintainer scripts and the tables"
check_host_tables "after install"

# The installed units' boot order: Debian's nftables.service (its `flush ruleset`) first, then
# ivozfw's apply, then the watch that undoes any later flush.
grep -q '^After=.*nftables.service' /lib/systemd/system/ivozfw.service ||
    fail "installed ivozfw.service is not ordered after nftables.service"
grep -q '^After=.*ivozfw.service' /lib/systemd/system/ivozfw-watch.service ||
    fail "installed ivozfw-watch.service is not ordered after ivozfw.service"
log "[${SECONDS}s] installed, nothing enabled or started"
# --- the installed binary: check the installed policy, apply in a throwaway namespace
expect_exit 0 /usr/sbin/ivozfw check
expect_exit 0 /usr/sbin/ivozfw check -p /etc/ivozfw/policy.json
new_ns ns fw
# State in the package's /var/lib/ivozfw, as the units keep it (purge must then remove it).
run env -u IVOZFW_STATE_DIR ip netns exec "$ns" timeout 120 /usr/sbin/ivozfw apply
[ "$RC" = 0 ] || fail "apply in $ns: exit $RC
$OUT
$ERR"
has_table "$ns" || fail "apply created no table in $ns"
run env -u IVOZFW_STATE_DIR ip netns exec "$ns" timeout 120 /usr/sbin/ivozfw diff
[ "$RC" = 0 ] || fail "diff after apply in $ns: exit $RC
$OUT
$ERR"
[ -n "$(ls -A /var/lib/ivozfw)" ] || fail "apply wrote no state into /var/lib/ivozfw"
check_host_tables "after apply in a namespace"

log "[${SECONDS}s] installed ivozfw: check passed, apply in $ns done"
# --- upgrade over an edited policy: a newer version of the package, repacked (no rebuild)
# with a changed shipped policy
printf '\n// edited by the operator\n' >>/etc/ivozfw/policy.json
edited=$(cat /etc/ivozfw/policy.json)
state_before=$(cd /var/lib/ivozfw && find . -type f -printf '%p %s %T@\n' | sort)
up="$T/up"
dpkg-deb -R "$deb" "$up" || fail "dpkg-deb -R"
newversion="$version+test1"
sed -i "s/^Version: .*/Version: $newversion/" "$up/DEBIAN/control"
printf '\n// shipped by %s\n' "$newversion" >>"$up/etc/ivozfw/policy.json"
(cd "$up" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | sort | xargs md5sum >DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$up" "$T/ivozfw_up.deb" >/dev/null || fail "dpkg-deb -b (upgrade package)"
# Without an answer, dpkg must stop at the conffile question, not replace the file.
run dpkg -i "$T/ivozfw_up.deb" </dev/null
[ "$RC" != 0 ] || fail "dpkg replaced or kept a modified conffile without asking:
$OUT
$ERR"
expect_contains "policy.json" "$OUT$ERR" "dpkg's conffile question"
expect_same "$edited" "$(cat /etc/ivozfw/policy.json)" "the edited policy after an unanswered upgrade"
expect_exit 0 dpkg --configure --force-confold ivozfw
[ "$(dpkg-query -W -f='${db:Status-Status} ${Version}' ivozfw)" = "installed $newversion" ] || fail "upgrade to $newversion not installed"
expect_same "$edited" "$(cat /etc/ivozfw/policy.json)" "the edited policy after the upgrade (confold)"
[ "$(stat -c '%a' /etc/ivozfw/policy.json)" = 600 ] || fail "policy mode after upgrade: $(stat -c '%a' /etc/ivozfw/policy.json)"
grep -q "shipped by $newversion" /etc/ivozfw/policy.json.dpkg-dist 2>/dev/null ||
    fail "the new shipped policy is not in /etc/ivozfw/policy.json.dpkg-dist"
[ -z "$(find /etc/systemd/system -name 'ivozfw*')" ] || fail "units enabled by the upgrade"
expect_same "$state_before" "$(cd /var/lib/ivozfw && find . -type f -printf '%p %s %T@\n' | sort)" \
    "/var/lib/ivozfw (an upgrade must not apply)"
check_host_tables "after upgrade"

log "[${SECONDS}s] upgraded to $newversion: policy kept, nothing applied"
# --- remove: says the table stays; conffile and state stay
run apt-get remove -y ivozfw
[ "$RC" = 0 ] || fail "apt-get remove: $OUT $ERR"
expect_contains "table 'inet ivozfw' (if loaded) was left in place" "$OUT$ERR" "apt-get remove output"
expect_contains "nft delete table inet ivozfw" "$OUT$ERR" "apt-get remove output"
[ ! -e /usr/sbin/ivozfw ] || fail "/usr/sbin/ivozfw still there after remove"
[ -e /etc/ivozfw/policy.json ] || fail "remove deleted the conffile"
[ -n "$(ls -A /var/lib/ivozfw 2>/dev/null)" ] || fail "remove deleted the state"
has_table "$ns" || fail "the table in $ns is gone after remove"
check_host_tables "after remove"

log "[${SECONDS}s] removed"
# --- purge: nothing of the package is left on disk
run apt-get purge -y ivozfw
[ "$RC" = 0 ] || fail "apt-get purge: $OUT $ERR"
expect_contains "was left in place" "$OUT$ERR" "apt-get purge output"
[ "$(dpkg-query -W -f='${db:Status-Status}' ivozfw 2>/dev/null || echo not-installed)" = not-installed ] ||
    fail "ivozfw still known to dpkg after purge: $(dpkg-query -W -f='${db:Status-Abbrev}' ivozfw)"
left=""
for p in $(awk '{print $6}' <<<"$listing"); do
    case "$SHARED_DIRS" in *" $p "* | *" $p"$'\n'*) continue ;; esac
    p=${p#.}
    p=${p%/}
    if [ -e "$p" ] || [ -L "$p" ]; then left="$left $p"; fi
done
left="$left $(ls -d /etc/ivozfw* /var/lib/ivozfw* /var/lib/dpkg/info/ivozfw.* 2>/dev/null | tr '\n' ' ')"
left="$left $(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
    -name '*ivozfw*' 2>/dev/null | tr '\n' ' ')"
left=$(echo $left)
[ -z "$left" ] || fail "left on disk after purge: $left"
has_table "$ns" || fail "the table in $ns is gone after purge"
check_host_tables "after purge"
log "[${SECONDS}s] purged: nothing left, host tables unchanged"
PKG_INSTALLED=
pass
