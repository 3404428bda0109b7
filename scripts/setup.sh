#!/usr/bin/env bash
# Install what ivozfw needs on Debian 12 (all from Debian's packages) and build it in build/.
# debhelper, dpkg-dev, lintian: the Debian package and its test (tests/package/deb.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libnftnl-dev libmnl-dev libmaxminddb-dev nlohmann-json3-dev catch2 libcli11-dev libfmt-dev
  libmariadb-dev mariadb-server libhiredis-dev libssl-dev redis-server redis-sentinel
  nftables iproute2 jq python3 python3-jsonschema procps time python3-maxminddb libmaxmind-db-writer-perl libmaxmind-db-reader-perl sip-tester bc systemd
  # tests/kernel/memcheck.sh: the netlink path under memcheck
  valgrind
  # tests/fuzz/run.sh: clang with libFuzzer, ASan and UBSan (only recommended by clang-14)
  clang libclang-rt-14-dev
  # tests/kernel/neighbours.sh: Debian's fail2ban (nftables ban action) next to ivozfw and watch
  fail2ban
  # tests/kernel/other_tables.sh: Docker's published-port rules as Docker writes them (iptables-nft)
  iptables
  # tests/kernel/lockout.sh: apply run through sudo (env_reset drops SSH_CONNECTION)
  sudo
  # tests/package/deb.sh: build and lint the Debian package
  debhelper dpkg-dev fakeroot lintian
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages such as mariadb-server start their daemon on install; the tests start their
  # own private instances, so keep services from starting while we install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # fail2ban is here for a test, which runs its own server in a namespace: never on the host.
  if printf '%s\n' "${missing[@]}" | grep -qx fail2ban; then
    systemctl disable fail2ban.service >/dev/null 2>&1 || true
  fi
fi

echo "== building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
