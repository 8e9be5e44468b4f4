#!/bin/bash
# tests/integration/identity.sh -- identity and tokens (issue 3) through one
# real deployment: SG_SERVER=lighttpd|apache|nginx|cgi. Register, sign in,
# refresh, sign out, verify, me, JWKS, every error code, token forgery,
# max-sessions eviction, idle expiry, concurrent registration, revocation
# across workers, one Redis round trip per verify.
#
#   SG_SERVER=nginx SG_BIN=$PWD/src/sessiongate bash tests/integration/identity.sh
#   ... identity.sh -- test_signin test_refresh   (only these tests)
#
# One main stack (max_sessions_per_user = 2) for most tests; the idle
# expiry and closed-registration tests start a second stack of their own
# for their few seconds. Nothing waits for the clock: idle expiry is made
# by ageing the session's key in Redis. The identity-<server>.sh wrappers
# set SG_SERVER.

SG_SERVER=${SG_SERVER:-}
case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

[ -n "$SG_SERVER" ] || { echo "identity.sh: set SG_SERVER (lighttpd, apache, nginx or cgi)" >&2; exit 1; }
sg_require "$SG_SERVER"

MAIN_CONF='max_sessions_per_user = 2'

oneTimeSetUp() {
    api_suite_start "$SG_SERVER" "$MAIN_CONF" || {
        echo "identity.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    echo "# $SG_SERVER stack at $SG_URL (dir $SG_DIR)"
}

oneTimeTearDown() { api_stop_all; }

setUp() { api_test_start; }

# A test that failed half-way may leave a second stack or MONITOR behind.
tearDown() {
    api_monitor_stop
    api_stop_stack idle
    api_stop_stack closed
    api_test_end
}

# ---- helpers ---------------------------------------------------------------

verify_status() { api_auth_status "$1" GET /auth/verify; }
verify_is() { [ "$(verify_status "$2")" = "$1" ]; }

# par_statuses N CMD...: run CMD (a curl command line printing a status)
# N times in parallel; print the sorted statuses, one per line.
par_statuses() {
    local n=$1 i pids=() out=$SG_DIR/par
    shift
    rm -rf "$out"
    mkdir -p "$out"
    for ((i = 0; i < n; i++)); do
        "$@" >"$out/$i" 2>/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$out"/* | sort
}

curl_status() {
    curl -s -o /dev/null --max-time "$SG_CURL_TIMEOUT" -w '%{http_code}\n' "$@"
}

# A payload with the claims of a live token, changed by the jq FILTER.
claims_of() { jwt_part "$1" 2 | jq -c "${2:-.}"; }

HS256='{"alg":"HS256","typ":"JWT"}'

# ---- tests -----------------------------------------------------------------

# First, while no verify has run yet on this Redis: the first verify must
# cost one round trip too (scripts loaded at worker start, not on NOSCRIPT).
test_verify_one_round_trip() {
    local i
    api_new_user rt || fail "setup"
    if api_local; then
        # verify_mode = local: no round trip once the host's table is
        # current; a sign-out reaches the table through the stream
        assertTrue "local: the table is current" "sg_poll 60 api_table_current"
        for i in 1 2 3; do
            api_round_trips api_auth "$API_TOKEN" GET /auth/verify
            assertEquals "local GET /auth/verify #$i: status" 200 "$SG_STATUS"
            assertEquals "local GET /auth/verify #$i: round trips ($API_RT_CMDS)" 0 "$API_RT_STEADY"
        done
        api_signout "$API_TOKEN"
        assertTrue "local: a signed-out token is refused" "sg_poll 60 verify_is 401 $API_TOKEN"
        api_round_trips api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "local: verify of a signed-out token: status" 401 "$SG_STATUS"
        assertEquals "local: verify of a signed-out token: round trips ($API_RT_CMDS)" 0 "$API_RT_STEADY"
    else
        api_round_trips api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "first GET /auth/verify: status" 200 "$SG_STATUS"
        assertEquals "first GET /auth/verify on this Redis: round trips ($API_RT_CMDS)" 1 "$API_RT"
        for i in 1 2 3; do
            api_round_trips api_auth "$API_TOKEN" GET /auth/verify
            assertEquals "GET /auth/verify #$((i + 1)): status" 200 "$SG_STATUS"
            assertEquals "GET /auth/verify #$((i + 1)): round trips ($API_RT_CMDS)" 1 "$API_RT_STEADY"
            assertTrue "GET /auth/verify #$((i + 1)): the one command is FCALL ($API_RT_CMDS)" \
                "[[ \"\$API_RT_REQ_CMDS\" == '\"FCALL\"'* ]]"
        done
        # a rejected (revoked) token: still at most one
        api_signout "$API_TOKEN"
        api_round_trips api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "verify of a signed-out token: status" 401 "$SG_STATUS"
        assertEquals "verify of a signed-out token: round trips ($API_RT_CMDS)" 1 "$API_RT_STEADY"
    fi
    # a bad signature: no round trip at all
    api_round_trips api_auth "$(flip_char "$API_TOKEN" -10)" GET /auth/verify
    assertEquals "verify of a bad signature: status" 401 "$SG_STATUS"
    assertEquals "verify of a bad signature: round trips ($API_RT_CMDS)" 0 "$API_RT"
}

test_register() {
    local e1 e2 id1 id2
    e1=$(api_email Reg-Mixed)
    api_post /auth/register "$(jq -cn --arg e "$e1" --arg p "$API_PASSWORD" '{email: $e, password: $p, name: "Ada L."}')"
    assert_ok "register" 201
    assert_ratelimit_headers "register 201" 100000
    id1=$(sg_json .data.user.id)
    assertTrue "user.id '$id1' is long and random-looking" "[[ '$id1' =~ ^[A-Za-z0-9_-]{16,}$ ]]"
    assertEquals "user.email" "$(tr 'A-Z' 'a-z' <<<"$e1")" "$(sg_json '.data.user.email | ascii_downcase')"
    assertEquals "user.name" "Ada L." "$(sg_json .data.user.name)"
    assertEquals "user.roles" '["user"]' "$(sg_json '.data.user.roles | tojson')"
    assert_rfc3339 "user.created_at" "$(sg_json .data.user.created_at)"
    assertEquals "no secret in the user record" "" "$(sg_json '[.data.user | keys[] | select(test("pass|hash|salt"; "i"))] | join(",")')"
    assertFalse "no hash in the body" 'body_has pbkdf2'

    e2=$(api_email reg2)
    api_register "$e2" || fail "second register"
    id2=$API_UID
    assertNotEquals "ids differ" "$id1" "$id2"

    # the same address again, in another case: 409
    api_post /auth/register "$(jq -cn --arg e "$(tr 'A-Z' 'a-z' <<<"$e1")" --arg p "$API_PASSWORD" '{email: $e, password: $p}')"
    assert_error "register a taken email (other case)" 409 EMAIL_TAKEN
    assert_ratelimit_headers "register 409" 100000
    api_post /auth/register "$(creds_json "$e2" "other password")"
    assert_error "register a taken email" 409 EMAIL_TAKEN
    # and sign-in is case-insensitive too
    api_signin "$(tr 'a-z' 'A-Z' <<<"$e1")" >/dev/null 2>&1
    assertEquals "sign in with the email upper-cased (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "same user" "$id1" "$(sg_json .data.user.id)"
}

test_register_validation() {
    local e bad p
    e=$(api_email val)
    for bad in 'not-an-email' 'a@' '@example.com' 'a b@example.com' 'a@@example.com' ''; do
        api_post /auth/register "$(creds_json "$bad" "$API_PASSWORD")"
        assert_error "register email '$bad'" 422 INVALID_EMAIL
    done
    assert_ratelimit_headers "register 422" 100000

    api_post /auth/register "$(creds_json "$e" "short12")"
    assert_error "7-byte password" 422 WEAK_PASSWORD
    p=$(head -c 1025 /dev/zero | tr '\0' p)
    api_post /auth/register "$(creds_json "$e" "$p")"
    assert_error "1025-byte password" 422 WEAK_PASSWORD
    api_register "$e" "${p:0:1024}"
    assertEquals "1024-byte password accepted (body: $SG_BODY)" 201 "$SG_STATUS"
    api_signin "$e" "${p:0:1024}" >/dev/null 2>&1
    assertEquals "and signs in" 200 "$SG_STATUS"
    api_register "$(api_email val8)" 12345678
    assertEquals "8-byte password accepted (body: $SG_BODY)" 201 "$SG_STATUS"

    e=$(api_email val2)
    api_post /auth/register "$(jq -cn --arg e "$e" '{email: $e}')"
    assert_error "missing password" 400 BAD_REQUEST
    assert_ratelimit_headers "register 400 (the body parsed)" 100000
    api_post /auth/register "$(jq -cn --arg p "$API_PASSWORD" '{password: $p}')"
    assert_error "missing email" 400 BAD_REQUEST
    api_post /auth/register "$(jq -cn --arg e "$e" '{email: $e, password: 123456789}')"
    assert_error "password a number" 400 BAD_REQUEST
    api_post /auth/register "$(jq -cn --arg p "$API_PASSWORD" '{email: ["a@example.com"], password: $p}')"
    assert_error "email an array" 400 BAD_REQUEST
    api_post /auth/register "$(jq -cn --arg e "$e" --arg p "$API_PASSWORD" '{email: $e, password: $p, name: 5}')"
    assert_error "name a number" 400 BAD_REQUEST
    api_post /auth/register "{\"email\":\"$e\",\"password\":\"$API_PASSWORD\",\"password\":\"x\"}"
    assert_error "repeated field" 400 BAD_REQUEST
    api_post /auth/register '["a"]'
    assert_error "body an array" 400 BAD_REQUEST
    api_post /auth/register '{"email":'
    assert_error "truncated JSON" 400 BAD_REQUEST
    # nothing of the above created the user
    api_register "$e"
    assertEquals "the address is still free" 201 "$SG_STATUS"
}

test_signin() {
    local e uid tok claims hdr t0 t1
    e=$(api_email signin)
    api_register "$e" "$API_PASSWORD" "Sig" || fail "register"
    uid=$API_UID
    api_post /auth/signin "$(creds_json "$e" "$API_PASSWORD")"
    # the token is issued while the request runs, however long it takes
    t0=$SG_REQ_T0 t1=$SG_REQ_T1
    assert_ok "signin"
    assert_ratelimit_headers "signin 200" 100000
    tok=$(sg_json .data.access_token)
    assertEquals "token_type" Bearer "$(sg_json .data.token_type)"
    assertEquals "expires_in (default 15 min)" 900 "$(sg_json .data.expires_in)"
    assertTrue "refresh_token: $(sg_json .data.refresh_token)" "[[ '$(sg_json .data.refresh_token)' =~ ^[A-Za-z0-9._~-]{43,}$ ]]"
    assertEquals "refresh_expires_in is an integer" number "$(sg_json '.data.refresh_expires_in | type')"
    assertTrue "refresh_expires_in in (0, 30 d]" "[ '$(sg_json .data.refresh_expires_in)' -gt 0 ] && [ '$(sg_json .data.refresh_expires_in)' -le 2592000 ]"
    assertTrue "session_id: $(sg_json .data.session_id)" "[[ '$(sg_json .data.session_id)' =~ $SID_RE ]]"
    assertEquals "X-Session-ID header" "$(sg_json .data.session_id)" "$(hdr X-Session-ID)"
    assertEquals "user.id" "$uid" "$(sg_json .data.user.id)"
    assertEquals "user.name" Sig "$(sg_json .data.user.name)"
    assertEquals "user has no secret" "" "$(sg_json '[.data.user | keys[] | select(test("pass|hash|salt"; "i"))] | join(",")')"
    assertEquals "data fields" 'access_token,expires_in,refresh_expires_in,refresh_token,session_id,token_type,user' \
        "$(sg_json '.data | keys | join(",")')"

    hdr=$(jwt_part "$tok" 1)
    claims=$(jwt_part "$tok" 2)
    assertEquals "JWT alg" HS256 "$(jq -r .alg <<<"$hdr")"
    assertEquals "sub" "$uid" "$(jq -r .sub <<<"$claims")"
    assertEquals "sid" "$(sg_json .data.session_id)" "$(jq -r .sid <<<"$claims")"
    assertEquals "iss" sessiongate "$(jq -r .iss <<<"$claims")"
    assertEquals "aud" sessiongate "$(jq -r 'if (.aud | type) == "array" then .aud[0] else .aud end' <<<"$claims")"
    assertEquals "roles" '["user"]' "$(jq -c .roles <<<"$claims")"
    assertTrue "jti of 128+ bits: $(jq -r .jti <<<"$claims")" "[ $(jq -r '.jti | length' <<<"$claims") -ge 22 ]"
    assertEquals "exp - iat = expires_in" 900 "$(jq '.exp - .iat' <<<"$claims")"
    assertTrue "iat is the time of the request ($t0..$t1)" "[ $(jq .iat <<<"$claims") -ge $((t0 - 1)) ] && [ $(jq .iat <<<"$claims") -le $((t1 + 1)) ]"
    assertTrue "nbf <= iat" "[ $(jq '.nbf <= .iat' <<<"$claims") = true ]"

    # two sign-ins: two sessions, two jti
    api_signin "$e" || fail "second signin"
    assertNotEquals "a new session per sign-in" "$(jq -r .sid <<<"$claims")" "$API_SID"
    assertNotEquals "a new jti per token" "$(jq -r .jti <<<"$claims")" "$(jwt_part "$API_TOKEN" 2 | jq -r .jti)"
}

test_signin_invalid_credentials() {
    local e wrong unknown
    api_new_user creds || fail "setup"
    e=$API_EMAIL
    api_post /auth/signin "$(creds_json "$e" "wrong password")"
    assert_error "wrong password" 401 INVALID_CREDENTIALS
    assert_ratelimit_headers "signin 401"
    wrong=$SG_BODY
    api_post /auth/signin "$(creds_json "$(api_email nobody)" "wrong password")"
    assert_error "unknown email" 401 INVALID_CREDENTIALS
    assert_ratelimit_headers "signin 401 unknown"
    unknown=$SG_BODY
    assertEquals "identical bodies for wrong password and unknown email" "$wrong" "$unknown"
    assertEquals "no X-Session-ID on failure" "" "$(hdr X-Session-ID)"

    api_post /auth/signin "$(jq -cn --arg e "$e" '{email: $e}')"
    assert_error "signin without password" 400 BAD_REQUEST
    api_post /auth/signin "$(jq -cn --arg e "$e" '{email: $e, password: true}')"
    assert_error "signin, password a boolean" 400 BAD_REQUEST
    api_post /auth/signin 'nope'
    assert_error "signin, not JSON" 400 BAD_REQUEST
    sg_req GET /auth/signin
    assert_error "GET /auth/signin" 405 METHOD_NOT_ALLOWED
    assertEquals "Allow" POST "$(hdr Allow)"
    # the right password still works after two failures
    api_signin "$e" >/dev/null 2>&1
    assertEquals "right password after failures" 200 "$SG_STATUS"
}

test_refresh_rotation_and_reuse() {
    local sid r1 r2 r3 t1 t2 t3
    api_new_user refresh || fail "setup"
    sid=$API_SID r1=$API_REFRESH t1=$API_TOKEN

    api_refresh "$r1"
    assert_ok "refresh"
    assert_ratelimit_headers "refresh 200"
    assertEquals "refresh data fields" 'access_token,expires_in,refresh_expires_in,refresh_token,session_id,token_type' \
        "$(sg_json '.data | keys | join(",")')"
    assertEquals "same session" "$sid" "$(sg_json .data.session_id)"
    assertEquals "X-Session-ID" "$sid" "$(hdr X-Session-ID)"
    assertEquals "token_type" Bearer "$(sg_json .data.token_type)"
    t2=$(sg_json .data.access_token) r2=$(sg_json .data.refresh_token)
    assertNotEquals "a new refresh token" "$r1" "$r2"
    assertNotEquals "a new access token" "$t1" "$t2"
    assertEquals "new access token's sid" "$sid" "$(jwt_part "$t2" 2 | jq -r .sid)"
    assertEquals "new access token verifies" 200 "$(verify_status "$t2")"

    api_refresh "$r2"
    assert_ok "second refresh"
    t3=$(sg_json .data.access_token) r3=$(sg_json .data.refresh_token)
    assertEquals "third access token verifies" 200 "$(verify_status "$t3")"

    # the rotated hashes must outlive the session, which each verify
    # renews without touching them (docs/REDIS.md)
    local uid key st rt
    uid=$(jwt_part "$t3" 2 | jq -r .sub)
    key="${API_REDIS_PREFIX}{u:$uid}:s:$sid"
    st=$(sg_redis PTTL "$key")
    rt=$(sg_redis PTTL "$key:rt")
    assertTrue "rotated set outlives the session: session $st ms, set $rt ms" \
        "[ '$st' -gt 0 ] && [ '$rt' -ge '$st' ]"

    # r1 was rotated away: presenting it again ends the session
    api_refresh "$r1"
    assert_error "reuse of a rotated refresh token" 401 REFRESH_REUSED
    assert_ratelimit_headers "refresh 401"
    api_auth "$t3" GET /auth/verify
    assert_unauthorized "access token of the session after the reuse"
    api_auth "$t2" GET /auth/me
    assert_unauthorized "older access token after the reuse"
    api_refresh "$r3"
    assert_error "latest refresh token of the revoked session" 401 UNAUTHORIZED
    api_refresh "$r1"
    assert_error "the reused one again, session gone" 401 UNAUTHORIZED

    api_refresh "not-a-refresh-token"
    assert_error "garbage refresh token" 401 UNAUTHORIZED
    api_refresh "$(flip_char "$r3" -10)"
    assert_error "altered refresh token" 401 UNAUTHORIZED
    api_post /auth/refresh '{}'
    assert_error "refresh without refresh_token" 400 BAD_REQUEST
    api_post /auth/refresh '{"refresh_token": 42}'
    assert_error "refresh_token a number" 400 BAD_REQUEST
}

test_signout() {
    local tok rt sid
    api_new_user signout || fail "setup"
    tok=$API_TOKEN rt=$API_REFRESH sid=$API_SID
    api_signout "$tok"
    assert_ok "signout"
    assertEquals "signed_out" true "$(sg_json .data.signed_out)"
    assertEquals "session_id" "$sid" "$(sg_json .data.session_id)"
    assertEquals "X-Session-ID" "$sid" "$(hdr X-Session-ID)"
    assert_ratelimit_headers "signout 200"

    api_auth "$tok" GET /auth/verify
    assert_unauthorized "verify after signout"
    api_auth "$tok" GET /auth/me
    assert_unauthorized "me after signout"
    api_signout "$tok"
    assert_unauthorized "signout twice"
    api_refresh "$rt"
    assert_error "refresh token of the signed-out session" 401 UNAUTHORIZED
    sg_req POST /auth/signout -H "Content-Length: 0"
    assert_unauthorized "signout without a token"
}

test_verify() {
    local tok sid uid exp
    api_new_user verify || fail "setup"
    tok=$API_TOKEN sid=$API_SID uid=$API_UID
    exp=$(jwt_part "$tok" 2 | jq .exp)
    api_auth "$tok" GET /auth/verify
    assert_ok "verify"
    assert_ratelimit_headers "verify 200"
    assertEquals "user_id" "$uid" "$(sg_json .data.user_id)"
    assertEquals "session_id" "$sid" "$(sg_json .data.session_id)"
    assertEquals "roles" '["user"]' "$(sg_json '.data.roles | tojson')"
    assert_rfc3339 "expires_at" "$(sg_json .data.expires_at)"
    assertEquals "expires_at is the token's exp" "$exp" "$(epoch_of "$(sg_json .data.expires_at)")"
    assertEquals "X-User-ID" "$uid" "$(hdr X-User-ID)"
    assertEquals "X-Session-ID" "$sid" "$(hdr X-Session-ID)"
    assertEquals "X-User-Roles" user "$(hdr X-User-Roles)"

    api_auth "$tok" GET /auth/verify -H "X-Session-ID: $sid"
    assertEquals "X-Session-ID matching the token" 200 "$SG_STATUS"
    api_auth "$tok" GET /auth/verify -H "X-Session-ID: $(printf '%064d' 7)"
    assert_error "X-Session-ID of another session" 400 SESSION_MISMATCH
    api_auth "$tok" GET /auth/me -H "X-Session-ID: $(printf '%064d' 7)"
    assert_error "me with X-Session-ID of another session" 400 SESSION_MISMATCH
    api_auth "$tok" GET '/auth/verify?x=1'
    assertEquals "verify with a query string" 200 "$SG_STATUS"
    api_auth "$tok" POST /auth/verify -H 'Content-Type: application/json' --data-binary '{}'
    assert_error "POST /auth/verify" 405 METHOD_NOT_ALLOWED
    assertTrue "Allow lists GET: '$(hdr Allow)'" "[[ '$(hdr Allow)' =~ (^|[ ,])GET($|[ ,]) ]]"
}

test_me() {
    local tok uid e
    e=$(api_email Me)
    api_register "$e" "$API_PASSWORD" "Me Myself" || fail "register"
    api_signin "$e" || fail "signin"
    tok=$API_TOKEN uid=$API_UID
    api_auth "$tok" GET /auth/me
    assert_ok "me"
    assert_ratelimit_headers "me 200"
    assertEquals "user.id" "$uid" "$(sg_json .data.user.id)"
    assertEquals "user.email" "$(tr 'A-Z' 'a-z' <<<"$e")" "$(sg_json '.data.user.email | ascii_downcase')"
    assertEquals "user.name" "Me Myself" "$(sg_json .data.user.name)"
    assertEquals "user.roles" '["user"]' "$(sg_json '.data.user.roles | tojson')"
    assert_rfc3339 "user.created_at" "$(sg_json .data.user.created_at)"
    assertEquals "no secret in the user record" "" "$(sg_json '[.data.user | keys[] | select(test("pass|hash|salt"; "i"))] | join(",")')"
    assertFalse "no hash in the body" 'body_has "pbkdf2|scrypt"'
    assertEquals "X-Session-ID" "$API_SID" "$(hdr X-Session-ID)"
    sg_req GET /auth/me
    assert_unauthorized "me without a token"
}

test_jwks() {
    sg_req GET /.well-known/jwks.json
    assert_ok "jwks"
    assertEquals "HS256: no public keys" '[]' "$(sg_json '.data.keys | tojson')"
    sg_req POST /.well-known/jwks.json -H 'Content-Type: application/json' --data-binary '{}'
    assert_error "POST jwks" 405 METHOD_NOT_ALLOWED
}

test_bad_tokens() {
    local tok claims now other=$SG_DIR/other.key what t h p
    api_new_user badtok || fail "setup"
    tok=$API_TOKEN
    claims=$(claims_of "$tok")
    now=$(date +%s)
    head -c 32 /dev/urandom >"$other"

    # the forging itself works: the same claims re-signed with the stack's
    # key pass, so each rejection below is for the one thing changed
    api_auth "$(jwt_forge "$HS256" "$claims")" GET /auth/verify
    assertEquals "control: a re-signed copy of a live token (body: $SG_BODY)" 200 "$SG_STATUS"
    api_auth "$(jwt_forge "$HS256" "$(jq -c ".jti = \"forged-jti-$RANDOM-abcdefghijkl\"" <<<"$claims")")" GET /auth/verify
    assertEquals "control: another jti (body: $SG_BODY)" 200 "$SG_STATUS"

    sg_req GET /auth/verify
    assert_unauthorized "no Authorization header"
    for what in 'Bearer' 'Bearer ' 'Bearer abc' 'Bearer a.b.c' "Basic $(printf 'u:p' | base64)" "Token $tok" "Bearer $tok.x"; do
        sg_req GET /auth/verify -H "Authorization: $what"
        assert_unauthorized "Authorization: ${what:0:40}"
    done

    # tampered payload, original signature
    h=$(cut -d. -f1 <<<"$tok")
    p=$(claims_of "$tok" '.roles = ["admin","user"]' | tr -d '\n' | b64url)
    api_auth "$h.$p.$(cut -d. -f3 <<<"$tok")" GET /auth/verify
    assert_unauthorized "tampered payload (roles admin)"
    p=$(claims_of "$tok" ".exp = .exp + 3600" | tr -d '\n' | b64url)
    api_auth "$h.$p.$(cut -d. -f3 <<<"$tok")" GET /auth/verify
    assert_unauthorized "tampered payload (exp)"
    # alg none, signature dropped
    t="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(cut -d. -f2 <<<"$tok")."
    api_auth "$t" GET /auth/verify
    assert_unauthorized "alg none"
    t="$(printf '{"alg":"none","typ":"JWT"}' | b64url).$(cut -d. -f2 <<<"$tok")"
    api_auth "$t" GET /auth/verify
    assert_unauthorized "alg none, two segments"
    # algorithm substitution: HS512 with the right secret
    api_auth "$(jwt_forge '{"alg":"HS512","typ":"JWT"}' "$claims" sha512)" GET /auth/verify
    assert_unauthorized "HS512 signed with the HS256 secret"
    api_auth "$(jwt_forge '{"alg":"HS384","typ":"JWT"}' "$claims" sha384)" GET /auth/verify
    assert_unauthorized "HS384 signed with the HS256 secret"
    # wrong key
    api_auth "$(jwt_forge "$HS256" "$claims" sha256 "$other")" GET /auth/verify
    assert_unauthorized "signed with another key"
    # claims, each with a valid signature
    api_auth "$(jwt_forge "$HS256" "$(jq -c ".exp = $((now - 120))" <<<"$claims")")" GET /auth/verify
    assert_unauthorized "expired 120 s ago (beyond the 30 s skew)"
    api_auth "$(jwt_forge "$HS256" "$(jq -c ".nbf = $((now + 300))" <<<"$claims")")" GET /auth/verify
    assert_unauthorized "not valid for another 300 s"
    api_auth "$(jwt_forge "$HS256" "$(jq -c '.iss = "someone-else"' <<<"$claims")")" GET /auth/verify
    assert_unauthorized "wrong iss"
    api_auth "$(jwt_forge "$HS256" "$(jq -c '.aud = "another-service"' <<<"$claims")")" GET /auth/verify
    assert_unauthorized "wrong aud"
    api_auth "$(jwt_forge "$HS256" "$(jq -c 'del(.exp)' <<<"$claims")")" GET /auth/verify
    assert_unauthorized "no exp claim"
    api_auth "$(jwt_forge "$HS256" "$(jq -c 'del(.sid)' <<<"$claims")")" GET /auth/verify
    assert_unauthorized "no sid claim"
    # Redis alone knows which sessions exist: verify_mode = local takes a
    # token signed with the secret on its word (only sessiongate holds
    # the secret, and it signs tokens of real sessions only)
    if ! api_local; then
        api_auth "$(jwt_forge "$HS256" "$(jq -c ".sid = \"$(printf '%064d' 1)\"" <<<"$claims")")" GET /auth/verify
        assert_unauthorized "sid of no session"
        api_auth "$(jwt_forge "$HS256" "$(jq -c '.sub = "0123456789abcdef0123456789abcdef"' <<<"$claims")")" GET /auth/verify
        assert_unauthorized "sub of another user, this session"
    fi
    # a forged token may not end the session either
    api_signout "$(jwt_forge "$HS256" "$claims" sha256 "$other")"
    assert_unauthorized "signout with a token of another key"
    assertEquals "the real token still works" 200 "$(verify_status "$tok")"
}

test_max_sessions_eviction() {
    local e t1 t2 t3 s2 s3 r1
    api_new_user maxs || fail "setup"
    e=$API_EMAIL t1=$API_TOKEN r1=$API_REFRESH
    api_signin "$e" || fail "signin 2"
    t2=$API_TOKEN s2=$API_SID
    assertEquals "two sessions: the first still valid" 200 "$(verify_status "$t1")"
    api_signin "$e" || fail "signin 3"
    t3=$API_TOKEN s3=$API_SID
    api_auth "$t1" GET /auth/verify
    assert_unauthorized "oldest session after the third sign-in (max_sessions_per_user = 2)"
    api_refresh "$r1"
    assert_error "refresh token of the evicted session" 401 UNAUTHORIZED
    assertEquals "second session valid" 200 "$(verify_status "$t2")"
    assertEquals "third session valid" 200 "$(verify_status "$t3")"
    api_auth "$t3" GET /sessions
    assertEquals "GET /sessions" 200 "$SG_STATUS"
    assertEquals "count" 2 "$(sg_json .data.count)"
    assertEquals "the two newest, newest first" "$s3 $s2" "$(sg_json '[.data.sessions[].id] | join(" ")')"
}

test_concurrent_registration() {
    local e body out
    e=$(api_email race)
    body=$(creds_json "$e" "$API_PASSWORD")
    out=$(par_statuses 10 curl_status -X POST -H 'Content-Type: application/json' \
        --data-binary "$body" "$SG_URL/auth/register" | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
    assertEquals "10 parallel registrations of one email" "201:1 409:9 " "$out"
    api_signin "$e" >/dev/null 2>&1
    assertEquals "the one user signs in" 200 "$SG_STATUS"
}

test_revocation_across_workers() {
    local tok out
    api_new_user revoke || fail "setup"
    tok=$API_TOKEN
    out=$(par_statuses 20 curl_status -H "Authorization: Bearer $tok" "$SG_URL/auth/verify" | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
    assertEquals "20 parallel verifies before signout" "200:20 " "$out"
    api_signout "$tok"
    assertEquals "signout" 200 "$SG_STATUS"
    out=$(par_statuses 20 curl_status -H "Authorization: Bearer $tok" "$SG_URL/auth/verify" | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
    assertEquals "20 parallel verifies right after signout" "401:20 " "$out"
    out=$(for i in 1 2 3 4 5 6; do verify_status "$tok"; done | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
    assertEquals "6 sequential verifies after signout" "401:6 " "$out"
}

# token_claim TOKEN NAME: a claim of the access token's payload.
token_claim() { jwt_part "$1" 2 | jq -r ".$2"; }

# session_redis TOKEN CMD...: a Redis command on the token's session key.
session_redis() {
    local t=$1
    shift
    sg_redis "$1" \
        "${API_REDIS_PREFIX}{u:$(token_claim "$t" sub)}:s:$(token_claim "$t" sid)" "${@:2}"
}

pttl_at_least() { [ "$(session_redis "$1" PTTL)" -ge "$2" ] 2>/dev/null; }
session_gone() { [ "$(session_redis "$1" EXISTS)" = 0 ]; }

# A stack of its own: session_idle_timeout = 1h, password_min_length = 10.
# Idle time is simulated by ageing the session keys in Redis (their TTL is
# the idle timeout, renewed by each request), never by waiting: the test
# is as fast and as sure on a loaded machine as on an idle one.
test_idle_expiry_and_password_policy() {
    local e t1 t2 r1 n1
    api_use_stack idle "$SG_SERVER" 'session_idle_timeout = 1h
password_min_length = 10' || { fail "second stack"; return; }
    e=$(api_email idle)
    api_post /auth/register "$(creds_json "$e" "123456789")"
    assert_error "9-byte password with password_min_length = 10" 422 WEAK_PASSWORD
    api_register "$e" 1234567890
    assertEquals "10-byte password (body: $SG_BODY)" 201 "$SG_STATUS"
    api_signin "$e" 1234567890 || fail "signin 1"
    t1=$API_TOKEN r1=$API_REFRESH
    api_signin "$e" 1234567890 || fail "signin 2"
    t2=$API_TOKEN
    n1=$(session_redis "$t1" HGET request_count)
    assertEquals "session 1 valid at first" 200 "$(verify_status "$t1")"
    # local mode: that request reaches Redis with the worker's next flush,
    # which renews the idle timeout; let it land before the ageing below
    assertTrue "written behind" "api_written_behind $t1 $((${n1:-0} + 1))"
    assertTrue "a session lives the idle timeout: PTTL '$(session_redis "$t1" PTTL)'" \
        "pttl_at_least $t1 3000000"
    # 50 minutes of idleness for both sessions (the 10 left are far more
    # than the next requests take on a loaded machine)
    session_redis "$t1" PEXPIRE 600000 >/dev/null
    session_redis "$t2" PEXPIRE 600000 >/dev/null
    assertEquals "session 2 used near the end of its idle time" 200 "$(verify_status "$t2")"
    # (local mode: renewed by the worker's next activity flush)
    assertTrue "a request renews the idle timeout: PTTL '$(session_redis "$t2" PTTL)'" \
        "sg_poll 60 pttl_at_least $t2 3000000"
    assertFalse "an unused session keeps ageing" "pttl_at_least $t1 600001"
    # the last minutes pass for session 1
    session_redis "$t1" PEXPIRE 1 >/dev/null
    assertTrue "session 1 expires" "sg_poll 60 session_gone $t1"
    # local mode finds the expiry with the activity flush after a
    # request, ends the session and publishes it: refused a moment later
    api_local && assertTrue "local: session 1 refused after its idle timeout" \
        "sg_poll 60 verify_is 401 $t1"
    api_auth "$t1" GET /auth/verify
    assert_unauthorized "session 1 after its idle timeout"
    api_refresh "$r1"
    assert_error "refresh token of the idle-expired session" 401 UNAUTHORIZED
    assertEquals "session 2 still valid" 200 "$(verify_status "$t2")"
    api_auth "$t2" GET /sessions
    assertEquals "one session listed" 1 "$(sg_json .data.count)"
    api_stop_stack idle
}

# A stack of its own: registration = closed.
# In local mode a verify's activity reaches Redis within activity_flush
# even when nothing follows it but a request to another worker: that
# request wakes every worker polling the socket, and one that lost the
# race to accept(2) must go back to its poll and flush, not wait in
# accept(2) for traffic. Ten rounds: the race goes either way each time.
test_written_behind_when_quiet() {
    local i n
    api_local || startSkipping
    api_new_user quiet || fail "sign-in"
    for i in 1 2 3 4 5 6 7 8 9 10; do
        n=$(sg_redis HGET "${API_REDIS_PREFIX}{u:$API_UID}:s:$API_SID" request_count)
        api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "verify $i" 200 "$SG_STATUS"
        sg_status GET /health >/dev/null
        # activity_flush is 1 s: 30 s is a bound no loaded machine reaches
        sg_poll 30 api_request_count_at_least "$API_UID" "$API_SID" $((${n:-0} + 1)) ||
            { fail "round $i: the verify was not written behind within 30 s"; break; }
    done
}

test_registration_closed() {
    api_use_stack closed "$SG_SERVER" 'registration = closed' || { fail "second stack"; return; }
    api_post /auth/register "$(creds_json "$(api_email closed)" "$API_PASSWORD")"
    assert_error "register with registration = closed" 403 REGISTRATION_CLOSED
    api_post /auth/signin "$(creds_json "$(api_email closed)" "$API_PASSWORD")"
    assert_error "signin still answers" 401 INVALID_CREDENTIALS
    api_stop_stack closed
}

# Last: no sanitizer report in the stack's logs (see lib.sh).
test_no_sanitizer_reports() { sg_assert_no_sanitizer_reports "$SG_DIR"; }

suite() {
    local t
    for t in test_verify_one_round_trip test_register test_register_validation \
        test_signin test_signin_invalid_credentials \
        test_refresh_rotation_and_reuse test_signout test_verify test_me \
        test_jwks test_bad_tokens test_max_sessions_eviction \
        test_concurrent_registration test_revocation_across_workers \
        test_idle_expiry_and_password_policy test_registration_closed \
        test_no_sanitizer_reports; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
