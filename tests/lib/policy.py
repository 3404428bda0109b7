#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a test policy derived from the shipped one (or another file).

    policy.py OUT [--from FILE] [-e 'p["lists"]["admin"] = ["192.0.2.10"]']...

The source is read with // and /* */ comments stripped (ivozfw's loader accepts them), each
-e statement runs with the document bound to `p`, and OUT is written as plain JSON, mode 600.
"""
import argparse
import json
import os
import pathlib
import sys


def strip_comments(text):
    """Drop // and /* */ comments outside strings."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def main():
    src = pathlib.Path(os.environ.get("IVOZFW_SRC", pathlib.Path(__file__).resolve().parents[2]))
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    base = os.environ.get("IVOZFW_TEST_BASE_POLICY") or str(src / "rules/ivozprovider.json")
    ap.add_argument("--from", dest="src", default=base)
    ap.add_argument("-e", dest="code", action="append", default=[])
    a = ap.parse_args()
    p = json.loads(strip_comments(pathlib.Path(a.src).read_text()))
    for code in a.code:
        exec(code, {"p": p, "json": json})
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(p, f, indent=2)
        f.write("\n")
    os.chmod(a.out, 0o600)


if __name__ == "__main__":
    sys.exit(main())
