#!/bin/bash
# tests/integration/sessions.sh -- session management, admin routes, shared
# rate limits, X-Forwarded-For and the Redis outage policies (issue 4)
# through one real deployment: SG_SERVER=lighttpd|apache|nginx|cgi.
#
#   SG_SERVER=nginx SG_BIN=$PWD/src/sessiongate bash tests/integration/sessions.sh
#   ... sessions.sh -- test_list test_admin   (only these tests)
#
# Two stacks: "main" (the defaults, trusted_proxies unset, fail_closed,
# but ratelimit_user's window an hour instead of a minute) and "tight"
# (ratelimit_user = 5/1h user, trusted_proxies = 127.0.0.1/32,
# on_store_error = verify_signature_only), started when a test first needs
# it. Windows are an hour so that a test's requests fall in one window
# however slow the machine; a window passes by ageing its entries in Redis,
# never by waiting. Each test uses users of its own. The outage tests restart Redis,
# which loses every key (the test Redis keeps nothing on disk): they run
# last on their stack. The sessions-<server>.sh wrappers set SG_SERVER.

SG_SERVER=${SG_SERVER:-}
case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

[ -n "$SG_SERVER" ] || { echo "sessions.sh: set SG_SERVER (lighttpd, apache, nginx or cgi)" >&2; exit 1; }
sg_require "$SG_SERVER"

# The default user limit (600), over an hour: test_list counts the
# requests in the window.
MAIN_CONF='ratelimit_user = 600/1h user'
TIGHT_CONF='ratelimit_user = 5/1h user
trusted_proxies = 127.0.0.1/32
on_store_error = verify_signature_only'

