#!/bin/bash
# tests/integration/refresh-race.sh -- refreshes that race and answers that
# are lost (issue 13) through one real deployment:
# SG_SERVER=lighttpd|apache|nginx|cgi.
#
#   SG_SERVER=nginx SG_BIN=$PWD/src/sessiongate bash tests/integration/refresh-race.sh
#
# - N concurrent refreshes of one token (browser tabs sharing the refresh
#   cookie) for N = 2, 4, 16: every answer is 200 with the same session and
#   the same new refresh token, every access token verifies, the session
#   lives on; a replay after the grace (aged in Redis, not waited for)
#   still ends the session.
# - A refresh whose answer is lost after Redis ran it (tests/tools/cutproxy
#   between sessiongate and Redis swallows that one answer): the request
#   gets 503, never REFRESH_REUSED (the store sends no command twice), the
#   session lives on, and the client's retry of the same token gets the
#   pair the lost answer held.
# The refresh-race-<server>.sh wrappers set SG_SERVER.

SG_SERVER=${SG_SERVER:-}
case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_suite_server refresh-race.sh lighttpd apache nginx cgi

CUTPROXY=$(dirname "$SG_BIN")/../tests/tools/cutproxy
[ -x "$CUTPROXY" ] || { echo "refresh-race.sh: $CUTPROXY is not built (make check builds it)" >&2; exit 1; }

CUT_PID=
# a grace far longer than the test needs: "after the grace" is made by
# ageing the rotation in Redis
GRACE_CONF='refresh_reuse_grace = 5m
ratelimit_refresh = 1000/1m session'

