#!/usr/bin/env bash
# Set up, build, and run the main job on a safe default: a throwaway network namespace,
# never the host's own firewall. diff against the empty namespace, apply the shipped
# IvozProvider policy, diff again (no changes), and print the resulting ruleset.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

ns="ivozfw-demo-$$"
state=$(mktemp -d)
watch_pid=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$state"
}
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

# Another tool takes the table away (what `systemctl restart nftables` does); ivozfw watch
# puts it back. Waits on the conditions themselves, each with a deadline.
echo; echo "\$ ivozfw watch &    # then, as another tool would: nft flush ruleset"
ip netns exec "$ns" ./build/ivozfw --state-dir "$state" watch -p "$policy" 2>"$state/watch.log" &
watch_pid=$!
for _ in $(seq 100); do [ -s "$state/watch.json" ] && break; sleep 0.1; done
[ -s "$state/watch.json" ] || { echo "watch did not start: $(cat "$state/watch.log")" >&2; exit 1; }
ip netns exec "$ns" nft flush ruleset
for _ in $(seq 100); do grep -q "restored in" "$state/watch.log" && break; sleep 0.05; done
grep "restored in" "$state/watch.log" || { echo "watch did not restore the table: $(cat "$state/watch.log")" >&2; exit 1; }
run diff -p "$policy"
run status -p "$policy" | grep -E "^table|^watch|^ +last:"
rm -f "$policy"