oneTimeSetUp() {
    api_suite_start "$SG_SERVER" "$MAIN_CONF" || {
        echo "sessions.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    echo "# $SG_SERVER stack at $SG_URL (dir $SG_DIR)"
}

oneTimeTearDown() { api_stop_all; }

setUp() { api_test_start; }
tearDown() {
    api_monitor_stop
    api_test_end
}

use_main() { api_use_stack main || fail "main stack"; }
use_tight() { api_use_stack tight "$SG_SERVER" "$TIGHT_CONF" || fail "tight stack"; }

# ---- helpers ---------------------------------------------------------------

verify_status() { api_auth_status "$1" GET /auth/verify; }
verify_is() { [ "$(verify_status "$2")" = "$1" ]; }
# table_not_current: GET /ready does not say this worker's revocation
# table is current (verify_mode = local), or has none (roundtrip)
table_not_current() {
    sg_req GET /ready >/dev/null
    [ "$(sg_json '[.. | .revocations? | strings] | first // "none"')" != current ]
}

# age_user_window TOKEN: move the start of the token's user's counter
# ("START PREV CUR", ms) two hours into the past, as if both of its
# windows had passed (no sleeping); prints what it counted.
age_user_window() {
    local sub key
    sub=$(jwt_part "$1" 2 | jq -r .sub)
    key="${API_REDIS_PREFIX}{u:$sub}:rl:user"
    sg_redis EVAL "local s, p, c = string.match(redis.call('GET', KEYS[1]), '^(%d+) (%d+) (%d+)$') redis.call('SET', KEYS[1], string.format('%d %d %d', s - 7200000, p, c), 'KEEPTTL') return p + c" 1 "$key"
}
sessions_status_is() { [ "$(api_auth_status "$2" GET /sessions)" = "$1" ]; }

# Redis is back and every worker reconnected.
redis_back() {
    sg_stack redis-start || fail "redis-start"
    assertTrue "ready again" "sg_poll 60 n_times 6 ready_ok"
}

# par_auth N TOKEN PATH: N parallel GETs; prints "STATUS REMAINING" lines.
par_auth() {
    local n=$1 tok=$2 path=$3 i pids=() out=$SG_DIR/par
    rm -rf "$out"
    mkdir -p "$out"
    for ((i = 0; i < n; i++)); do
        curl -s -o /dev/null -D "$out/$i.h" -w '%{http_code}\n' --max-time "$SG_CURL_TIMEOUT" \
            -H "Authorization: Bearer $tok" "$SG_URL$path" >"$out/$i.s" 2>/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
    for ((i = 0; i < n; i++)); do
        echo "$(<"$out/$i.s") $(SG_HDRS=$out/$i.h hdr X-RateLimit-Remaining)"
    done
}

# The fields of one session object, in order.
SESSION_KEYS='created_at,current,expires_at,id,ip_address,last_access,request_count,user_agent'

assert_session_shape() {
    local what=$1 i=$2
    assertEquals "$what: fields" "$SESSION_KEYS" "$(sg_json ".data.sessions[$i] | keys | join(\",\")")"
    assert_rfc3339 "$what: created_at" "$(sg_json ".data.sessions[$i].created_at")"
    assert_rfc3339 "$what: last_access" "$(sg_json ".data.sessions[$i].last_access")"
    assert_rfc3339 "$what: expires_at" "$(sg_json ".data.sessions[$i].expires_at")"
    assertTrue "$what: id" "[[ '$(sg_json ".data.sessions[$i].id")' =~ $SID_RE ]]"
    assertEquals "$what: request_count is a number" number "$(sg_json ".data.sessions[$i].request_count | type")"
    assertEquals "$what: current is a boolean" boolean "$(sg_json ".data.sessions[$i].current | type")"
    assertTrue "$what: expires_at after created_at" \
        "[ $(epoch_of "$(sg_json ".data.sessions[$i].expires_at")") -gt $(epoch_of "$(sg_json ".data.sessions[$i].created_at")") ]"
}

# ---- main stack --------------------------------------------------------------

# First on the main stack: no GET /sessions has run on this Redis yet.
test_one_round_trip() {
    local t1 t2 s2 e uid adm route other
    use_main
    api_new_user rt || fail "setup"
    e=$API_EMAIL uid=$API_UID t1=$API_TOKEN
    api_round_trips api_auth "$t1" GET /sessions
    assertEquals "first GET /sessions: status" 200 "$SG_STATUS"
    assertEquals "first GET /sessions on this Redis: round trips ($API_RT_CMDS)" 1 "$API_RT"
    api_round_trips api_auth "$t1" GET /sessions
    assertEquals "GET /sessions: status" 200 "$SG_STATUS"
    assertEquals "GET /sessions: round trips ($API_RT_CMDS)" 1 "$API_RT_STEADY"
    assertTrue "GET /sessions: the one command is FCALL ($API_RT_CMDS)" \
        "[[ \"\$API_RT_REQ_CMDS\" == '\"FCALL\"'* ]]"
    assertEquals "and it is rate-limited: X-RateLimit-Limit" 600 "$(hdr X-RateLimit-Limit)"

    # the other authenticated routes, once warmed up (the first call of
    # each script is test_verify_one_round_trip's business)
    api_signin "$e" || fail "signin 2"
    t2=$API_TOKEN s2=$API_SID
    api_new_user rtadmin || fail "admin"
    api_set_roles "$API_EMAIL" admin user || fail "roles"
    api_signin "$API_EMAIL" || fail "admin signin"
    adm=$API_TOKEN
    # an admin route on another user: one call on one Redis; on a cluster
    # two, the admin's slot and then the user's (docs/DEPLOYMENT.md)
    other=1
    sg_redis_is cluster && other=2
    for route in "GET /auth/me" "GET /admin/users/$uid/sessions"; do
        api_auth "$adm" $route
        api_round_trips api_auth "$adm" $route
        assertEquals "$route: status" 200 "$SG_STATUS"
        assertEquals "$route: round trips ($API_RT_CMDS)" "$([ "$route" = "GET /auth/me" ] && echo 1 || echo $other)" "$API_RT_STEADY"
    done
    api_auth "$adm" DELETE "/sessions/$(printf '%064d' 5)"
    api_round_trips api_auth "$t1" DELETE "/sessions/$s2"
    assertEquals "DELETE /sessions/{id}: status" 200 "$SG_STATUS"
    assertEquals "DELETE /sessions/{id}: round trips ($API_RT_CMDS)" 1 "$API_RT_STEADY"
    api_auth "$adm" DELETE /sessions
    api_round_trips api_auth "$t1" DELETE /sessions
    assertEquals "DELETE /sessions: status" 200 "$SG_STATUS"
    assertEquals "DELETE /sessions: round trips ($API_RT_CMDS)" 1 "$API_RT_STEADY"
    api_new_user rtwarm || fail "warm-up user"
    api_auth "$adm" DELETE "/admin/users/$API_UID/sessions"
    api_round_trips api_auth "$adm" DELETE "/admin/users/$uid/sessions"
    assertEquals "DELETE /admin/users/{id}/sessions: status" 200 "$SG_STATUS"
    assertEquals "DELETE /admin/users/{id}/sessions: round trips ($API_RT_CMDS)" "$other" "$API_RT_STEADY"
    # a 403 costs one too
    api_round_trips api_auth "$t2" GET "/admin/users/$uid/sessions"
    assertEquals "non-admin on an admin route: round trips ($API_RT_CMDS)" 1 "$API_RT_STEADY"
}

test_list() {
    local e s1 s2 t1 t2 n0 r0
    use_main
    e=$(api_email list)
    api_register "$e" || fail "register"
    # X-Forwarded-For from an untrusted peer (no trusted_proxies here)
    api_signin "$e" "$API_PASSWORD" -A 'agent-one/1.0' -H 'X-Forwarded-For: 203.0.113.9' || fail "signin 1"
    s1=$API_SID t1=$API_TOKEN
    api_signin "$e" "$API_PASSWORD" -A 'agent-two/2.0 (x; y)' || fail "signin 2"
    s2=$API_SID t2=$API_TOKEN

    api_auth "$t2" GET /sessions -H 'X-Forwarded-For: 203.0.113.10'
    assert_ok "GET /sessions"
    assert_ratelimit_headers "GET /sessions" 600
    r0=$(hdr X-RateLimit-Remaining)
    assertEquals "X-Session-ID" "$s2" "$(hdr X-Session-ID)"
    assertEquals "data fields" "count,sessions" "$(sg_json '.data | keys | join(",")')"
    assertEquals "count" 2 "$(sg_json .data.count)"
    assertEquals "newest first" "$s2 $s1" "$(sg_json '[.data.sessions[].id] | join(" ")')"
    assertEquals "current flags" "true false" "$(sg_json '[.data.sessions[].current] | map(tostring) | join(" ")')"
    assert_session_shape "sessions[0]" 0
    assert_session_shape "sessions[1]" 1
    assertEquals "user_agent of session 2" 'agent-two/2.0 (x; y)' "$(sg_json '.data.sessions[0].user_agent')"
    assertEquals "user_agent of session 1" 'agent-one/1.0' "$(sg_json '.data.sessions[1].user_agent')"
    assertEquals "ip_address: X-Forwarded-For from an untrusted peer is ignored" \
        "127.0.0.1 127.0.0.1" "$(sg_json '[.data.sessions[].ip_address] | join(" ")')"
    assertTrue "created_at newest first" \
        "[ $(epoch_of "$(sg_json '.data.sessions[0].created_at')") -ge $(epoch_of "$(sg_json '.data.sessions[1].created_at')") ]"
    n0=$(sg_json '.data.sessions[0].request_count')
    assertTrue "request_count of the current session counts this request: $n0" "[ '$n0' -ge 1 ]"

    # two more requests with t2, then the list again: +3, and the
    # user's rate-limit budget went down by 3 across routes and workers
    api_auth "$t2" GET /auth/verify
    api_auth "$t2" GET /auth/me
    # (local mode: the verify is counted with the worker's next flush)
    assertTrue "written behind" "api_written_behind $t2 $((n0 + 2))"
    api_auth "$t2" GET /sessions
    assertEquals "request_count after two more requests and this one" $((n0 + 3)) "$(sg_json '.data.sessions[0].request_count')"
    assertEquals "X-RateLimit-Remaining went down by 3" $((r0 - 3)) "$(hdr X-RateLimit-Remaining)"
    api_auth "$t1" GET /sessions
    assertEquals "from session 1: current flags" "false true" "$(sg_json '[.data.sessions[].current] | map(tostring) | join(" ")')"
    assertEquals "the user's budget is shared by their sessions" $((r0 - 4)) "$(hdr X-RateLimit-Remaining)"

    sg_req GET /sessions
    assert_unauthorized "GET /sessions without a token"
    api_auth "$t2" PUT /sessions -H 'Content-Type: application/json' --data-binary '{}'
    assert_error "PUT /sessions" 405 METHOD_NOT_ALLOWED
}

test_end_one() {
    local e s1 s2 s3 t1 t2 t3 r1
    use_main
    api_new_user endone || fail "setup"
    e=$API_EMAIL s1=$API_SID t1=$API_TOKEN r1=$API_REFRESH
    api_signin "$e" || fail "signin 2"
    s2=$API_SID t2=$API_TOKEN
    api_signin "$e" || fail "signin 3"
    s3=$API_SID t3=$API_TOKEN

    api_auth "$t3" DELETE "/sessions/$s1"
    assert_ok "DELETE /sessions/{id}"
    assertEquals "terminated" 1 "$(sg_json .data.terminated)"
    assert_ratelimit_headers "DELETE /sessions/{id}" 600
    api_auth "$t1" GET /auth/verify
    assert_unauthorized "the ended session's token, at once"
    api_refresh "$r1"
    assert_error "the ended session's refresh token" 401 UNAUTHORIZED
    assertEquals "session 2 still valid" 200 "$(verify_status "$t2")"
    api_auth "$t3" GET /sessions
    assertEquals "listed" "$s3 $s2" "$(sg_json '[.data.sessions[].id] | join(" ")')"
    assertEquals "count" 2 "$(sg_json .data.count)"

    api_auth "$t3" DELETE "/sessions/$s1"
    assert_error "DELETE an ended session again" 404 NOT_FOUND
    api_auth "$t3" DELETE "/sessions/not-a-session"
    assert_error "DELETE a malformed id" 404 NOT_FOUND
    api_auth "$t2" DELETE "/sessions/$s3"
    assert_ok "DELETE another of my sessions from session 2"
    assertEquals "session 3 ended" 401 "$(verify_status "$t3")"
}

test_end_all_but_current() {
    local e s2 t1 t2 t3
    use_main
    api_new_user endall || fail "setup"
    e=$API_EMAIL t1=$API_TOKEN
    api_signin "$e" || fail "signin 2"
    s2=$API_SID t2=$API_TOKEN
    api_signin "$e" || fail "signin 3"
    t3=$API_TOKEN

    api_auth "$t2" DELETE /sessions
    assert_ok "DELETE /sessions"
    assertEquals "terminated" 2 "$(sg_json .data.terminated)"
    assert_ratelimit_headers "DELETE /sessions" 600
    api_auth "$t1" GET /auth/verify
    assert_unauthorized "older session, at once"
    api_auth "$t3" GET /auth/verify
    assert_unauthorized "newer session, at once"
    assertEquals "the current session lives" 200 "$(verify_status "$t2")"
    api_auth "$t2" GET /sessions
    assertEquals "one session left" 1 "$(sg_json .data.count)"
    assertEquals "it is the current one" "$s2 true" "$(sg_json '.data.sessions[0] | "\(.id) \(.current)"')"
    api_auth "$t2" DELETE /sessions
    assert_ok "DELETE /sessions again"
    assertEquals "nothing left to end" 0 "$(sg_json .data.terminated)"
}

# revoked_until SID: the deadline ("u", ms) of SID's entry in the
# revocation stream, or nothing.
revoked_until() {
    sg_redis EVAL "for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do if e[2][2] == ARGV[1] then return e[2][4] end end return ''" \
        1 "${API_REDIS_PREFIX}revocations" "$1"
}
# assert_published WHAT SID T0: SID is in the stream, refused until one
# access token lifetime (15 min, the default) after it ended (at or after
# T0, ms).
assert_published() {
    local u now
    u=$(revoked_until "$2") now=$(date +%s%3N)
    assertTrue "$1: $2 published (until '$u')" \
        "[ -n '$u' ] && [ '$u' -ge $(($3 + 900000)) ] && [ '$u' -le $((now + 900000)) ]"
}

# Every path that ends a session publishes it in the same script, for the
# hosts that verify locally (issue 17): sign-out, ending one session,
# ending the others, eviction past max_sessions_per_user (5), refresh
# token reuse, and the admin's sign-out everywhere.
test_revocation_stream() {
    local e t0 s1 t1 s2 s3 r3 s4 t4 r4 i evicted ae adm uid
    use_main
    t0=$(date +%s%3N)
    api_new_user revstream || fail "setup"
    e=$API_EMAIL s1=$API_SID t1=$API_TOKEN
    api_signin "$e" || fail "signin 2"
    s2=$API_SID
    api_signin "$e" || fail "signin 3"
    s3=$API_SID r3=$API_REFRESH
    api_signin "$e" || fail "signin 4"
    s4=$API_SID t4=$API_TOKEN r4=$API_REFRESH
    assertEquals "nothing published yet" "" "$(revoked_until "$s1")"

    api_signout "$t1"
    assert_ok "signout"
    assert_published "signout" "$s1" "$t0"
    api_auth "$t4" DELETE "/sessions/$s2"
    assert_ok "DELETE /sessions/{id}"
    assert_published "DELETE /sessions/{id}" "$s2" "$t0"

    # refresh reuse: rotate r4, age the rotation past the grace, replay
    api_refresh "$r4"
    assert_ok "refresh"
    sg_redis HSET "${API_REDIS_PREFIX}{u:$API_UID}:s:$s4" rotated_at 0 >/dev/null
    api_refresh "$r4"
    assert_error "replay after the grace" 401 REFRESH_REUSED
    assert_published "refresh token reuse" "$s4" "$t0"

    # eviction: s3 is the oldest of 6
    evicted=$s3
    for i in 1 2 3 4 5; do api_signin "$e" || fail "signin $i of 5"; done
    assert_published "evicted past max_sessions_per_user" "$evicted" "$t0"
    api_refresh "$r3"
    assert_error "the evicted session's refresh token" 401 UNAUTHORIZED

    api_auth "$API_TOKEN" DELETE /sessions
    assert_ok "DELETE /sessions"
    assertEquals "four others ended" 4 "$(sg_json .data.terminated)"
    s1=$API_SID # the one left: the last sign-in's
    api_new_user revadmin || fail "setup admin"
    ae=$API_EMAIL
    api_set_roles "$ae" admin user || fail "api_set_roles"
    api_signin "$ae" || fail "admin signin"
    adm=$API_TOKEN uid=$(jwt_part "$t4" 2 | jq -r .sub)
    api_auth "$adm" DELETE "/admin/users/$uid/sessions"
    assert_ok "admin: DELETE /admin/users/{id}/sessions"
    assert_published "admin sign-out everywhere" "$s1" "$t0"
    assertEquals "the stream holds nothing but entries of s and u" "s u" \
        "$(sg_redis EVAL "local f = {} for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do for i = 1, #e[2], 2 do f[e[2][i]] = true end end local k = {} for n in pairs(f) do k[#k + 1] = n end table.sort(k) return table.concat(k, ' ')" 1 "${API_REDIS_PREFIX}revocations")"
}

test_other_users_session() {
    local ta sa tb missing other
    use_main
    api_new_user owner || fail "setup a"
    ta=$API_TOKEN sa=$API_SID
    api_new_user intruder || fail "setup b"
    tb=$API_TOKEN
    api_auth "$tb" DELETE "/sessions/$sa"
    assert_error "DELETE another user's session" 404 NOT_FOUND
    assertEquals "404 is an authenticated response: X-Session-ID" "$(jwt_part "$tb" 2 | jq -r .sid)" "$(hdr X-Session-ID)"
    other=$(sg_json '.error | tojson')
    api_auth "$tb" DELETE "/sessions/$(printf '%064d' 3)"
    assert_error "DELETE a session that does not exist" 404 NOT_FOUND
    missing=$(sg_json '.error | tojson')
    assertEquals "the same answer: nothing tells whether it exists" "$missing" "$other"
    assertEquals "the owner's session lives" 200 "$(verify_status "$ta")"
    api_auth "$tb" GET /sessions
    assertEquals "not in the intruder's list" "false" "$(sg_json "[.data.sessions[].id] | index(\"$sa\") != null")"
    api_auth "$tb" DELETE /sessions
    assertEquals "DELETE /sessions ends none of the owner's" 200 "$(verify_status "$ta")"
}

test_session_mismatch() {
    local e t1 s1 s2
    use_main
    api_new_user mismatch || fail "setup"
    e=$API_EMAIL t1=$API_TOKEN s1=$API_SID
    api_signin "$e" || fail "signin 2"
    s2=$API_SID
    api_auth "$t1" GET /sessions -H "X-Session-ID: $s2"
    assert_error "GET /sessions, X-Session-ID of my other session" 400 SESSION_MISMATCH
    api_auth "$t1" DELETE /sessions -H "X-Session-ID: $s2"
    assert_error "DELETE /sessions, X-Session-ID of my other session" 400 SESSION_MISMATCH
    api_auth "$t1" GET /sessions -H "X-Session-ID: $s1"
    assertEquals "matching X-Session-ID" 200 "$SG_STATUS"
    assertEquals "the mismatching DELETE ended nothing" 2 "$(sg_json .data.count)"
}

test_admin() {
    local ae aold adm ne nid nt1 nt2 ns1 ns2 uid
    use_main
    api_new_user admin || fail "setup admin"
    ae=$API_EMAIL aold=$API_TOKEN
    api_new_user member || fail "setup member"
    ne=$API_EMAIL nid=$API_UID nt1=$API_TOKEN ns1=$API_SID
    api_signin "$ne" || fail "member signin 2"
    nt2=$API_TOKEN ns2=$API_SID

    api_set_roles "$ae" admin user || fail "api_set_roles"
    api_auth "$aold" GET "/admin/users/$nid/sessions"
    assert_error "admin route with a token issued before the role" 403 FORBIDDEN
    api_signin "$ae" || fail "admin signin"
    adm=$API_TOKEN
    api_auth "$adm" GET /auth/verify
    assertEquals "roles of the new token" '["admin","user"]' "$(sg_json '.data.roles | sort | tojson')"
    assertTrue "X-User-Roles lists admin: $(hdr X-User-Roles)" "[[ '$(hdr X-User-Roles)' =~ (^|,)admin(,|$) ]]"

    for uid in "$nid" "$(jwt_part "$adm" 2 | jq -r .sub)"; do
        api_auth "$nt1" GET "/admin/users/$uid/sessions"
        assert_error "non-admin: GET /admin/users/$uid/sessions" 403 FORBIDDEN
        assertEquals "403 is an authenticated response: X-Session-ID" "$ns1" "$(hdr X-Session-ID)"
        assert_ratelimit_headers "403"
        api_auth "$nt1" DELETE "/admin/users/$uid/sessions"
        assert_error "non-admin: DELETE /admin/users/$uid/sessions" 403 FORBIDDEN
    done
    sg_req GET "/admin/users/$nid/sessions"
    assert_unauthorized "admin route without a token"

    api_auth "$adm" GET "/admin/users/$nid/sessions"
    assert_ok "admin: GET a user's sessions"
    assert_ratelimit_headers "admin GET"
    assertEquals "count" 2 "$(sg_json .data.count)"
    assertEquals "newest first" "$ns2 $ns1" "$(sg_json '[.data.sessions[].id] | join(" ")')"
    assertEquals "current is false for all" "false false" "$(sg_json '[.data.sessions[].current] | map(tostring) | join(" ")')"
    assert_session_shape "admin list [0]" 0
    assert_session_shape "admin list [1]" 1

    api_auth "$adm" GET "/admin/users/0123456789abcdef0123456789abcdef/sessions"
    assert_error "admin: GET an unknown user's sessions" 404 NOT_FOUND
    api_auth "$adm" DELETE "/admin/users/0123456789abcdef0123456789abcdef/sessions"
    assert_error "admin: DELETE an unknown user's sessions" 404 NOT_FOUND

    api_auth "$adm" DELETE "/admin/users/$nid/sessions"
    assert_ok "admin: DELETE a user's sessions"
    assertEquals "terminated" 2 "$(sg_json .data.terminated)"
    api_auth "$nt1" GET /auth/verify
    assert_unauthorized "member's session 1 after the forced sign-out"
    api_auth "$nt2" GET /auth/verify
    assert_unauthorized "member's session 2 after the forced sign-out"
    api_auth "$adm" GET "/admin/users/$nid/sessions"
    assertEquals "admin: list after" "200 0" "$SG_STATUS $(sg_json .data.count)"
    assertEquals "the admin's own session lives" 200 "$(verify_status "$adm")"
    api_auth "$adm" POST "/admin/users/$nid/sessions" -H 'Content-Type: application/json' --data-binary '{}'
    assert_error "POST on the admin route" 405 METHOD_NOT_ALLOWED
}

# Last on the main stack: stops and restarts its Redis (losing every key).
test_outage_fail_closed() {
    local tok rt e route
    use_main
    api_new_user outage || fail "setup"
    tok=$API_TOKEN rt=$API_REFRESH e=$API_EMAIL
    sg_stack redis-stop || fail "redis-stop"
    # local mode: the host's table answers verify until it cannot prove
    # itself current (revocation_max_lag), then the round trip does
    if api_local; then
        assertTrue "local: verify falls back to the round trip: 503 on every worker" \
            "sg_poll 60 n_times 6 verify_is 503 $tok"
    fi
    for route in "GET /auth/verify" "GET /auth/me" "GET /sessions" "DELETE /sessions" "DELETE /sessions/$API_SID"; do
        api_auth "$tok" $route
        assert_error "$route, Redis down, fail_closed" 503 STORE_UNAVAILABLE
        assertTrue "$route: Retry-After '$(hdr Retry-After)'" "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
    done
    assertTrue "verify is 503 on every worker" "n_times 6 verify_is 503 $tok"
    api_signout "$tok"
    assert_error "signout, Redis down" 503 STORE_UNAVAILABLE
    assertTrue "signout: Retry-After '$(hdr Retry-After)'" "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
    api_refresh "$rt"
    assert_error "refresh, Redis down" 503 STORE_UNAVAILABLE
    api_signin "$e" >/dev/null 2>&1
    assert_error "signin, Redis down" 503 STORE_UNAVAILABLE
    assertTrue "signin: Retry-After '$(hdr Retry-After)'" "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
    api_register "$(api_email outage2)" >/dev/null 2>&1
    assert_error "register, Redis down" 503 STORE_UNAVAILABLE
    assertEquals "health does not need Redis" 200 "$(sg_status GET /health)"
    redis_back

    # the restarted Redis is empty: the old session is gone, and a new one
    # costs one round trip on GET /sessions again (scripts reloaded)
    assertTrue "old token 401 on every worker" "n_times 6 verify_is 401 $tok"
    api_new_user afteroutage || fail "signin after the outage"
    api_round_trips api_auth "$API_TOKEN" GET /sessions
    assertEquals "GET /sessions after Redis came back: status" 200 "$SG_STATUS"
    assertEquals "GET /sessions, first after Redis came back: round trips ($API_RT_CMDS)" 1 "$API_RT"
}

# ---- tight stack: ratelimit_user = 5/1h, trusted proxies, verify_signature_only

test_rate_limit_user() {
    local tok t2 i route got ra t0 t1 reset par aged v=/auth/verify ok
    use_tight
    # local mode counts verify behind (docs/RATE_LIMITS.md): the exact
    # counts below are of routes that run a script; verify's bound after
    api_local && v=/auth/me
    api_new_user rl || fail "setup"
    tok=$API_TOKEN
    # five requests over three routes, each a new connection (so several
    # workers), with Remaining 4..0
    i=0
    for route in "GET $v" "GET /sessions" "GET /auth/me" "GET $v" "GET /sessions"; do
        api_auth "$tok" $route
        assertEquals "request $((i + 1)) ($route): status" 200 "$SG_STATUS"
        assertEquals "request $((i + 1)): X-RateLimit-Limit" 5 "$(hdr X-RateLimit-Limit)"
        assertEquals "request $((i + 1)): X-RateLimit-Remaining" $((4 - i)) "$(hdr X-RateLimit-Remaining)"
        i=$((i + 1))
    done
    api_auth "$tok" GET $v
    assert_error "sixth request within the hour" 429 RATE_LIMITED
    t0=$SG_REQ_T0 t1=$SG_REQ_T1
    ra=$(hdr Retry-After) reset=$(hdr X-RateLimit-Reset)
    assertTrue "Retry-After '$ra' in 1..4321" "[[ '$ra' =~ ^[0-9]+$ ]] && [ '$ra' -ge 1 ] && [ '$ra' -le 4321 ]"
    assertEquals "429: X-RateLimit-Limit" 5 "$(hdr X-RateLimit-Limit)"
    assertEquals "429: X-RateLimit-Remaining" 0 "$(hdr X-RateLimit-Remaining)"
    # the counter's estimate falls by one when a fifth of the next hour has
    # passed (docs/RATE_LIMITS.md): within the window and a fifth
    assertTrue "429: X-RateLimit-Reset '$reset' within the window and a fifth (request at $t0..$t1)" \
        "[[ '$reset' =~ ^[0-9]+$ ]] && [ '$reset' -ge $((t0 - 1)) ] && [ '$reset' -le $((t1 + 3600 + 720 + 1)) ]"
    api_auth "$tok" GET /sessions
    assert_error "other routes share the user's limit" 429 RATE_LIMITED

    # a second user in parallel meanwhile: limits are per user, and exactly
    # five of seven concurrent requests pass, with distinct Remaining values
    api_new_user rlpar || fail "setup 2"
    t2=$API_TOKEN
    par=$(par_auth 7 "$t2" $v | sort)
    assertEquals "7 concurrent requests of another user" \
        "$(printf '200 %s\n' 0 1 2 3 4; printf '429 0\n429 0')" "$par"

    # recovery after the window, without waiting for it: age the user's
    # counter by two hours, as the clock would
    if api_local; then
        # the counter is spent: a worker that never flushed this user may
        # answer its own LIMIT first, then refuses; every answer is 200 or
        # 429, at most 5 per worker are 200, and once the workers have
        # flushed, all are 429
        ok=0
        for i in $(seq 20); do
            api_auth "$tok" GET /auth/verify
            case $SG_STATUS in 200) ok=$((ok + 1)) ;; 429) ;; *) fail "local verify past the limit: $SG_STATUS" ;; esac
        done
        assertTrue "local verify past the limit: $ok of 20 answered, at most 5 per worker" "[ $ok -le $((5 * ${SG_STACK_WORKERS:-2})) ]"
        assertTrue "then every worker refuses" "sg_poll 60 n_times 6 verify_is 429 $tok"
    fi
    aged=$(age_user_window "$tok")
    assertTrue "the counter that was aged holds the 5 requests ($aged)" "[ '$aged' -ge 5 ]"
    api_auth "$tok" GET $v
    assertEquals "200 again once the window has passed (body: $SG_BODY)" 200 "$SG_STATUS"
    got=$(hdr X-RateLimit-Remaining)
    assertTrue "Remaining after recovery: '$got'" "[[ '$got' =~ ^[0-4]$ ]]"
}

