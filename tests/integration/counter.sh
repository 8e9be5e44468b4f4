#!/bin/bash
# tests/integration/counter.sh -- the per-user limit's sliding-window
# counter (src/lua/counter.lua) run by a private redis-server, with the
# clock in the test's hands: every call names its "now", so periods pass
# and overlap exactly where the test says, and nothing waits.
#
# Environment: SG_SKIP_INTEGRATION=1 (skip: exit 77).

case ${SG_SKIP_INTEGRATION:-} in
'' | 0 | no) ;;
*)
    echo "SKIP: SG_SKIP_INTEGRATION is set" >&2
    exit 77
    ;;
esac
for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "SKIP: $tool is not installed" >&2
        exit 77
    }
done
[ -r /usr/share/shunit2/shunit2 ] || {
    echo "SKIP: shunit2 is not installed" >&2
    exit 77
}

export LC_ALL=C
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
LUA=$(dirname "$0")/../../src/lua/counter.lua
DIR=
REDIS_PID=
SCRIPT=

stop_redis() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
        REDIS_PID=
    fi
    [ -z "$DIR" ] || rm -rf "$DIR"
    DIR=
}

redis_up() {
    [ "$(redis-cli -s "$DIR/redis.sock" ping 2>/dev/null)" = PONG ]
}

oneTimeSetUp() {
    DIR=$(mktemp -d) || exit 99
    trap 'stop_redis; _shunit_cleanup EXIT' EXIT
    redis-server --port 0 --unixsocket "$DIR/redis.sock" \
        --unixsocketperm 700 --save '' --appendonly no \
        --logfile "$DIR/redis.log" &
    REDIS_PID=$!
    sg_poll 60 redis_up || {
        echo "counter.sh: redis-server did not start" >&2
        exit 99
    }
    # counter.lua as the prelude has it, and a call of it
    SCRIPT="$(cat "$LUA")
return {counter(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
                tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == 'always')}"
}

oneTimeTearDown() { stop_redis; }

setUp() { rcli FLUSHALL >/dev/null; }

rcli() { redis-cli -s "$DIR/redis.sock" "$@"; }

# hit NOW [N [always]]: count N (default 1) requests at NOW (ms) against a
# limit of 5 in 1000 s, if allowed or "always"; prints "ALLOWED REMAINING
# RESET". The test's clock is small numbers, but the key's TTL runs on
# Redis's: the window is long enough for no key to expire in real time.
LIMIT=5 WINDOW=1000000
hit() {
    rcli EVAL "$SCRIPT" 1 k "$1" "$LIMIT" "$WINDOW" "${2:-1}" "${3:-}" | tr '\n' ' ' | sed 's/ $//'
}

test_first_period_is_exact() {
    local i resets=(3000000 2500000 2333334 2250000 2200000)
    # Reset: when the estimate falls by one, as the first period's
    # requests leave evenly through the second (the first at its end)
    for i in 0 1 2 3 4; do
        assertEquals "request $((i + 1))" "1 $((4 - i)) ${resets[i]}" "$(hit $((1000000 + i * 200000)))"
    done
    # a sixth anywhere in the first window: refused; the estimate falls to
    # 4 of 5 once a fifth of the next window has passed
    assertEquals "sixth, at once" "0 0 2200000" "$(hit 1801000)"
    assertEquals "sixth, at the window's last ms" "0 0 2200000" "$(hit 1999999)"
    assertEquals "stored as START PREV CUR" "1000000 0 5" "$(rcli GET k)"
}

test_the_previous_period_leaves_evenly() {
    local i
    for i in 1 2 3 4 5; do hit 1000000 >/dev/null; done
    # the next period: 5 * 80% = 4 still counted at 2200000
    assertEquals "new period, nothing has left yet" "0 0 2200000" "$(hit 2000000)"
    assertEquals "a fifth of the way: one slot" "1 0 2400000" "$(hit 2200000)"
    assertEquals "stored" "2000000 5 1" "$(rcli GET k)"
    assertEquals "refused until the next one leaves" "0 0 2400000" "$(hit 2399999)"
    assertEquals "then one more" "1 0 2600000" "$(hit 2400000)"
    # two windows after the period began nothing of it is left
    assertEquals "a new start" "1 4 6000000" "$(hit 4000000)"
    assertEquals "stored" "4000000 0 1" "$(rcli GET k)"
}

test_the_key_expires_with_its_use() {
    local ttl
    hit 1000000 >/dev/null
    ttl=$(rcli PTTL k)
    # PX is two windows from the period's start, measured from now
    assertTrue "PTTL '$ttl' at most 2000000 ms" "[ '$ttl' -gt 0 ] && [ '$ttl' -le 2000000 ]"
    hit 1500000 >/dev/null
    ttl=$(rcli PTTL k)
    assertTrue "PTTL '$ttl' at most 1500000 ms" "[ '$ttl' -gt 0 ] && [ '$ttl' -le 1500000 ]"
}

test_a_batch_is_counted_whatever() {
    # local mode flushes counts that already happened: all of them count
    assertEquals "7 at once" "0 0 2428572" "$(hit 1000000 7 always)"
    assertEquals "stored" "1000000 0 7" "$(rcli GET k)"
    assertEquals "a request after them" "0 0 2428572" "$(hit 1001000)"
    assertEquals "not counted" "1000000 0 7" "$(rcli GET k)"
    assertEquals "one more answered" "0 0 2500000" "$(hit 1002000 1 always)"
    assertEquals "counted" "1000000 0 8" "$(rcli GET k)"
    rcli DEL k >/dev/null
    assertEquals "6 at once, not always: none counted" "0 5 1000000" "$(hit 1000000 6)"
    assertEquals "nothing stored" "" "$(rcli GET k)"
}

test_a_clock_behind_does_not_reset() {
    hit 5000000 >/dev/null
    hit 5000000 >/dev/null
    # another host, its clock 300 s behind: the same period, counted
    assertEquals "a host behind" "1 2 6333334" "$(hit 4700000)"
    assertEquals "stored" "5000000 0 3" "$(rcli GET k)"
}

test_what_is_not_a_counter_starts_afresh() {
    rcli ZADD k 1 a 2 b 3 c >/dev/null
    assertEquals "a window log from before" "1 4 3000000" "$(hit 1000000)"
    assertEquals "replaced" "string" "$(rcli TYPE k)"
    rcli SET k 'garbage' >/dev/null
    assertEquals "garbage" "1 4 3000000" "$(hit 1000000)"
    assertEquals "replaced" "1000000 0 1" "$(rcli GET k)"
}

test_large_limits_and_windows() {
    # the default, 600 a minute, at a real epoch in ms
    local now=1796000000000
    LIMIT=600 WINDOW=60000
    assertEquals "first" "1 599 $((now + 120000))" "$(hit $now)"
    assertEquals "599 more" "1 0 $((now + 60100))" "$(hit $now 599 always)"
    assertEquals "the 601st" "0 0 $((now + 60100))" "$(hit $((now + 59999)))"
    assertEquals "a window later, a tenth of a second in" "1 0 $((now + 60200))" "$(hit $((now + 60100)))"
    LIMIT=5 WINDOW=1000000
}

# shellcheck disable=SC1091
. /usr/share/shunit2/shunit2
