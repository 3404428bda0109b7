#!/usr/bin/env bash
# Set up, build and run every test: unit tests, then kernel and packet tests (root; each in
# network namespaces of its own, never the host's ruleset).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "== testing"
ctest --test-dir build --output-on-failure --timeout 900