test_xff_trusted() {
    local e
    use_tight
    e=$(api_email xff)
    api_register "$e" || fail "register"
    api_signin "$e" "$API_PASSWORD" -H 'X-Forwarded-For: 198.51.100.9, 203.0.113.7' || fail "signin 1"
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "right-most entry of X-Forwarded-For from a trusted proxy" 203.0.113.7 "$(sg_json '.data.sessions[0].ip_address')"
    api_signin "$e" "$API_PASSWORD" -H 'X-Forwarded-For: 203.0.113.8, 127.0.0.1' || fail "signin 2"
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "trusted entries are skipped: right-most untrusted one" 203.0.113.8 "$(sg_json '.data.sessions[0].ip_address')"
    api_signin "$e" "$API_PASSWORD" || fail "signin 3"
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "no X-Forwarded-For: REMOTE_ADDR" 127.0.0.1 "$(sg_json '.data.sessions[0].ip_address')"
    assertEquals "all three" "127.0.0.1 203.0.113.8 203.0.113.7" "$(sg_json '[.data.sessions[].ip_address] | join(" ")')"
}

# Failed sign-ins count against the account (5/15m): a sixth attempt from
# a new IP gets 429, one from an IP that signed in before still works.
test_signin_failures_per_account() {
    local e i body
    use_tight
    e=$(api_email guess)
    api_register "$e" || fail "register"
    api_signin "$e" "$API_PASSWORD" -H 'X-Forwarded-For: 198.51.100.20' || fail "signin from the known IP"
    body=$(creds_json "$e" "a wrong guess")
    for i in 1 2 3 4 5; do
        api_post /auth/signin "$body" -H "X-Forwarded-For: 203.0.113.$((50 + i))"
        assert_error "wrong password #$i from 203.0.113.$((50 + i))" 401 INVALID_CREDENTIALS
    done
    api_signin "$e" "$API_PASSWORD" -H 'X-Forwarded-For: 203.0.113.99' >/dev/null 2>&1
    assert_error "right password from a new IP after 5 failures" 429 RATE_LIMITED
    assertTrue "Retry-After '$(hdr Retry-After)' within 15 min" "[[ '$(hdr Retry-After)' =~ ^[0-9]+$ ]] && [ '$(hdr Retry-After)' -ge 1 ] && [ '$(hdr Retry-After)' -le 900 ]"
    assert_ratelimit_headers "signin 429"
    api_post /auth/signin "$body" -H 'X-Forwarded-For: 203.0.113.51'
    assert_error "another guess from a guessing IP" 429 RATE_LIMITED
    api_signin "$e" "$API_PASSWORD" -H 'X-Forwarded-For: 198.51.100.20' >/dev/null 2>&1
    assertEquals "right password from the IP that signed in before (body: $SG_BODY)" 200 "$SG_STATUS"
    # other accounts are not affected
    api_new_user bystander >/dev/null 2>&1
    assertEquals "another account signs in" 200 "$SG_STATUS"
}

