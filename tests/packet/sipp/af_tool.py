#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Traffic for the anti-flood packet tests (TCP connection limits, media flows).

    af_tool.py hold-server PORT --ready FILE [--lifetime 90]
        TCP listener on [::]:PORT that accepts and keeps every connection open.
    af_tool.py burst HOST PORT N --src ADDR [--wait 0.8]
        N non-blocking connects at once; prints how many completed within --wait seconds.
    af_tool.py hold HOST PORT N --src ADDR [--interval 0.34] [--timeout 0.8]
        N connects one after the other, every one kept open; prints how many connected.
    af_tool.py udp-sink LO HI --log FILE --ready FILE [--lifetime 90]
        UDP on [::]:LO..HI; logs "SRCADDR SRCPORT DSTPORT" once per flow.
    af_tool.py udp-flows HOST LO N --src ADDR
        N flows (one socket each, to ports LO..LO+N-1), 3 datagrams each.
"""
import argparse
import os
import select
import socket
import sys
import time


def fam(h):
    return socket.AF_INET6 if ":" in h else socket.AF_INET


def hold_server(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", a.port))
    s.listen(1024)
    open(a.ready, "w").close()
    kept, end = [], time.monotonic() + a.lifetime
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.5)
        if r:
            c, _ = s.accept()
            kept.append(c)


def burst(a):
    socks = []
    for _ in range(a.n):
        c = socket.socket(fam(a.host), socket.SOCK_STREAM)
        c.bind((a.src, 0))
        c.setblocking(False)
        c.connect_ex((a.host, a.port))
        socks.append(c)
    done, end = set(), time.monotonic() + a.wait
    while time.monotonic() < end and len(done) < len(socks):
        _, w, _ = select.select([], [c for c in socks if c not in done], [], 0.05)
        for c in w:
            if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.add(c)
            else:
                done.add(c)  # refused: finished, not connected
    print(sum(1 for c in done if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and _peer(c)))


def _peer(c):
    try:
        c.getpeername()
        return True
    except OSError:
        return False


def hold(a):
    kept, ok = [], 0
    for _ in range(a.n):
        c = socket.socket(fam(a.host), socket.SOCK_STREAM)
        c.bind((a.src, 0))
        c.settimeout(a.timeout)
        try:
            c.connect((a.host, a.port))
            ok += 1
            kept.append(c)
        except OSError:
            c.close()
        time.sleep(a.interval)
    print(ok)
    sys.stdout.flush()


def udp_sink(a):
    socks = {}
    for p in range(a.lo, a.hi + 1):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", p))
        socks[s] = p
    log = open(a.log, "a", buffering=1)
    open(a.ready, "w").close()
    seen, end = set(), time.monotonic() + a.lifetime
    while time.monotonic() < end:
        r, _, _ = select.select(list(socks), [], [], 0.5)
        for s in r:
            _, src = s.recvfrom(2048)
            key = (src[0].replace("::ffff:", ""), src[1], socks[s])
            if key not in seen:
                seen.add(key)
                log.write("%s %d %d\n" % key)


def udp_flows(a):
    socks = []
    for i in range(a.n):
        c = socket.socket(fam(a.host), socket.SOCK_DGRAM)
        c.bind((a.src, 0))
        socks.append((c, a.lo + i))
    for _ in range(3):
        for c, p in socks:
            c.sendto(b"rtp", (a.host, p))
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("hold-server"); p.add_argument("port", type=int); p.add_argument("--ready", required=True)
    p.add_argument("--lifetime", type=float, default=90)
    for name in ("burst", "hold"):
        p = sub.add_parser(name); p.add_argument("host"); p.add_argument("port", type=int); p.add_argument("n", type=int)
        p.add_argument("--src", required=True); p.add_argument("--wait", type=float, default=0.8)
        p.add_argument("--interval", type=float, default=0.34); p.add_argument("--timeout", type=float, default=0.8)
    p = sub.add_parser("udp-sink"); p.add_argument("lo", type=int); p.add_argument("hi", type=int)
    p.add_argument("--log", required=True); p.add_argument("--ready", required=True); p.add_argument("--lifetime", type=float, default=90)
    p = sub.add_parser("udp-flows"); p.add_argument("host"); p.add_argument("lo", type=int); p.add_argument("n", type=int)
    p.add_argument("--src", required=True)
    a = ap.parse_args()
    {"hold-server": hold_server, "burst": burst, "hold": hold, "udp-sink": udp_sink, "udp-flows": udp_flows}[a.cmd](a)


if __name__ == "__main__":
    main()
