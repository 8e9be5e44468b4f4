#!/bin/bash
# tests/integration/metrics.sh -- GET /metrics (docs/OPERATIONS.md) through
# real stacks: nginx in front of a standalone sessiongate (a master and
# two workers) and lighttpd spawning it (fd 0 its socket, pre-forking two
# workers); and as CGI, where it is not available.
#
#   SG_BIN=$PWD/src/sessiongate bash tests/integration/metrics.sh
#
# Each test starts its own stack (tests/stack.sh) with the keys it needs.
# Counts are compared as differences between two scrapes, so the requests
# the stack's start made do not matter; every scrape is checked with
# promtool (Debian package prometheus). Nothing waits a fixed time: a
# respawn is polled for.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sg_require nginx
sg_require lighttpd
sg_require_tool promtool prometheus

EMAIL=metrics@example.com
PASSWORD='correct horse battery'

tearDown() { sg_stack_stop; }

# start SERVER [CONF LINES...]: a stack whose sessiongate.conf has them.
start() {
    local server=$1
    shift
    SG_STACK_EXTRA_CONF=$(printf '%s\n' "$@") sg_stack_start "$server" ||
        fail "the $server stack did not start"
}

post_json() {
    sg_req POST "$1" -H 'Content-Type: application/json' --data-binary "$2"
}

signin() {
    post_json /auth/signin "{\"email\":\"$EMAIL\",\"password\":\"$1\"}"
}

# scrape FILE [curl args]: GET /metrics into FILE, checked by promtool.
scrape() {
    local out=$1
    shift
    sg_req GET /metrics "$@"
    assertEquals "GET /metrics (body: ${SG_BODY:0:200})" 200 "$SG_STATUS"
    assertEquals "the text format's content type" \
        'text/plain; version=0.0.4; charset=utf-8' "$(sg_hdr Content-Type)"
    printf '%s\n' "$SG_BODY" >"$out"
    assertTrue "promtool check metrics: $(promtool check metrics <"$out" 2>&1)" \
        "promtool check metrics <'$out' >/dev/null 2>&1"
}

# value FILE SERIES: the sample of SERIES (name{labels} as written), 0 if absent.
value() {
    awk -v k="$2" '$1 == k { v = $2 } END { print v == "" ? 0 : v }' "$1"
}

# delta SERIES: its value in $SG_DIR/b.prom less that in $SG_DIR/a.prom.
delta() {
    echo $(($(value "$SG_DIR/b.prom" "$1") - $(value "$SG_DIR/a.prom" "$1")))
}

assert_delta() {
    assertEquals "$1" "$2" "$(delta "$1")"
}

assert_not_found() {
    assertEquals "$1: status (body: $SG_BODY)" 404 "$SG_STATUS"
    assertEquals "$1: the JSON envelope" 'false NOT_FOUND' \
        "$(sg_json '"\(.success) \(.error.code)"')"
    assertEquals "$1: as an unknown route's" \
        "$(sg_req GET /no-such-route >/dev/null; echo "$SG_BODY")" "$SG_BODY"
}

# The test's traffic: 3 sign-ins, 2 failures, a refresh and a verify.
traffic() {
    local i access refresh
    post_json /auth/register "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
    assertEquals "register (body: $SG_BODY)" 201 "$SG_STATUS"
    scrape "$SG_DIR/a.prom"
    for i in 1 2 3; do
        signin "$PASSWORD"
        assertEquals "sign-in $i" 200 "$SG_STATUS"
    done
    access=$(sg_json .data.access_token)
    refresh=$(sg_json .data.refresh_token)
    for i in 1 2; do
        signin "wrong password $i"
        assertEquals "failed sign-in $i" 401 "$SG_STATUS"
    done
    post_json /auth/refresh "{\"refresh_token\":\"$refresh\"}"
    assertEquals "refresh" 200 "$SG_STATUS"
    sg_req GET /auth/verify -H "Authorization: Bearer $access"
    assertEquals "verify" 200 "$SG_STATUS"
    scrape "$SG_DIR/b.prom"
}

