#!/bin/bash
# tests/integration/stall.sh -- FastCGI peers that stop half-way (issue 13)
# must not take sessiongate's workers for good: SG_SERVER=nginx (the
# standalone pre-forking server on a unix socket, and a second one on
# 127.0.0.1:PORT) or lighttpd (spawned by lighttpd, the socket on fd 0).
#
#   SG_SERVER=nginx bash tests/integration/stall.sh
#   ... stall.sh -- test_half_record          (only this test)
#
# One stack with fcgi_io_timeout = 1s and 2 workers. Each test connects
# more stalled peers (tests/faults/stall_peer) straight to sessiongate's
# socket than there are workers, then shows that /health through the web
# server and a plain FastCGI request (cgi-fcgi) still answer, within a
# bound far above the timeout and far below "never"; that every stalled
# peer is disconnected, after at least the timeout; that each drop is
# logged once, without what the peer sent; and that no worker was
# replaced (test_workers_never_replaced). A body in two parts still
# succeeds. The stall-<server>.sh wrappers set SG_SERVER.
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION);
# SG_STALL_PEER (default: tests/faults/stall_peer next to SG_BIN's tree).

SG_SERVER=${SG_SERVER:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sg_suite_server stall.sh lighttpd nginx
command -v cgi-fcgi >/dev/null 2>&1 ||
    sg_skip_suite "cgi-fcgi is not installed (Debian package libfcgi-bin)"
STALL_PEER=${SG_STALL_PEER:-$(dirname "$SG_BIN")/../tests/faults/stall_peer}
[ -x "$STALL_PEER" ] ||
    { echo "stall.sh: $STALL_PEER is not built (make tests/faults/stall_peer)" >&2; exit 1; }

TIMEOUT_MS=1000
WORKERS=2
# How long a request may wait behind stalled peers: a few timeouts, with
# room for a loaded machine. Without the fix it waits forever.
ANSWER_BOUND=8
SECRET=stall-secret-token-9f2c # what stall_peer sends as token and cookie
SOCK=
PEER_PIDS=()
PEER_DIR=
TCP_PID=
TCP_ADDR=
WORKER_PIDS=

oneTimeSetUp() {
    SG_STACK_WORKERS=$WORKERS \
        SG_STACK_EXTRA_CONF="fcgi_io_timeout = ${TIMEOUT_MS}ms" \
        sg_stack_start "$SG_SERVER" || {
        echo "stall.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    case $SG_SERVER in
    nginx) SOCK=$SG_DIR/run/sessiongate.sock ;;
    lighttpd) SOCK=$SG_DIR/run/lighttpd.sock-0 ;; # lighttpd's name for it
    esac
    PEER_DIR=$SG_DIR/peers
    mkdir -p "$PEER_DIR"
    WORKER_PIDS=$(workers)
    echo "# $SG_SERVER stack at $SG_URL, sessiongate on $SOCK"
}

oneTimeTearDown() {
    stop_peers
    stop_tcp
    sg_stack_stop
}

tearDown() { stop_peers; }

stop_peers() {
    local p
    for p in "${PEER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PEER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PEER_PIDS=()
}

# ---- helpers ---------------------------------------------------------------

# start_peers ADDRESS MODE N: N stall_peer processes, each with its output
# in $PEER_DIR/MODE.I; returns once each has sent its bytes.
start_peers() {
    local addr=$1 mode=$2 n=$3 i
    for ((i = 1; i <= n; i++)); do
        "$STALL_PEER" "$addr" "$mode" >"$PEER_DIR/$mode.$i" 2>&1 &
        PEER_PIDS+=($!)
    done
    for ((i = 1; i <= n; i++)); do
        sg_poll 20 grep -q '^sent' "$PEER_DIR/$mode.$i" ||
            fail "$mode peer $i did not send: $(cat "$PEER_DIR/$mode.$i")"
    done
}

