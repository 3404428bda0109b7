#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tiny, bounded traffic tools for the packet tests (run inside a test namespace).

    probe.py listen --tcp 22,5060 --udp 5060,13000 --log FILE --ready FILE [--lifetime 60]
        Listens on [::] (IPv4 and IPv6) on each port until --lifetime seconds have passed.
        TCP: accepts, writes one line "tcp PORT SRC", sends "ok\\n", closes.
        UDP: writes "udp PORT SRC PAYLOAD", echoes the datagram back.
        Touches --ready once every socket is bound.
    probe.py count ADDR PORT --out FILE --ready FILE [--lifetime 60]
        Counts the UDP datagrams that reach ADDR:PORT (bound to that address only, nothing is
        answered) until --lifetime seconds have passed; FILE holds "datagrams N sources M",
        rewritten every 0.2 s while the count changes and at the end.
    probe.py tcp HOST PORT [--src ADDR] [--timeout 1.5]
        Prints "connected", "refused" or "timeout"; exit 0 connected, 1 timeout, 2 refused/other.
    probe.py udp HOST PORT [--src ADDR] [--payload X] [--timeout 1.5]
        Sends one datagram and waits for the echo: prints "echo" (exit 0) or "timeout" (exit 1).
    probe.py ping HOST [--count 3] [--timeout 1.5]
        ICMP/ICMPv6 echo over a raw socket (root): prints "replies N/M"; exit 0 when N >= 1.
    probe.py batch CASES [--dst4 192.0.2.1] [--dst6 2001:db8::1] [--timeout 0.4] [--chunk 300]
        Many probes at once: CASES has lines "SRC PROTO PORT"; each is a TCP SYN (non-blocking
        connect) or a UDP datagram (connected socket, waits for the echo) from SRC, all of a
        chunk in flight together. Prints "SRC PROTO PORT RESULT" per case, RESULT one of
        "connected", "echo" (it passed), "refused" (RST / port unreachable: it passed the
        firewall but nothing listened), "timeout" (dropped), "error:..." (local failure).
