#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SIGKILL of apply at random points: the kernel holds the old table or the new one, never a
# mix (one batch), and the killed writer leaves nothing stuck behind (its lock dies with it:
# the next apply does not wait; a half-written element cache is never believed).
. "$(dirname "$0")/../lib/lib.sh"

KILLS=${IVOZFW_KILLS:-12}
new_ns ns
A=$T/a.json
B=$T/b.json
shipped_policy "$A"
# B: 40,000 more set elements (contents only, never traffic), so a commit takes long enough
# to be killed in the middle of building, sending or recording it.
edit_policy "$B" -e "
p['lists']['bulk'] = ['198.18.%d.%d' % (i >> 8, i & 255) for i in range(0, 65536, 2)][:20000] + \
                     ['2001:db8:%x::%x' % (i >> 8, i & 255) for i in range(20000)]
p['services']['bulk'] = {'tcp': [8888], 'from': ['bulk']}
"
expect_exit 0 ivz "$ns" apply -p "$B"
state_b=$(table_json "$ns")
expect_exit 0 ivz "$ns" apply -p "$A"
state_a=$(table_json "$ns")
t0=$(now_ms)
expect_exit 0 ivz "$ns" apply -p "$B"
full_ms=$(($(now_ms) - t0))
log "apply A -> B takes ${full_ms} ms"

olds=0 news=0
for i in $(seq 1 "$KILLS"); do
    # alternate the direction, kill at a random point within the apply's duration
    if [ $((i % 2)) == 1 ]; then to=$A old=$state_b; else to=$B old=$state_a; fi
    delay=$((RANDOM % (full_ms + 1)))
    ip netns exec "$ns" "$IVOZFW" apply -p "$to" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    now=$(table_json "$ns")
    if [ "$now" == "$old" ]; then
        olds=$((olds + 1))
    elif [ "$now" == "$state_a" ] || [ "$now" == "$state_b" ]; then
        news=$((news + 1))
    else
        diff <(echo "$state_a") <(echo "$now") | head -20 >&2
        fail "kill $i (after ${delay} ms): the table is neither A nor B"
    fi
    # nothing stuck: the next apply runs at once and matches
    expect_exit 0 ivz "$ns" apply -p "$to"
    expect_exit 0 ivz "$ns" diff -p "$to"
done
log "$KILLS kills at random points: $olds left the old table whole (killed before the commit), $news the new one whole"

# Random delays prove nothing about the moment that matters. ivozfw-hooked stops at a chosen
# point (IVOZFW_TEST_PAUSE) and the test kills it there: just before the batch is sent (the
# old table stays whole), and just after the kernel took it, before the command recorded
# anything (the element cache, applied.json): the new table is whole, and the next command
# does not believe a cache the killed one never wrote.
HOOKED=${IVOZFW_HOOKED:-$(dirname "$IVOZFW")/ivozfw-hooked}
[ -x "$HOOKED" ] || fail "test binary $HOOKED is missing (built with ivozfw)"
expect_exit 0 ivz "$ns" apply -p "$A"
for when in before after; do
    rm -f "$T/paused"
    IVOZFW_TEST_PAUSE="$when:$T/paused" ip netns exec "$ns" "$HOOKED" apply -p "$B" >/dev/null 2>&1 &
    pid=$!
    wait_until 60 test -e "$T/paused" || fail "the hooked apply never reached the pause ($when)"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    now=$(table_json "$ns")
    if [ "$when" == before ]; then
        expect_same "$state_a" "$now" "table after a kill just before the batch was sent"
    else
        expect_same "$state_b" "$now" "table after a kill just after the kernel took the batch"
    fi
    expect_exit 0 ivz "$ns" diff -p "$([ "$when" == before ] && echo "$A" || echo "$B")"
    # nothing stuck, and the next apply (back to A) is right whatever cache is there
    expect_exit 0 ivz "$ns" apply -p "$A"
    expect_exit 0 ivz "$ns" diff -p "$A"
    expect_same "$state_a" "$(table_json "$ns")" "table after the next apply ($when)"
done
pass
