#!/usr/bin/env bash
# Set up, build, and run the main job on a safe default: a throwaway network namespace,
# never the host's own firewall. diff against the empty namespace, apply the shipped
# IvozProvider policy, diff again (no changes), and print the resulting ruleset.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

ns="ivozfw-demo-$$"
state=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
policy=$(mktemp)
cp rules/ivozprovider.json "$policy"; chmod 600 "$policy"
run() { echo; echo "\$ ivozfw $*"; ip netns exec "$ns" ./build/ivozfw --state-dir "$state" "$@"; }

run check -p "$policy"
run diff -p "$policy" || [ $? -eq 2 ]
run apply -p "$policy"
run diff -p "$policy"
echo; echo "\$ nft list ruleset   # inside namespace $ns"
ip netns exec "$ns" nft list ruleset
rm -f "$policy"
