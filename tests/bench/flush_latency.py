#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside a namespace where `ivozfw watch` runs: N times `nft flush ruleset`, and for each
# the time from the flush's commit to the restore's commit, both taken from the kernel's
# nftables events (the NEWGEN of each generation names the committing process). Prints one
# latency per line in ms, then exits 0; exits 1 if a restore does not come within 10 s.
# Usage: flush_latency.py N [gap_ms]
import socket, struct, subprocess, sys, time

NETLINK_NETFILTER, NFNLGRP_NFTABLES, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 12, 7, 270, 1
NEWGEN = (10 << 8) | 15

def generations(sock):
    """Yield (time, process name) for each NEWGEN in what is queued now."""
    data = sock.recv(1 << 20)   # one skb: the kernel batches a commit's notifications
    t = time.monotonic()
    off = 0
    while off + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        if mtype == NEWGEN:
            a = off + 16 + 4
            name = ""
            while a + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atype == 3:
                    name = data[a + 4:a + alen].split(b"\0")[0].decode()
                a += (alen + 3) & ~3
            yield t, name
        off += (length + 3) & ~3

def main():
    n = int(sys.argv[1])
    gap = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.05
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
    # A restore of a big table notifies every element: room for them (SO_RCVBUFFORCE, root).
    s.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)
    for _ in range(n):
        # Not waited for here: the events are read as they come, each timed on arrival.
        proc = subprocess.Popen(["nft", "flush", "ruleset"])
        flushed = None
        deadline = time.monotonic() + 10
        s.settimeout(10)
        while True:
            if time.monotonic() > deadline:
                print("no restore within 10 s", file=sys.stderr)
                return 1
            done = False
            for t, name in generations(s):
                if name == "nft" and flushed is None:
                    flushed = t
                elif name == "ivozfw" and flushed is not None:
                    print(f"{(t - flushed) * 1000:.3f}", flush=True)
                    done = True
            if done:
                break
        if proc.wait() != 0:
            print("nft flush ruleset failed", file=sys.stderr)
            return 1
        time.sleep(gap)
    return 0

sys.exit(main())
