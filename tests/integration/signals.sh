#!/bin/bash
# tests/integration/signals.sh -- a stop or reload that reaches sessiongate
# before its handlers are in is acted on once they are: it neither kills
# the process (a web server's graceful restart signals processes it has
# only just spawned: mod_fcgid's reload killed them, and their requests
# got 500) nor is it lost.
#
#   SG_BIN=$PWD/src/sessiongate bash tests/integration/signals.sh
#
# No web server and no Redis: a server reads its config and listens
# without either. "Before the handlers" is made certain, not raced: perl
# (perl-base: POSIX) blocks the signal, sends it to itself and execs
# sessiongate, which so starts with it pending, as if it had arrived in
# its first microsecond. A server must take it once its handlers are in,
# whatever mask it was started with.

case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$SG_BIN" ] || { echo "signals.sh: $SG_BIN is not built" >&2; exit 1; }

D=
PIDS=()

oneTimeSetUp() {
    D=$(mktemp -d "${TMPDIR:-/tmp}/sg-signals.XXXXXX") || return 1
    head -c 48 /dev/urandom | base64 | head -c 40 >"$D/jwt.secret"
    chmod 0600 "$D/jwt.secret"
    cat >"$D/sessiongate.conf" <<EOF
redis = unix:$D/no-redis.sock
jwt_secret_file = $D/jwt.secret
log_level = info
EOF
}

oneTimeTearDown() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    [ -n "$D" ] && rm -rf "$D"
    return 0
}

# start NAME SIGNAL ARGS...: a server in the background that starts with
# SIGNAL pending; its PID in SERVER_PID
start() {
    local name=$1 sig=$2
    shift 2
    SESSIONGATE_CONFIG= perl -MPOSIX -e '
        my $sig = shift;
        sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGHUP, SIGTERM, SIGINT));
        kill $sig, $$;
        exec @ARGV or exit 127;' "$sig" \
        "$SG_BIN" --config "$D/sessiongate.conf" "$@" >"$D/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
}

# wait_exit PID: wait (60 s at most) for it to exit; its status in
# EXIT_STATUS ("still running" if it did not). Not in a subshell: only the
# shell that started it can wait for it.
wait_exit() {
    local i
    EXIT_STATUS="still running"
    for ((i = 0; i < 600; i++)); do
        if ! kill -0 "$1" 2>/dev/null; then
            wait "$1"
            EXIT_STATUS=$?
            return 0
        fi
        sleep 0.1
    done
}

test_in_process_early_term() {
    start inproc-term TERM --listen "unix:$D/a.sock" --workers 0
    wait_exit "$SERVER_PID"
    assertEquals "an early SIGTERM is a clean stop" 0 "$EXIT_STATUS"
}

test_master_early_term() {
    start master-term TERM --listen "unix:$D/b.sock" --workers 2
    wait_exit "$SERVER_PID"
    assertEquals "an early SIGTERM stops the master cleanly" 0 "$EXIT_STATUS"
}

test_in_process_early_hup_reloads() {
    start inproc-hup HUP --listen "unix:$D/c.sock" --workers 0
    assertTrue "an early SIGHUP reloads (log: reloaded)" \
        "sg_poll 60 grep -q 'reloaded' '$D/inproc-hup.log'"
    assertTrue "the process lives on" "kill -0 $SERVER_PID"
    assertTrue "and listens" "[ -S '$D/c.sock' ]"
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID"
    assertEquals "then a SIGTERM stops it cleanly" 0 "$EXIT_STATUS"
}

test_master_workers_take_term() {
    # the workers of a master started with the signals blocked still stop
    start master-workers HUP --listen "unix:$D/d.sock" --workers 2
    assertTrue "the master reloads" "sg_poll 60 grep -q 'reloaded' '$D/master-workers.log'"
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID"
    assertEquals "SIGTERM drains the workers and stops" 0 "$EXIT_STATUS"
    assertFalse "no worker outlives the master" "pgrep -f -- 'unix:$D/d.sock' >/dev/null"
}

suite() {
    local t
    for t in test_in_process_early_term test_master_early_term \
        test_in_process_early_hup_reloads test_master_workers_take_term; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