assert_traffic_counted() {
    assert_delta 'sessiongate_signins_total{result="ok"}' 3
    assert_delta 'sessiongate_signins_total{result="bad_credentials"}' 2
    assert_delta 'sessiongate_signins_total{result="limited"}' 0
    assert_delta 'sessiongate_refreshes_total{result="rotated"}' 1
    assert_delta 'sessiongate_requests_total{route="/auth/signin",status="200"}' 3
    assert_delta 'sessiongate_requests_total{route="/auth/signin",status="401"}' 2
    assert_delta 'sessiongate_requests_total{route="/auth/refresh",status="200"}' 1
    assert_delta 'sessiongate_requests_total{route="/auth/verify",status="200"}' 1
    # the first scrape is counted once it is answered: in the second
    assert_delta 'sessiongate_requests_total{route="/metrics",status="200"}' 1
    assert_delta 'sessiongate_request_duration_seconds_count{route="/auth/signin"}' 5
    assert_delta 'sessiongate_request_duration_seconds_bucket{route="/auth/signin",le="+Inf"}' 5
    assertEquals "no raw path is a label" "" \
        "$(grep -o 'route="[^"]*"' "$SG_DIR/b.prom" | sort -u |
            grep -v -e 'route="/' -e 'route="none"' -e 'route="authorizer"')"
}

test_off_by_default() {
    start nginx
    sg_req GET /metrics
    assert_not_found "metrics off"
}

test_nginx_counts_exactly() {
    start nginx 'metrics = on'
    traffic
    assert_traffic_counted
    assertEquals "one build_info" 1 \
        "$(grep -c '^sessiongate_build_info{version="[^"]*"} 1$' "$SG_DIR/b.prom")"
}

test_lighttpd_spawned_counts_exactly() {
    start lighttpd 'metrics = on'
    traffic
    assert_traffic_counted
}

test_only_allowed_clients() {
    # nginx connects from 127.0.0.1: trusted, so X-Forwarded-For decides
    start nginx 'metrics = on' 'trusted_proxies = 127.0.0.1/32'
    scrape "$SG_DIR/a.prom"
    sg_req GET /metrics -H 'X-Forwarded-For: 192.0.2.7'
    assert_not_found "a client outside metrics_allow"
    scrape "$SG_DIR/a.prom" -H 'X-Forwarded-For: 127.0.0.1'
    sg_stack_stop
    start nginx 'metrics = on' 'metrics_allow = 192.0.2.0/24, 2001:db8::/32'
    sg_req GET /metrics
    assert_not_found "127.0.0.1 outside metrics_allow"
}

# worker_pids: the stack's workers, one per line, sorted.
# The workers, not the revocation reader (verify_mode = local), which the
# master also supervises.
worker_pids() {
    local readers
    readers=$(sg_stack pids reader)
    sg_stack pids worker | grep -vxF -e "${readers:-none}" | sort -n
}

# replaced OLD: two workers again, OLD not among them.
replaced() {
    local now
    now=$(worker_pids)
    [ "$(echo "$now" | grep -c .)" = 2 ] && ! grep -qx "$1" <<<"$now"
}

test_killed_worker_counts_survive() {
    local victim
    start nginx 'metrics = on'
    traffic
    cp "$SG_DIR/b.prom" "$SG_DIR/a.prom"
    victim=$(worker_pids | head -n 1)
    assertNotNull "a worker to kill" "$victim"
    kill -KILL "$victim"
    assertTrue "the master respawns the worker" "sg_poll 60 replaced $victim"
    # two scrapes: whichever worker answers, both see the whole block
    scrape "$SG_DIR/b.prom"
    scrape "$SG_DIR/b.prom"
    assert_delta 'sessiongate_worker_restarts_total' 1
    assert_delta 'sessiongate_signins_total{result="ok"}' 0
    assertEquals "the sign-ins before the kill are still counted" 3 \
        "$(value "$SG_DIR/b.prom" 'sessiongate_signins_total{result="ok"}')"
}

test_cgi_not_available() {
    local dir out
    dir=$(mktemp -d "${TMPDIR:-/tmp}/sg-metrics-cgi.XXXXXX")
    head -c 48 /dev/urandom >"$dir/jwt.secret"
    printf 'redis = unix:%s/no-redis.sock\njwt_secret_file = %s/jwt.secret\nmetrics = on\n' \
        "$dir" "$dir" >"$dir/sessiongate.conf"
    out=$(env -i PATH="$PATH" SESSIONGATE_CONFIG="$dir/sessiongate.conf" \
        GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_NAME=/api/v1 \
        PATH_INFO=/metrics REMOTE_ADDR=127.0.0.1 "$SG_BIN" 2>/dev/null </dev/null)
    rm -rf "$dir"
    assertContains "CGI: 404 (got: ${out:0:300})" "$out" "Status: 404"
    assertContains "CGI: the JSON envelope" "$out" '"code":"NOT_FOUND"'
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