# Last on the tight stack: stops and restarts its Redis.
test_outage_verify_signature_only() {
    local tok rt e route sid uid other=$SG_DIR/other.key
    use_tight
    other=$SG_DIR/other.key
    head -c 32 /dev/urandom >"$other"
    api_new_user sigonly || fail "setup"
    tok=$API_TOKEN rt=$API_REFRESH e=$API_EMAIL sid=$API_SID uid=$API_UID
    sg_stack redis-stop || fail "redis-stop"
    # verify_mode = local answers from the host's table, per-user limit
    # included, until it cannot prove the table current
    # (revocation_max_lag); what is under test is the answer after that
    assertTrue "every worker's table is behind" \
        "sg_poll 60 n_times 6 table_not_current"

    api_auth "$tok" GET /auth/verify
    assert_ok "verify, Redis down, verify_signature_only"
    assertEquals "user_id" "$uid" "$(sg_json .data.user_id)"
    assertEquals "session_id" "$sid" "$(sg_json .data.session_id)"
    assertEquals "roles" '["user"]' "$(sg_json '.data.roles | tojson')"
    assertEquals "X-User-ID" "$uid" "$(hdr X-User-ID)"
    assertEquals "X-Session-ID" "$sid" "$(hdr X-Session-ID)"
    assertEquals "X-User-Roles" user "$(hdr X-User-Roles)"
    assertTrue "verify is 200 on every worker" "n_times 6 verify_is 200 $tok"
    # the signature and the claims are still checked
    api_auth "${tok%.*}.$(flip_char "${tok##*.}" 3)" GET /auth/verify
    assert_unauthorized "bad signature, Redis down"
    api_auth "$(jwt_forge '{"alg":"HS256","typ":"JWT"}' "$(jwt_part "$tok" 2)" sha256 "$other")" GET /auth/verify
    assert_unauthorized "another key, Redis down"
    api_auth "$(jwt_forge '{"alg":"HS256","typ":"JWT"}' "$(jwt_part "$tok" 2 | jq -c ".exp = $(($(date +%s) - 120))")")" GET /auth/verify
    assert_unauthorized "expired, Redis down"
    api_auth "$(jwt_forge '{"alg":"HS256","typ":"JWT"}' "$(jwt_part "$tok" 2 | jq -c '.aud = "x"')")" GET /auth/verify
    assert_unauthorized "wrong aud, Redis down"
    api_auth "$tok" GET /auth/verify -H "X-Session-ID: $(printf '%064d' 9)"
    assert_error "X-Session-ID mismatch, Redis down" 400 SESSION_MISMATCH

    for route in "GET /auth/me" "GET /sessions" "DELETE /sessions" "DELETE /sessions/$sid" "GET /admin/users/$uid/sessions"; do
        api_auth "$tok" $route
        assert_error "$route, Redis down, verify_signature_only" 503 STORE_UNAVAILABLE
        assertTrue "$route: Retry-After '$(hdr Retry-After)'" "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
    done
    api_signout "$tok"
    assert_error "signout, Redis down" 503 STORE_UNAVAILABLE
    assertTrue "signout: Retry-After '$(hdr Retry-After)'" "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
    api_refresh "$rt"
    assert_error "refresh, Redis down" 503 STORE_UNAVAILABLE
    assertTrue "refresh: Retry-After '$(hdr Retry-After)'" "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
    api_signin "$e" >/dev/null 2>&1
    assert_error "signin, Redis down" 503 STORE_UNAVAILABLE
    api_register "$(api_email sigonly2)" >/dev/null 2>&1
    assert_error "register, Redis down" 503 STORE_UNAVAILABLE
    sg_req GET /ready
    assertEquals "ready, Redis down" 503 "$SG_STATUS"
    redis_back

    # Redis is back (and empty): sessions are checked again
    assertTrue "the token is checked against Redis again (401 on every worker)" "sg_poll 60 n_times 6 verify_is 401 $tok"
    api_new_user aftersigonly >/dev/null 2>&1
    assertEquals "sign-in works again" 200 "$SG_STATUS"
}

test_no_sanitizer_reports() {
    local d
    for d in "${API_STACK_DIR[@]}" "$SG_DIR"; do
        sg_assert_no_sanitizer_reports "$d"
    done
}

suite() {
    local t
    for t in test_one_round_trip test_list test_end_one test_end_all_but_current \
        test_other_users_session test_session_mismatch test_admin \
        test_outage_fail_closed \
        test_rate_limit_user test_xff_trusted test_signin_failures_per_account \
        test_outage_verify_signature_only test_no_sanitizer_reports; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