"""
import argparse
import errno
import os
import select
import socket
import struct
import sys
import time


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def ports(text):
    return [int(p) for p in text.split(",") if p] if text else []


def listen(a):
    socks = {}
    for proto, plist in (("tcp", ports(a.tcp)), ("udp", ports(a.udp))):
        for port in plist:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::", port))
            if proto == "tcp":
                s.listen(64)
            s.setblocking(False)
            socks[s] = (proto, port)
    log = open(a.log, "a", buffering=1)
    if a.ready:
        open(a.ready, "w").close()
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        r, _, _ = select.select(list(socks), [], [], 0.2)
        for s in r:
            proto, port = socks[s]
            try:
                if proto == "tcp":
                    c, addr = s.accept()
                    log.write(f"tcp {port} {unmap(addr[0])}\n")
                    try:
                        c.sendall(b"ok\n")
                    finally:
                        c.close()
                else:
                    data, addr = s.recvfrom(2048)
                    log.write(f"udp {port} {unmap(addr[0])} {data.decode(errors='replace')}\n")
                    s.sendto(data, addr)
            except OSError as e:
                log.write(f"error {proto} {port} {e}\n")
    return 0


def count(a):
    s = socket.socket(family_of(a.addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((a.addr, a.port))
    s.setblocking(False)
    n, sources, written = 0, set(), None

    def write():
        with open(a.out + ".tmp", "w") as f:
            f.write(f"datagrams {n} sources {len(sources)}\n")
        os.replace(a.out + ".tmp", a.out)

    write()
    open(a.ready, "w").close()
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.2)
        while r:
            try:
                _, addr = s.recvfrom(2048)
            except BlockingIOError:
                break
            n += 1
            sources.add(addr[0])
        if n != written:
            write()
            written = n
    write()
    return 0


def unmap(addr):
    return addr[7:] if addr.startswith("::ffff:") else addr


def connect_socket(kind, host, src, sport=0):
    s = socket.socket(family_of(host), kind)
    if src or sport:
        s.bind((src or "", sport))
    return s


def tcp(a):
    s = connect_socket(socket.SOCK_STREAM, a.host, a.src, a.sport)
    s.settimeout(a.timeout)
    try:
        s.connect((a.host, a.port))
        print("connected")
        return 0
    except socket.timeout:
        print("timeout")
        return 1
    except ConnectionRefusedError:
        print("refused")
        return 2
    except OSError as e:
        print(f"error {e}")
        return 2
    finally:
        s.close()


def udp(a):
    s = connect_socket(socket.SOCK_DGRAM, a.host, a.src, a.sport)
    s.settimeout(a.timeout)
    try:
        s.sendto(a.payload.encode(), (a.host, a.port))
        data, _ = s.recvfrom(2048)
        print("echo" if data == a.payload.encode() else f"unexpected {data!r}")
        return 0 if data == a.payload.encode() else 2
    except socket.timeout:
        print("timeout")
        return 1
    except OSError as e:   # e.g. ICMP port unreachable turned into ECONNREFUSED
        print(f"error {e}")
        return 2
    finally:
        s.close()


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(a):
    v6 = family_of(a.host) == socket.AF_INET6
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)  # kernel checksums
        req_type, rep_type = 128, 129
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        req_type, rep_type = 8, 0
    ident = os.getpid() & 0xFFFF
    got = 0
    for seq in range(1, a.count + 1):
        payload = b"ivozfw-probe"
        hdr = struct.pack("!BBHHH", req_type, 0, 0, ident, seq)
        if not v6:
            hdr = struct.pack("!BBHHH", req_type, 0, checksum(hdr + payload), ident, seq)
        s.sendto(hdr + payload, (a.host, 0))
        end = time.monotonic() + a.timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data, _ = s.recvfrom(2048)
            if not v6:
                data = data[(data[0] & 0x0F) * 4:]   # raw IPv4 sockets include the IP header
            if len(data) >= 8:
                t, _, _, i, q = struct.unpack("!BBHHH", data[:8])
                if t == rep_type and i == ident and q == seq:
                    got += 1
                    break
    print(f"replies {got}/{a.count}")
    return 0 if got else 1


def batch(a):
    cases = []
    for line in open(a.cases):
        f = line.split()
        if len(f) == 3:
            cases.append((f[0], f[1], int(f[2])))
    out = []
    payload = b"ivozfw-batch"
    for i in range(0, len(cases), a.chunk):
        chunk = cases[i:i + a.chunk]
        pending = {}     # socket -> index in chunk
        res = [None] * len(chunk)
        for k, (src, proto, port) in enumerate(chunk):
            dst = a.dst6 if ":" in src else a.dst4
            s = None
            try:
                s = socket.socket(family_of(src), socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
                s.setblocking(False)
                s.bind((src, 0))
                if proto == "tcp":
                    rc = s.connect_ex((dst, port))
                    if rc == 0:
                        res[k] = "connected"
                        s.close()
                        continue
                else:
                    s.connect((dst, port))
                    s.send(payload)
                pending[s] = k
            except OSError as e:
                res[k] = f"error:{e.errno}"
                if s:
                    s.close()
        end = time.monotonic() + a.timeout
        while pending:
            left = end - time.monotonic()
            if left <= 0:
                break
            tcp_w = [s for s in pending if s.type == socket.SOCK_STREAM]
            udp_r = [s for s in pending if s.type == socket.SOCK_DGRAM]
            r, w, _ = select.select(udp_r, tcp_w, [], left)
            for s in w:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                res[pending.pop(s)] = "connected" if err == 0 else (
                    "refused" if err == errno.ECONNREFUSED else f"error:{err}")
                s.close()
            for s in r:
                k = pending.pop(s)
                try:
                    data = s.recv(2048)
                    res[k] = "echo" if data == payload else "error:payload"
                except ConnectionRefusedError:
                    res[k] = "refused"
                except OSError as e:
                    res[k] = f"error:{e.errno}"
                s.close()
        for s, k in pending.items():
            res[k] = "timeout"
            s.close()
        for (src, proto, port), r in zip(chunk, res):
            out.append(f"{src} {proto} {port} {r}")
    print("\n".join(out))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("listen")
    l.add_argument("--tcp", default="")
    l.add_argument("--udp", default="")
    l.add_argument("--log", required=True)
    l.add_argument("--ready")
    l.add_argument("--lifetime", type=float, default=60)
    c = sub.add_parser("count")
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("--out", required=True)
    c.add_argument("--ready", required=True)
    c.add_argument("--lifetime", type=float, default=60)
    for name in ("tcp", "udp"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        p.add_argument("--src")
        p.add_argument("--sport", type=int, default=0, help="source port (default: any)")
        p.add_argument("--timeout", type=float, default=1.5)
        if name == "udp":
            p.add_argument("--payload", default="ivozfw-probe")
    p = sub.add_parser("ping")
    p.add_argument("host")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--timeout", type=float, default=1.5)
    b = sub.add_parser("batch")
    b.add_argument("cases")
    b.add_argument("--dst4", default="192.0.2.1")
    b.add_argument("--dst6", default="2001:db8::1")
    b.add_argument("--timeout", type=float, default=0.4)
    b.add_argument("--chunk", type=int, default=300)
    a = ap.parse_args()
    return {"listen": listen, "count": count, "tcp": tcp, "udp": udp, "ping": ping, "batch": batch}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
