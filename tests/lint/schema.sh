#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every shipped policy validates against rules/policy.schema.json, and a broken one does not
# (so this test can fail). $1 (the ivozfw binary) is not needed here.
set -euo pipefail
src=${IVOZFW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# Debian's python3 (python3-jsonschema), whatever python3 comes first on PATH.
exec /usr/bin/python3 - "$src" <<'PY'
import json, pathlib, sys
import jsonschema

def strip_comments(text):
    """Drop // and /* */ comments outside strings, as ivozfw's loader allows them."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1]); i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True; out.append(c)
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0: break
            continue
        elif text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)

src = pathlib.Path(sys.argv[1])
schema = json.loads((src / "rules/policy.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

failed = 0
policies = sorted(p for p in src.glob("rules/**/*.json") if p.name != "policy.schema.json")
if not policies:
    sys.exit("no shipped policies found under " + str(src / "rules"))
for path in policies:
    doc = json.loads(strip_comments(path.read_text()))
    errors = list(validator.iter_errors(doc))
    for e in errors:
        print(f"{path}: {'.'.join(map(str, e.absolute_path))}: {e.message}")
    failed += bool(errors)
    print(("FAIL " if errors else "ok   ") + str(path.relative_to(src)))

bad = json.loads(strip_comments('{ "services": { "sip": { "udp": [5060, 70000] } } // bad\n}'))
if validator.is_valid(bad):
    print("FAIL the schema accepts port 70000")
    failed += 1
else:
    print("ok   a policy with port 70000 is rejected")
sys.exit(1 if failed else 0)
PY
