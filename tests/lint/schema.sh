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

src = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(src / "tests/lib"))
from policy import strip_comments   # the same comment stripping the other tests use

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
