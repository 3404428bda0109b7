#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Traffic and measurements for the fleet (ban propagation) tests and benchmark.

    fleet_tool.py watch --log FILE --ready FILE [--table ivozfw] [--sets ban_v4,ban_v6]
                        [--interval 0.005] [--lifetime 600]
        Run inside one host's namespace: lists the sets through libnftables (in process, no
        fork) every --interval seconds and appends one JSON line per change to FILE:
        {"t": <unix ms>, "op": "+"|"-", "set": ..., "elem": ..., "comment": ...}.
        The kernel does not announce elements the packet path adds, hence the poll.
    fleet_tool.py flood DST PORT RATE COUNT SRC... [--batch N]
        Run in the attackers' namespace: COUNT SIP OPTIONS datagrams per source, one socket
        bound to each SRC, RATE per second per source, the sources interleaved (all at once).
    fleet_tool.py latency --origin A.log --log B.log [--log C.log] --after MS ADDR...
        For each ADDR: first "+" in the origin log at or after MS, first "+" in each other log
        at or after MS; prints JSON {n, p50, p99, max, missing: [...], samples: {...},
        last_after: the last arrival, ms after MS}.
    fleet_tool.py first LOG ADDR [--after MS] [--op +]
        The time (unix ms) of the first matching event, or nothing (exit 1).
    fleet_tool.py wait LOG [--after MS] [--timeout S] ADDR...
        Wait until LOG has a "+" at or after MS for every ADDR (exit 0), or print the missing
        ones and exit 1 after --timeout seconds (default 30).