peers_closed() {
    local mode=$1 n=$2 i
    for ((i = 1; i <= n; i++)); do
        grep -q '^closed' "$PEER_DIR/$mode.$i" || return 1
    done
}

# assert_peers_dropped MODE N: every peer saw the server close, and not
# before the timeout.
assert_peers_dropped() {
    local mode=$1 n=$2 i ms
    sg_poll 30 peers_closed "$mode" "$n"
    for ((i = 1; i <= n; i++)); do
        ms=$(sed -n 's/^closed //p' "$PEER_DIR/$mode.$i")
        assertNotNull "$mode peer $i disconnected ($(tr '\n' ' ' <"$PEER_DIR/$mode.$i"))" "$ms"
        [ -n "$ms" ] && assertTrue "$mode peer $i held ${ms} ms, at least the timeout" \
            "[ $ms -ge $TIMEOUT_MS ]"
    done
}

# timed CMD...: run CMD, set ELAPSED_MS.
timed() {
    local t0 rc
    t0=$(date +%s%N)
    "$@"
    rc=$?
    ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
    return $rc
}

# assert_health_answers: GET /health through the web server, within the
# bound.
assert_health_answers() {
    # shellcheck disable=SC2034 # sg_req's curl --max-time
    local SG_CURL_TIMEOUT=$((ANSWER_BOUND + 10))
    timed sg_req GET /health
    assertEquals "/health through $SG_SERVER behind stalled peers" 200 "$SG_STATUS"
    assertTrue "/health took ${ELAPSED_MS} ms (bound ${ANSWER_BOUND} s)" \
        "[ $ELAPSED_MS -le $((ANSWER_BOUND * 1000)) ]"
}

# fcgi_health ADDRESS: /health as a plain FastCGI request (cgi-fcgi).
fcgi_health() {
    env -i REQUEST_METHOD=GET REQUEST_URI=/api/v1/health SCRIPT_NAME=/api/v1 \
        SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 HTTP_HOST=localhost \
        timeout $((ANSWER_BOUND + 10)) cgi-fcgi -bind -connect "$1" 2>&1
}

assert_fcgi_answers() {
    local out
    timed fcgi_health "$1" >"$PEER_DIR/cgi-fcgi.out"
    out=$(head -1 "$PEER_DIR/cgi-fcgi.out" | tr -d '\r')
    assertEquals "cgi-fcgi -connect $1 behind stalled peers" "Status: 200 OK" "$out"
    assertTrue "cgi-fcgi took ${ELAPSED_MS} ms (bound ${ANSWER_BOUND} s)" \
        "[ $ELAPSED_MS -le $((ANSWER_BOUND * 1000)) ]"
}

log_count() { grep -c -F -- "$1" "$2" 2>/dev/null; }

# logged TEXT LOG N: LOG holds at least N lines with TEXT.
logged() { [ "$(log_count "$1" "$2")" -ge "$3" ]; }

workers() { sg_stack pids worker | tr '\n' ' '; }

# stalled_case MODE LOG_TEXT [ADDRESS LOG]: WORKERS+1 peers of MODE, then
# the answers, the drops, one log line each, the same workers.
stalled_case() {
    local mode=$1 text=$2 addr=${3:-unix:$SOCK} log=${4:-$SG_DIR/sessiongate.log}
    local n=$((WORKERS + 1)) before after
    [ "$SG_SERVER" = lighttpd ] && [ -z "${3:-}" ] && log=$SG_DIR/lighttpd-error.log
    before=$(log_count "$text" "$log")
    start_peers "$addr" "$mode" "$n"
    if [ -z "${3:-}" ]; then assert_health_answers; fi
    assert_fcgi_answers "${addr#unix:}"
    assert_peers_dropped "$mode" "$n"
    sg_poll 10 logged "$text" "$log" $((before + n))
    after=$(log_count "$text" "$log")
    assertEquals "'$text' logged once per $mode peer" $((before + n)) "$after"
    assertEquals "nothing the peers sent is logged" 0 \
        "$(cat "$SG_DIR"/*.log | grep -c -F "$SECRET")"
}

