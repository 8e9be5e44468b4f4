#!/bin/bash
# tests/integration/multihost.sh -- many web hosts on one Redis (issue 15):
# two stacks with different servers, A on nginx (sessiongate standalone)
# and B on lighttpd (spawned), share one Redis and one signing key, and
# with them sessions, limits and revocation. Roundtrip mode: what local
# mode adds across hosts is tests/integration/revocation.sh's.
#
#   test_sessions_shared        signed in on A: B lists the session and
#       answers /me; a sign-in on B shows on A
#   test_refresh_across_hosts   a refresh token from A rotated on B; the
#       old one replayed on A is reuse and ends the session on both
#   test_signout_across_hosts   signed out on A: 401 on B at once
#   test_user_limit_shared      ratelimit_user counts the requests of both
#       hosts: the limit reached with some on each, refused on both
#   test_signin_failures_shared ratelimit_signin_failure (per account)
#       counts wrong passwords sent to either host
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION).

case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
# roundtrip by definition (revocation.sh is the local-mode one)
unset SG_VERIFY_MODE
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/api.sh
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_require nginx
sg_require lighttpd

USER_LIMIT=6
MH_CONF="ratelimit_user = $USER_LIMIT/1h user
refresh_reuse_grace = 0"

oneTimeSetUp() {
    local dir_a
    api_use_stack a nginx "$MH_CONF" || return 1
    dir_a=$SG_DIR
    api_use_stack b lighttpd "$MH_CONF
redis = unix:$dir_a/redis.sock
jwt_secret_file = $dir_a/jwt.secret" || return 1
}

oneTimeTearDown() { api_stop_all; }

on() { api_use_stack "$1"; }

test_sessions_shared() {
    local sid
    on a
    api_new_user shared || fail "sign-in on A"
    sid=$API_SID
    on b
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "B lists A's sessions: $SG_BODY" 200 "$SG_STATUS"
    assertEquals "the session signed in on A" "$sid" "$(sg_json '.data.sessions[0].id')"
    api_auth "$API_TOKEN" GET /auth/me
    assertEquals "B answers /auth/me: $SG_BODY" 200 "$SG_STATUS"
    api_signin "$API_EMAIL" || fail "sign-in on B"
    on a
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "A lists both sessions: $SG_BODY" 2 "$(sg_json '.data.sessions | length')"
}

test_refresh_across_hosts() {
    local old token
    on a
    api_new_user refresh || fail "sign-in on A"
    old=$API_REFRESH token=$API_TOKEN
    on b
    api_refresh "$old"
    assertEquals "A's refresh token rotated on B: $SG_BODY" 200 "$SG_STATUS"
    on a
    api_refresh "$old"
    assertEquals "the old one replayed on A" 401 "$SG_STATUS"
    assertEquals "is reuse" REFRESH_REUSED "$(sg_json .error.code)"
    on b
    api_auth "$token" GET /auth/verify
    assertEquals "the session is over on B too" 401 "$SG_STATUS"
}

test_signout_across_hosts() {
    on a
    api_new_user signout || fail "sign-in on A"
    on b
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "B accepts A's token" 200 "$SG_STATUS"
    on a
    api_signout "$API_TOKEN"
    assertEquals "sign-out on A" 200 "$SG_STATUS"
    on b
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "B refuses it at once" 401 "$SG_STATUS"
}

test_user_limit_shared() {
    local i
    on a
    api_new_user limit || fail "sign-in on A"
    for ((i = 0; i < USER_LIMIT / 2; i++)); do
        api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "verify $i on A" 200 "$SG_STATUS"
    done
    on b
    for ((i = USER_LIMIT / 2; i < USER_LIMIT; i++)); do
        api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "verify $i on B" 200 "$SG_STATUS"
    done
    assertEquals "B's count includes A's requests" 0 "$(sg_hdr X-RateLimit-Remaining)"
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "over the limit on B" 429 "$SG_STATUS"
    on a
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "and on A" 429 "$SG_STATUS"
}

test_signin_failures_shared() {
    local i email
    on a
    email=$(api_email failures)
    api_register "$email" || fail "register"
    # the default ratelimit_signin_failure: 5 per account in 15 minutes
    for i in 1 2 3; do
        on a
        api_post /auth/signin "$(creds_json "$email" "wrong password $i")"
        assertEquals "wrong password $i on A" 401 "$SG_STATUS"
    done
    for i in 4 5; do
        on b
        api_post /auth/signin "$(creds_json "$email" "wrong password $i")"
        assertEquals "wrong password $i on B" 401 "$SG_STATUS"
    done
    on a
    api_post /auth/signin "$(creds_json "$email" "$API_PASSWORD")"
    assertEquals "the account is locked on A: $SG_BODY" 429 "$SG_STATUS"
    on b
    api_post /auth/signin "$(creds_json "$email" "$API_PASSWORD")"
    assertEquals "and on B" 429 "$SG_STATUS"
}

# shellcheck source=/dev/null
. /usr/share/shunit2/shunit2
