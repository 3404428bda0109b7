#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check a loaded GeoIP set against an independent reader (python3-maxminddb).

    geocheck.py DB MODE CC[,CC...] SET4.json SET6.json [--samples N]

SETx.json is `nft -j list set inet ivozfw geoip_vX`. For every interval: its first and last
address must be dropped by the policy according to the database, its neighbours must not
(intervals are maximal); then N random addresses per family: in the set <=> dropped.
"""
import bisect, ipaddress, json, random, sys
import maxminddb

db, mode, ccs, f4, f6 = sys.argv[1:6]
samples = int(sys.argv[sys.argv.index("--samples") + 1]) if "--samples" in sys.argv else 50000
ccs = set(ccs.split(","))
reader = maxminddb.open_database(db)
SPECIAL = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8")]


def country(addr):
    rec = reader.get(addr)
    if not rec:
        return ""
    return rec.get("country_code") or rec.get("country", {}).get("iso_code") or \
        rec.get("registered_country", {}).get("iso_code") or ""


def dropped(addr):
    if any(addr in n for n in SPECIAL if n.version == addr.version):
        return False
    listed = country(addr) in ccs
    return listed if mode == "deny" else not listed


def intervals(path, v6):
    out = []
    for obj in json.load(open(path))["nftables"]:
        for e in obj.get("set", {}).get("elem", []):
            if isinstance(e, str):
                lo = hi = ipaddress.ip_address(e)
            elif "prefix" in e:
                n = ipaddress.ip_network(f'{e["prefix"]["addr"]}/{e["prefix"]["len"]}')
                lo, hi = n[0], n[-1]
            else:
                lo, hi = (ipaddress.ip_address(x) for x in e["range"])
            out.append((int(lo), int(hi)))
    return sorted(out)


errors = 0
for path, v6 in ((f4, False), (f6, True)):
    iv = intervals(path, v6)
    mk = ipaddress.IPv6Address if v6 else ipaddress.IPv4Address
    top = (1 << (128 if v6 else 32)) - 1
    for lo, hi in iv:
        for a, want in ((lo, True), (hi, True), (lo - 1, False), (hi + 1, False)):
            if 0 <= a <= top and dropped(mk(a)) != want:
                errors += 1
                if errors < 10:
                    print(f"boundary {mk(a)}: country {country(mk(a))!r}, in set: {want}")
    starts = [x[0] for x in iv]
    rnd = random.Random(42)
    for _ in range(samples):
        a = rnd.randrange(0x20000000000000000000000000000000, 0x40000000000000000000000000000000) if v6 \
            else rnd.randrange(0, top + 1)
        i = bisect.bisect_right(starts, a) - 1
        in_set = i >= 0 and iv[i][0] <= a <= iv[i][1]
        if in_set != dropped(mk(a)):
            errors += 1
            if errors < 10:
                print(f"sample {mk(a)}: country {country(mk(a))!r}, in set: {in_set}")
    print(f"{'v6' if v6 else 'v4'}: {len(iv)} intervals, boundaries and {samples} samples checked")
print("errors:", errors)
sys.exit(1 if errors else 0)