# ---- tests -----------------------------------------------------------------

test_half_record() {
    stalled_case half "no complete request after $TIMEOUT_MS ms (4 bytes came)"
}

test_begin_request_and_nothing() {
    stalled_case begin "no complete request after $TIMEOUT_MS ms (16 bytes came)"
}

test_params_without_their_end() {
    stalled_case params "no complete request after $TIMEOUT_MS ms"
}

test_body_shorter_than_content_length() {
    stalled_case body "the peer sent no body for $TIMEOUT_MS ms"
}

# Peers that never read their answers block the workers' writes.
test_answer_never_read() {
    local n=$WORKERS text="the peer took no answer for $TIMEOUT_MS ms" before log
    log=$SG_DIR/sessiongate.log
    [ "$SG_SERVER" = lighttpd ] && log=$SG_DIR/lighttpd-error.log
    before=$(log_count "$text" "$log")
    start_peers "unix:$SOCK" noread "$n"
    assert_health_answers
    assert_peers_dropped noread "$n"
    sg_poll 10 logged "$text" "$log" $((before + n))
    assertEquals "'$text' logged once per peer" $((before + n)) "$(log_count "$text" "$log")"
}

# A body that comes in two parts, the pause well within the timeout, is
# a request like any other (a wrong password: 401, not 400).
test_body_in_two_parts() {
    local out
    out=$("$STALL_PEER" "unix:$SOCK" twopart $((TIMEOUT_MS / 2)) 2>&1)
    assertEquals "a body in two parts" "Status: 401 Unauthorized" "$out"
}

# A stalled peer costs a worker fcgi_io_timeout, never its life: the
# workers that started the suite are the ones serving (tests run in the
# order of this file: this one after the unix-socket cases).
test_workers_never_replaced() {
    assertNotNull "workers found" "$WORKER_PIDS"
    assertEquals "the same workers" "$WORKER_PIDS" "$(workers)"
}

# The standalone server on TCP (nginx's deployment can use either), on a
# free port (another, up to 5 times, if one is taken meanwhile).
start_tcp() {
    local port _
    [ -n "$TCP_PID" ] && return 0
    for _ in 1 2 3 4 5; do
        port=$(sg_pick_port) || return 1
        "$SG_BIN" --config "$SG_DIR/sessiongate.conf" --listen "127.0.0.1:$port" \
            --workers "$WORKERS" </dev/null >>"$SG_DIR/sessiongate-tcp.log" 2>&1 &
        TCP_PID=$!
        TCP_ADDR=127.0.0.1:$port
        sg_poll 20 tcp_up "$port" && kill -0 "$TCP_PID" 2>/dev/null && return 0
        stop_tcp
    done
    return 1
}

# tcp_up PORT: listening, or the server gave up (then not alive).
tcp_up() { sg_port_listening "$1" || ! kill -0 "$TCP_PID" 2>/dev/null; }

stop_tcp() {
    [ -n "$TCP_PID" ] || return 0
    kill "$TCP_PID" 2>/dev/null
    wait "$TCP_PID" 2>/dev/null
    TCP_PID=
}

test_tcp_half_record() {
    [ "$SG_SERVER" = nginx ] || { startSkipping; return 0; }
    start_tcp || fail "the TCP server did not start: $(tail -3 "$SG_DIR/sessiongate-tcp.log")"
    stalled_case half "no complete request after $TIMEOUT_MS ms (4 bytes came)" \
        "$TCP_ADDR" "$SG_DIR/sessiongate-tcp.log"
}

test_tcp_body() {
    [ "$SG_SERVER" = nginx ] || { startSkipping; return 0; }
    start_tcp || fail "the TCP server did not start"
    stalled_case body "the peer sent no body for $TIMEOUT_MS ms" \
        "$TCP_ADDR" "$SG_DIR/sessiongate-tcp.log"
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
