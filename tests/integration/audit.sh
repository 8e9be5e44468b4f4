#!/bin/bash
# tests/integration/audit.sh -- the audit trail (docs/OPERATIONS.md) in a
# real web server's error log, and the shipped fail2ban filter on it:
# lighttpd spawns sessiongate, whose stderr is lighttpd's error log.
#
#   SG_BIN=$PWD/src/sessiongate bash tests/integration/audit.sh
#
# The traffic mixes successes, failures, a lock-out and a client that
# tries to forge a field (an email, a request id and an X-Forwarded-For
# shaped like "client=6.6.6.6"); fail2ban-regex (Debian package fail2ban;
# it starts no daemon) must find exactly the failures and the lock-out,
# each with the real client address.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sg_require lighttpd
sg_require_tool fail2ban-regex fail2ban

EMAIL=audit@example.com
PASSWORD='correct horse battery'
FORGED='x client=6.6.6.6@example.com'
FILTER=$SG_TOP/conf/fail2ban/filter.d/sessiongate.conf
# a whole audit line: our time stamp, then only key=value fields whose
# values are bare or quoted with escapes
LINE_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z sessiongate\[[0-9]+\] audit: event=[a-z_]+ client=127\.0\.0\.1( [a-z_]+=([A-Za-z0-9._:/@+-]+|"([^"\\]|\\.)*"))*$'

tearDown() { sg_stack_stop; }

start() {
    SG_STACK_EXTRA_CONF=$(printf '%s\n' "$@") sg_stack_start lighttpd ||
        fail "the lighttpd stack did not start"
    LOG=$SG_DIR/lighttpd-error.log
}

post_json() {
    local path=$1 body=$2
    shift 2
    sg_req POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

signin() {
    post_json /auth/signin "{\"email\":\"$1\",\"password\":\"$2\"}" "${@:3}"
}

audit_lines() { grep ' audit: ' "$LOG"; }

count_event() { audit_lines | grep -c " audit: event=$1 "; }

traffic() {
    local i access refresh
    post_json /auth/register "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
    assertEquals "register (body: $SG_BODY)" 201 "$SG_STATUS"
    signin "$EMAIL" "$PASSWORD"
    assertEquals "sign-in" 200 "$SG_STATUS"
    for i in 1 2 3 4 5; do
        signin "$EMAIL" "wrong $i"
        assertEquals "failure $i" 401 "$SG_STATUS"
    done
    signin "$EMAIL" "wrong 6"
    assertEquals "the account is locked" 429 "$SG_STATUS"
    signin "$FORGED" "wrong" -H 'X-Request-ID: r1 client=6.6.6.6' \
        -H 'X-Forwarded-For: 6.6.6.6'
    assertEquals "a forged-looking email fails" 401 "$SG_STATUS"
    # a session ended by its user, then reuse of a rotated refresh token
    signin "$EMAIL" "$PASSWORD" -H 'X-Forwarded-For: 6.6.6.6'
    access=$(sg_json .data.access_token)
    refresh=$(sg_json .data.refresh_token)
    post_json /auth/refresh "{\"refresh_token\":\"$refresh\"}"
    assertEquals "refresh" 200 "$SG_STATUS"
    post_json /auth/refresh "{\"refresh_token\":\"$refresh\"}"
    assertEquals "the rotated token again (no grace)" REFRESH_REUSED "$(sg_json .error.code)"
    signin "$EMAIL" "$PASSWORD"
    access=$(sg_json .data.access_token)
    sg_req POST /auth/signout -H "Authorization: Bearer $access" -H "Content-Length: 0"
    assertEquals "signout" 200 "$SG_STATUS"
}

test_trail_and_fail2ban() {
    local bad matched
    start 'log_level = warn' 'ratelimit_signin = 100/1m ip' \
        'refresh_reuse_grace = 0'
    traffic
    assertEquals "register" 1 "$(count_event register)"
    assertEquals "successes" 3 "$(count_event signin_success)"
    assertEquals "failures" 6 "$(count_event signin_failure)"
    assertEquals "lock-outs" 1 "$(count_event signin_locked)"
    assertEquals "reuse" 1 "$(count_event refresh_reuse)"
    assertEquals "sign-out" 1 "$(count_event signout)"
    bad=$(audit_lines | grep -Ev "$LINE_RE")
    assertEquals "every audit line is well formed" "" "$bad"
    assertEquals "log_level = warn: no info lines, the audit still written" 0 \
        "$(grep -c ' sessiongate\[[0-9]*\] info: ' "$LOG")"
    assertEquals "nothing a client sent reached the log" 0 "$(grep -c '6\.6\.6\.6' "$LOG")"
    assertEquals "no email in the log" 0 "$(grep -c 'example\.com' "$LOG")"
    assertEquals "no password in the log" 0 "$(grep -c -e 'wrong' -e 'horse' "$LOG")"

    matched=$(fail2ban-regex -o ip "$LOG" "$FILTER" 2>&1)
    assertEquals "fail2ban: the 6 failures and the lock-out, from 127.0.0.1 ($matched)" \
        "$(printf '127.0.0.1\n%.0s' 1 2 3 4 5 6 7)" "$matched"
    matched=$(fail2ban-regex -o msg "$LOG" "$FILTER" 2>&1 | sort)
    assertEquals "fail2ban: exactly those lines" \
        "$(grep -E ' audit: event=signin_(failure|locked) ' "$LOG" | sort)" "$matched"
    assertFalse "no fail2ban-server left running" "pgrep -x fail2ban-server >/dev/null"
}

test_audit_off() {
    start 'audit = off'
    signin "$EMAIL" wrong
    assertEquals "a failed sign-in" 401 "$SG_STATUS"
    assertEquals "audit = off: no audit line" 0 "$(grep -c ' audit: ' "$LOG")"
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