"""
import argparse
import ctypes
import json
import math
import os
import socket
import sys
import time

NFT_CTX_OUTPUT_JSON = 1 << 4


class Nft:
    def __init__(self):
        self.lib = ctypes.CDLL("libnftables.so.1")
        self.lib.nft_ctx_new.restype = ctypes.c_void_p
        self.lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for f in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_free"):
            getattr(self.lib, f).argtypes = [ctypes.c_void_p]
        self.lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        self.lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        self.lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        self.lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        self.lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]

    def json(self, cmd):
        # A fresh context each time: a context's cache is keyed on the ruleset generation,
        # which elements added by the packet path do not change.
        ctx = self.lib.nft_ctx_new(0)
        try:
            self.lib.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON)
            self.lib.nft_ctx_buffer_output(ctx)
            self.lib.nft_ctx_buffer_error(ctx)
            rc = self.lib.nft_run_cmd_from_buffer(ctx, cmd.encode())
            out = self.lib.nft_ctx_get_output_buffer(ctx)
            if rc != 0 or not out:
                return None
            return json.loads(out)
        finally:
            self.lib.nft_ctx_free(ctx)


def elements(doc):
    """{value text: comment} of a `list set` JSON document."""
    res = {}
    for obj in doc.get("nftables", []):
        s = obj.get("set")
        if not s:
            continue
        for e in s.get("elem", []):
            comment = ""
            if isinstance(e, dict) and "elem" in e:
                comment = e["elem"].get("comment", "")
                e = e["elem"]["val"]
            if isinstance(e, dict) and "prefix" in e:
                e = f'{e["prefix"]["addr"]}/{e["prefix"]["len"]}'
            res[str(e)] = comment
    return res


def watch(a):
    nft = Nft()
    sets = a.sets.split(",")
    state = {s: {} for s in sets}
    deadline = time.time() + a.lifetime
    polls = errors = 0
    with open(a.log, "a", buffering=1) as log:
        first = True
        while time.time() < deadline:
            for s in sets:
                doc = nft.json(f"list set inet {a.table} {s}")
                now = int(time.time() * 1000)
                if doc is None:
                    errors += 1
                    cur = {}
                else:
                    cur = elements(doc)
                old = state[s]
                for k in cur.keys() - old.keys():
                    log.write(json.dumps({"t": now, "op": "+", "set": s, "elem": k, "comment": cur[k]}) + "\n")
                for k in old.keys() - cur.keys():
                    log.write(json.dumps({"t": now, "op": "-", "set": s, "elem": k}) + "\n")
                state[s] = cur
            polls += 1
            if first:
                open(a.ready, "w").write(f"{os.getpid()}\n")
                first = False
            time.sleep(a.interval)
    return 0


def sip_options(src, sport, dst, dport, n):
    host = f"[{dst}]" if ":" in dst else dst
    return (f"OPTIONS sip:flood@{host}:{dport} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {src}:{sport};branch=z9hG4bK-fleet-{n}\r\n"
            f"From: <sip:flood@{src}>;tag=fleet{n}\r\nTo: <sip:flood@{host}>\r\n"
            f"Call-ID: fleet-{n}@{src}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").encode()


def flood(a):
    socks = []
    for src in a.src:
        fam = socket.AF_INET6 if ":" in src else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setblocking(False)
        socks.append((src, s, s.getsockname()[1]))
    step = 1.0 / a.rate
    t0 = time.monotonic()
    for i in range(a.count):
        for src, s, sport in socks:
            try:
                s.sendto(sip_options(src, sport, a.dst, a.port, i), (a.dst, a.port))
            except (BlockingIOError, OSError):
                pass
        delay = t0 + (i + 1) * step - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return 0


def events(path):
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def first_seen(path, addr, after, op="+"):
    for ev in events(path):
        if ev["op"] == op and ev["elem"] == addr and ev["t"] >= after:
            return ev["t"]
    return None


def pct(vals, q):
    v = sorted(vals)
    return v[max(0, math.ceil(q * len(v)) - 1)]


def latency(a):
    samples, missing, last = {}, [], None
    for addr in a.addr:
        t0 = first_seen(a.origin, addr, a.after)
        if t0 is None:
            missing.append(f"{addr}@origin")
            continue
        for lg in a.log:
            t = first_seen(lg, addr, a.after)
            if t is None:
                missing.append(f"{addr}@{os.path.basename(lg)}")
            else:
                samples[f"{addr}@{os.path.basename(lg)}"] = t - t0
                last = t if last is None else max(last, t)
    vals = list(samples.values())
    out = {"n": len(vals), "missing": missing, "samples": samples,
           "last_after": None if last is None else last - a.after}
    if vals:
        out.update(p50=pct(vals, 0.5), p99=pct(vals, 0.99), max=max(vals), min=min(vals))
    print(json.dumps(out))
    return 0


def first(a):
    t = first_seen(a.log, a.addr, a.after, a.op)
    if t is None:
        return 1
    print(t)
    return 0


def wait(a):
    want = set(a.addr)
    deadline = time.time() + a.timeout
    pos = 0
    while True:
        with open(a.log) as f:
            f.seek(pos)
            while True:
                line = f.readline()
                if not line.endswith("\n"):
                    break
                pos = f.tell()
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev["op"] == "+" and ev["t"] >= a.after:
                    want.discard(ev["elem"])
        if not want:
            return 0
        if time.time() >= deadline:
            print(" ".join(sorted(want)))
            return 1
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--log", required=True)
    w.add_argument("--ready", required=True)
    w.add_argument("--table", default="ivozfw")
    w.add_argument("--sets", default="ban_v4,ban_v6")
    w.add_argument("--interval", type=float, default=0.005)
    w.add_argument("--lifetime", type=float, default=600)
    f = sub.add_parser("flood")
    f.add_argument("dst")
    f.add_argument("port", type=int)
    f.add_argument("rate", type=float)
    f.add_argument("count", type=int)
    f.add_argument("src", nargs="+")
    lt = sub.add_parser("latency")
    lt.add_argument("--origin", required=True)
    lt.add_argument("--log", action="append", required=True)
    lt.add_argument("--after", type=int, default=0)
    lt.add_argument("addr", nargs="+")
    fs = sub.add_parser("first")
    fs.add_argument("log")
    fs.add_argument("addr")
    fs.add_argument("--after", type=int, default=0)
    fs.add_argument("--op", default="+")
    wt = sub.add_parser("wait")
    wt.add_argument("log")
    wt.add_argument("addr", nargs="+")
    wt.add_argument("--after", type=int, default=0)
    wt.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    return {"watch": watch, "flood": flood, "latency": latency, "first": first, "wait": wait}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