oneTimeSetUp() {
    SG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sg-race-$SG_SERVER.XXXXXX") || return 1
    API_STACK=main API_STACK_DIR[main]=$SG_DIR
    # Redis through the proxy: it connects upstream only when a client
    # connects, after the stack has started Redis
    "$CUTPROXY" "$SG_DIR/cut.sock" "$SG_DIR/redis.sock" "$SG_DIR/cut.arm" &
    CUT_PID=$!
    sg_poll 10 test -S "$SG_DIR/cut.sock" || { echo "refresh-race.sh: cutproxy did not start" >&2; return 1; }
    SG_URL=$(SG_STACK_EXTRA_CONF="$API_BASE_CONF
redis = unix:$SG_DIR/cut.sock
$GRACE_CONF" sg_stack_start_at "$SG_SERVER" "$SG_DIR") || {
        echo "refresh-race.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    SG_PORT=${SG_URL#http://127.0.0.1:}
    SG_PORT=${SG_PORT%%/*}
    API_STACK_URL[main]=$SG_URL API_STACK_PORT[main]=$SG_PORT
    echo "# $SG_SERVER stack at $SG_URL (dir $SG_DIR), Redis through cutproxy $CUT_PID"
}

oneTimeTearDown() {
    # the stack first: its sessiongate talks to Redis through the proxy
    api_stop_all
    if [ -n "$CUT_PID" ]; then
        kill "$CUT_PID" 2>/dev/null
        wait "$CUT_PID" 2>/dev/null
    fi
    return 0
}

setUp() { api_test_start; }
tearDown() { api_test_end; }

redis() { redis-cli -s "$SG_DIR/redis.sock" "$@"; }
verify_status() { api_auth_status "$1" GET /auth/verify; }
session_key() { printf '%s{u:%s}:s:%s' "$API_REDIS_PREFIX" "$1" "$2"; }

# race N TOKEN: N refreshes of TOKEN started together; their answers in
# $SG_DIR/race.N.{status,body}
race() {
    local n=$1 tok=$2 i pids=() body
    body="{\"refresh_token\":$(json_str "$tok")}"
    rm -f "$SG_DIR"/race.*
    for ((i = 0; i < n; i++)); do
        curl -sS --max-time "$SG_CURL_TIMEOUT" -H 'Expect:' \
            -H 'Content-Type: application/json' -X POST --data-binary "$body" \
            -o "$SG_DIR/race.$i.body" -w '%{http_code}' "$SG_URL/auth/refresh" \
            >"$SG_DIR/race.$i.status" 2>"$SG_DIR/race.$i.err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
}

concurrent_refresh() {
    local n=$1 i sid uid rt t statuses tokens sids access=()
    api_new_user "race$n" || { fail "setup"; return; }
    sid=$API_SID uid=$API_UID rt=$API_REFRESH
    race "$n" "$rt"
    statuses=$(for ((i = 0; i < n; i++)); do cat "$SG_DIR/race.$i.status"; echo; done |
        sort | uniq -c | tr -s ' ' | tr '\n' ';')
    assertEquals "N=$n: every answer 200" " $n 200;" "$statuses"
    tokens=$(for ((i = 0; i < n; i++)); do jq -r .data.refresh_token "$SG_DIR/race.$i.body"; done | sort -u)
    sids=$(for ((i = 0; i < n; i++)); do jq -r .data.session_id "$SG_DIR/race.$i.body"; done | sort -u)
    assertEquals "N=$n: one session" "$sid" "$sids"
    assertEquals "N=$n: one new refresh token for all" 1 "$(printf '%s\n' "$tokens" | wc -l)"
    assertNotEquals "N=$n: it is a new one" "$rt" "$tokens"
    for ((i = 0; i < n; i++)); do
        t=$(jq -r .data.access_token "$SG_DIR/race.$i.body")
        assertEquals "N=$n: access token $i verifies" 200 "$(verify_status "$t")"
        access+=("$t")
    done
    # the refresh token they share is the session's current one
    api_refresh "$tokens"
    assertEquals "N=$n: the shared token refreshes" 200 "$SG_STATUS"
    assertEquals "N=$n: session still the same" "$sid" "$(sg_json .data.session_id)"
    assertEquals "N=$n: session key still there" 1 "$(redis EXISTS "$(session_key "$uid" "$sid")")"
    # two rotations back: reuse, at once, whatever the grace
    api_refresh "$rt"
    assert_error "N=$n: the token two rotations back" 401 REFRESH_REUSED
    assertEquals "N=$n: the session ended" 401 "$(verify_status "${access[0]}")"
}

test_concurrent_refresh_2() { concurrent_refresh 2; }
test_concurrent_refresh_4() { concurrent_refresh 4; }
test_concurrent_refresh_16() { concurrent_refresh 16; }

test_replay_after_grace_ends_session() {
    local rt1 rt2 t2 uid sid
    api_new_user aged || { fail "setup"; return; }
    rt1=$API_REFRESH uid=$API_UID sid=$API_SID
    api_refresh "$rt1"
    assertEquals "first rotation" 200 "$SG_STATUS"
    rt2=$(sg_json .data.refresh_token) t2=$(sg_json .data.access_token)
    # within the grace: the same pair's refresh token again
    api_refresh "$rt1"
    assertEquals "within the grace" 200 "$SG_STATUS"
    assertEquals "within the grace: the current refresh token" "$rt2" "$(sg_json .data.refresh_token)"
    # the rotation five minutes and a second ago: the grace has passed
    redis HSET "$(session_key "$uid" "$sid")" rotated_at \
        "$(($(date +%s%3N) - 301000))" >/dev/null
    api_refresh "$rt1"
    assert_error "after the grace" 401 REFRESH_REUSED
    assertEquals "session key gone" 0 "$(redis EXISTS "$(session_key "$uid" "$sid")")"
    assertEquals "its access token dead" 401 "$(verify_status "$t2")"
    api_refresh "$rt2"
    assert_error "its current refresh token dead" 401 UNAUTHORIZED
}

# The Redis side holds no token: the stored wrap opens only with the
# token it replaced, so the hashes and the wrap in Redis give nothing
# that refreshes.
test_redis_holds_no_usable_token() {
    local rt1 uid sid key wrap
    api_new_user wrap || { fail "setup"; return; }
    rt1=$API_REFRESH uid=$API_UID sid=$API_SID
    api_refresh "$rt1"
    assertEquals "rotation" 200 "$SG_STATUS"
    key=$(session_key "$uid" "$sid")
    wrap=$(redis HGET "$key" prev_wrap)
    assertTrue "a 64-hex wrap: '$wrap'" "[[ '$wrap' =~ ^[0-9a-f]{64}$ ]]"
    assertNotContains "no token in the session hash" "$(redis HGETALL "$key")" "$(sg_json .data.refresh_token)"
    # a token of the right shape that is not rt1: not within the grace
    api_refresh "$(flip_char "$rt1" -5)"
    assert_error "a forged predecessor" 401 UNAUTHORIZED
    assertEquals "session alive" 1 "$(redis EXISTS "$key")"
}

test_lost_answer_is_not_reuse() {
    local rt1 t1 uid sid rt2
    api_new_user lost || { fail "setup"; return; }
    rt1=$API_REFRESH t1=$API_TOKEN uid=$API_UID sid=$API_SID
    # the refresh script's arguments hold the presented token's SHA-256:
    # the proxy swallows the answer to exactly that command
    rm -f "$SG_DIR/cut.arm.cut"
    printf '%s' "$rt1" | sha256sum | cut -d' ' -f1 >"$SG_DIR/cut.arm"
    api_refresh "$rt1"
    assertTrue "the proxy cut the answer (refresh ran in Redis)" "[ -e '$SG_DIR/cut.arm.cut' ]"
    assertEquals "a lost answer is 503" 503 "$SG_STATUS"
    assertEquals "code" STORE_UNAVAILABLE "$(sg_json .error.code)"
    assertNotEquals "Retry-After set" "" "$(hdr Retry-After)"
    assertEquals "the session lives" 200 "$(verify_status "$t1")"
    assertEquals "rotated once in Redis" "$(printf '%s' "$rt1" | sha256sum | cut -d' ' -f1)" \
        "$(redis HGET "$(session_key "$uid" "$sid")" prev_hash)"
    # the client retries: the grace gives it the pair it lost
    api_refresh "$rt1"
    assertEquals "the retry" 200 "$SG_STATUS"
    rt2=$(sg_json .data.refresh_token)
    assertEquals "the same session" "$sid" "$(sg_json .data.session_id)"
    api_refresh "$rt2"
    assertEquals "the lost pair's token is the current one" 200 "$SG_STATUS"
}

# cgi_config CONF: rewrite the CGI stack's config (through the cutting
# proxy, as the suite starts it) with CONF; CGI reads it per request.
cgi_config() {
    SG_STACK_EXTRA_CONF="$API_BASE_CONF
redis = unix:$SG_DIR/cut.sock
$1" sg_stack write-config >/dev/null
}

# With the grace off, a rotated token is reuse at once. The config is
# rewritten: CGI reads it per request, the FastCGI stacks on SIGHUP.
test_grace_off() {
    [ "$SG_SERVER" = cgi ] || { startSkipping; return; }
    local rt1
    cgi_config 'refresh_reuse_grace = 0s'
    api_new_user nograce || { fail "setup"; return; }
    rt1=$API_REFRESH
    api_refresh "$rt1"
    assertEquals "rotation" 200 "$SG_STATUS"
    api_refresh "$rt1"
    assert_error "grace off: reuse at once" 401 REFRESH_REUSED
    cgi_config "$GRACE_CONF"
}

# With ratelimit_refresh_failure off, a token that matches nothing is
# 401 and a replayed one REFRESH_REUSED: refresh.lua's short answer for
# "no window" used to read as no answer, a 503 that told the client of
# an ended session to retry.
test_failure_window_off() {
    [ "$SG_SERVER" = cgi ] || { startSkipping; return; }
    local rt1
    cgi_config 'refresh_reuse_grace = 0s
ratelimit_refresh_failure = off'
    api_new_user nofailwin || { fail "setup"; return; }
    rt1=$API_REFRESH
    api_refresh "${rt1%?????}AAAAA"
    assert_error "unknown token, no failure window" 401 UNAUTHORIZED
    api_refresh "$rt1"
    assertEquals "rotation" 200 "$SG_STATUS"
    api_refresh "$rt1"
    assert_error "reuse, no failure window" 401 REFRESH_REUSED
    cgi_config "$GRACE_CONF"
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
