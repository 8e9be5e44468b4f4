#!/bin/bash
# tests/integration/protect.sh -- protected locations and browser cookies
# (issue 5) through one real deployment: SG_SERVER=lighttpd|apache|nginx.
#
#   SG_SERVER=nginx SG_BIN=/tmp/copy-of-sessiongate bash tests/integration/protect.sh
#   ... protect.sh -- test_bearer_served test_csrf   (only these tests)
#
# One stack (tests/stack.sh: the shipped config of the server, www/ at /,
# tests/www-private/ at /private/) with cookie_auth = on and
# cookie_secure = off (plain HTTP: the cookies are sg_access and
# sg_refresh). /private/ is protected natively: lighttpd's FastCGI
# authorizer, Apache's FcgidAccessChecker, nginx's auth_request; its CGI
# (env.cgi) prints what it received. Each test uses users of its own. The
# protect-<server>.sh wrappers set SG_SERVER.
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION); CI=true
# makes a missing fcgiwrap (nginx runs the CGI through it) a failure
# rather than a skip.

SG_SERVER=${SG_SERVER:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_suite_server protect.sh lighttpd apache nginx

PROTECT_CONF='cookie_auth = on
cookie_secure = off
signin_url = /'

# Markers in tests/www-private/.
INDEX_MARK=sessiongate-private-index
ADMIN_MARK=sessiongate-private-admin
CSRF=(-H 'X-Sessiongate-CSRF: 1')

oneTimeSetUp() {
    api_suite_start "$SG_SERVER" "$PROTECT_CONF" || {
        echo "protect.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    echo "# $SG_SERVER stack at $(sg_site)/ (dir $SG_DIR)"
}

oneTimeTearDown() { api_stop_all; }

setUp() { api_test_start; }
tearDown() { api_test_end; }

# ---- helpers ---------------------------------------------------------------

# This site, as a browser sends it in Origin.
origin() { sg_site; }

# priv PATH [curl args]: a request to the site (not the API), no redirects
# followed.
priv() {
    local path=$1
    shift
    sg_site_req GET "$path" "$@"
}
priv_status() { priv "$@" >/dev/null; echo "$SG_STATUS"; }
priv_bearer_status() {
    local tok=$1 path=$2
    shift 2
    priv_status "$path" -H "Authorization: Bearer $tok" "$@"
}

# env_var NAME: NAME=value from the last env.cgi body.
env_var() { sed -n "s/^$1=//p" <<<"$SG_BODY" | head -n 1; }

# jar NAME: a cookie jar file in the stack's directory, emptied.
jar() {
    local f=$SG_DIR/jar.$1
    : >"$f"
    echo "$f"
}

# jar_value JAR NAME: the cookie's value in a curl cookie jar.
jar_value() { awk -v n="$2" '$6 == n { v = $7 } END { print v }' "$1"; }

# cookie_signin JAR EMAIL: sign in, keeping the cookies in JAR.
cookie_signin() {
    api_signin "$2" "$API_PASSWORD" -c "$1"
}

# set_cookie NAME: the Set-Cookie header of the last response for NAME.
set_cookie() {
    grep -i '^set-cookie:' "$SG_HDRS" | tr -d '\r' | sed 's/^[Ss]et-[Cc]ookie: *//' |
        grep "^$1=" | tail -n 1
}

# The 401 that API clients get (lighttpd: sessiongate's own; Apache and
# nginx: the same JSON shape, from the shipped config).
assert_denied_api() {
    local what=$1
    assertEquals "$what: status (body: $SG_BODY)" 401 "$SG_STATUS"
    assertEquals "$what: error.code" UNAUTHORIZED "$(sg_json .error.code)"
    assertEquals "$what: WWW-Authenticate" 'Bearer error="invalid_token"' "$(hdr WWW-Authenticate)"
    assertNotContains "$what: protected content not sent" "$SG_BODY" "$INDEX_MARK"
    assertNotContains "$what: the CGI did not run" "$SG_BODY" "USER_ID="
}

# ---- the site --------------------------------------------------------------

test_signin_page_at_root() {
    priv /
    assertEquals "GET / status" 200 "$SG_STATUS"
    assertContains "GET / Content-Type" "$(hdr Content-Type)" text/html
    assertContains "GET / is www/index.html" "$SG_BODY" 'name="sessiongate-api"'
    priv /app.js
    assertEquals "GET /app.js status" 200 "$SG_STATUS"
    sg_req GET /health
    assertEquals "API still at /api/v1" 200 "$SG_STATUS"
}

# ---- denied ----------------------------------------------------------------

test_denied_without_token() {
    local p
    for p in /private/ /private/index.html /private/env.cgi /private/admin/; do
        priv "$p"
        assert_denied_api "GET $p without a token"
    done
    priv /private/env.cgi -H 'Authorization: Bearer not.a.token'
    assert_denied_api "GET /private/env.cgi with a garbage token"
    priv /private/ -b 'sg_access=not.a.token'
    assert_denied_api "GET /private/ with a garbage access cookie"
    # no redirect for API clients, whatever they accept
    priv /private/ -H 'Accept: application/json'
    assert_denied_api "GET /private/ accepting JSON"
}

# A browser (Accept: text/html) that is not signed in goes to the sign-in
# page with the URL it asked for. lighttpd passes sessiongate's 302
# (signin_url); nginx's error_page redirects; Apache (mod_fcgid makes any
# refusal a 401 and no redirect survives an error document) answers 401
# with a page that goes there by script.
test_browser_redirected_to_signin() {
    local accept='Accept: text/html,application/xhtml+xml,*/*;q=0.8' loc
    priv '/private/env.cgi?a=1' -H "$accept"
    loc=$(hdr Location)
    case $SG_SERVER in
    apache)
        assertEquals "status (body: $SG_BODY)" 401 "$SG_STATUS"
        assertContains "Content-Type" "$(hdr Content-Type)" text/html
        assertContains "the page goes to the sign-in page with next=" "$SG_BODY" \
            "location.replace('/?next=' + encodeURIComponent(location.pathname + location.search))"
        ;;
    lighttpd)
        assertEquals "status (body: $SG_BODY)" 302 "$SG_STATUS"
        assertEquals "Location: signin_url?next=<the URL, encoded>" '/?next=/private/env.cgi%3Fa%3D1' "$loc"
        ;;
    nginx)
        assertEquals "status (body: $SG_BODY)" 302 "$SG_STATUS"
        assertEquals "Location: the sign-in page, next=<the URL>" "$(sg_site)/?next=/private/env.cgi?a=1" "$loc"
        ;;
    esac
    assertNotContains "the CGI did not run" "$SG_BODY" "USER_ID="
    # signed in, the same browser request is served
    api_new_user browser || return
    priv /private/ -H "$accept" -H "Authorization: Bearer $API_TOKEN"
    assertEquals "signed-in browser: status" 200 "$SG_STATUS"
    assertContains "signed-in browser: the page" "$SG_BODY" "$INDEX_MARK"
}

# ---- served ----------------------------------------------------------------

test_bearer_served() {
    local p
    api_new_user bearer || return
    for p in /private/ /private/index.html; do
        priv "$p" -H "Authorization: Bearer $API_TOKEN"
        assertEquals "GET $p with a bearer token: status" 200 "$SG_STATUS"
        assertContains "GET $p: the protected file" "$SG_BODY" "$INDEX_MARK"
    done
    priv /private/index.html -H "Authorization: Bearer $API_TOKEN"
    assertContains "static file Content-Type" "$(hdr Content-Type)" text/html
}

test_cgi_receives_identity() {
    local uid sid
    api_new_user cgi || return
    uid=$API_UID sid=$API_SID
    priv /private/env.cgi -H "Authorization: Bearer $API_TOKEN"
    assertEquals "status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "USER_ID" "$uid" "$(env_var USER_ID)"
    assertEquals "SESSION_ID" "$sid" "$(env_var SESSION_ID)"
    assertEquals "USER_ROLES" user "$(env_var USER_ROLES)"
    assertEquals "the CGI sees the bearer token (CGIPassAuth on Apache)" present "$(env_var HTTP_AUTHORIZATION)"
    assertEquals "REQUEST_METHOD" GET "$(env_var REQUEST_METHOD)"
    # A POST reaches it too (the check is a GET subrequest under nginx).
    priv /private/env.cgi -X POST -H "Authorization: Bearer $API_TOKEN" \
        -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'a=1'
    assertEquals "POST: status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "POST: USER_ID" "$uid" "$(env_var USER_ID)"
    assertEquals "POST: REQUEST_METHOD" POST "$(env_var REQUEST_METHOD)"
    assertEquals "POST: the CGI got the body" 3 "$(env_var BODY_BYTES)"
}

# The identity variables come from sessiongate only: what a client sends
# (headers, query) cannot set them.
test_identity_not_forgeable() {
    local uid
    api_new_user forge || return
    uid=$API_UID
    priv '/private/env.cgi?USER_ID=evil' -H "Authorization: Bearer $API_TOKEN" \
        -H 'User-Id: evil' -H 'X-User-ID: evil' -H 'X-User-Roles: admin' \
        -H 'Variable-USER_ID: evil' -H 'USER_ID: evil'
    assertEquals "status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "USER_ID is the token's" "$uid" "$(env_var USER_ID)"
    assertEquals "USER_ROLES is the token's" user "$(env_var USER_ROLES)"
    priv /private/admin/ -H "Authorization: Bearer $API_TOKEN" -H 'X-User-Roles: admin' \
        -H 'SG-Require-Role: user' -H 'Variable-USER_ROLES: admin'
    assertEquals "role headers sent by the client do not open /private/admin/" 403 "$SG_STATUS"
}

test_cookie_served() {
    local j access refresh c
    j=$(jar cookie)
    API_EMAIL=$(api_email cookie)
    api_register "$API_EMAIL" || return
    cookie_signin "$j" "$API_EMAIL" || return
    access=$(set_cookie sg_access)
    refresh=$(set_cookie sg_refresh)
    assertContains "sign-in sets sg_access" "$access" "sg_access=$API_TOKEN;"
    assertNotNull "sign-in sets sg_refresh" "$refresh"
    for c in "$access" "$refresh"; do
        assertContains "HttpOnly: $c" "$c" HttpOnly
        assertContains "SameSite=Lax: $c" "$c" SameSite=Lax
        assertNotContains "no Secure with cookie_secure = off: $c" "$c" Secure
    done
    # the access token serves the whole site; the refresh token only its
    # route, so no protected application ever receives it
    assertContains "access cookie Path=/: $access" "$access" 'Path=/;'
    assertContains "refresh cookie Path: $refresh" "$refresh" 'Path=/api/v1/auth/refresh;'
    priv /private/ -b "$j"
    assertEquals "GET /private/ with the cookie: status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertContains "the protected file" "$SG_BODY" "$INDEX_MARK"
    priv /private/env.cgi -b "$j"
    assertEquals "env.cgi with the cookie: status" 200 "$SG_STATUS"
    assertEquals "USER_ID from the cookie's token" "$API_UID" "$(env_var USER_ID)"
    assertEquals "SESSION_ID" "$API_SID" "$(env_var SESSION_ID)"
    assertEquals "no Authorization header was sent" absent "$(env_var HTTP_AUTHORIZATION)"
    # the shipped configs strip sessiongate's cookies from the request
    # the protected application sees (the authorizer saw them)
    assertEquals "the access cookie is kept from the CGI" absent "$(env_var ACCESS_COOKIE)"
    # a bearer token wins over the cookie
    priv /private/ -b "$j" -H 'Authorization: Bearer not.a.token'
    assertEquals "a bad bearer token with a good cookie" 401 "$SG_STATUS"
}

# ---- revocation --------------------------------------------------------------

test_revoked_token_denied_at_once() {
    local tok j
    j=$(jar revoked)
    API_EMAIL=$(api_email revoked)
    api_register "$API_EMAIL" || return
    cookie_signin "$j" "$API_EMAIL" || return
    tok=$API_TOKEN
    assertEquals "before sign-out" 200 "$(priv_bearer_status "$tok" /private/)"
    api_signout "$tok"
    assertEquals "sign-out (body: $SG_BODY)" 200 "$SG_STATUS"
    priv /private/ -H "Authorization: Bearer $tok"
    assert_denied_api "bearer token after sign-out"
    priv /private/env.cgi -b "$j"
    assert_denied_api "access cookie after sign-out"
}

test_ended_session_denied_at_once() {
    local email tok_a sid_a tok_b j
    email=$(api_email ended)
    api_register "$email" || return
    j=$(jar ended)
    cookie_signin "$j" "$email" || return
    tok_a=$API_TOKEN sid_a=$API_SID
    api_signin "$email" || return
    tok_b=$API_TOKEN
    assertEquals "session A before" 200 "$(priv_bearer_status "$tok_a" /private/)"
    assertEquals "session A's cookie before" 200 "$(priv_status /private/ -b "$j")"
    api_auth "$tok_b" DELETE "/sessions/$sid_a"
    assertEquals "DELETE /sessions/{A} from B (body: $SG_BODY)" 200 "$SG_STATUS"
    priv /private/env.cgi -H "Authorization: Bearer $tok_a"
    assert_denied_api "session A's token once A has ended"
    priv /private/ -b "$j"
    assert_denied_api "session A's cookie once A has ended"
    assertEquals "session B still served" 200 "$(priv_bearer_status "$tok_b" /private/)"
}

# ---- roles -----------------------------------------------------------------

test_admin_location_needs_role() {
    local email tok p
    email=$(api_email admin)
    api_register "$email" || return
    api_signin "$email" || return
    tok=$API_TOKEN
    priv /private/admin/ -H "Authorization: Bearer $tok"
    assertEquals "non-admin: /private/admin/ (body: $SG_BODY)" 403 "$SG_STATUS"
    assertNotContains "non-admin: no admin page" "$SG_BODY" "$ADMIN_MARK"
    # other spellings of the same path meet the same rule
    for p in /private//admin/ /private/%61dmin/ /private/./admin/ /private/x/../admin/ \
        /private/admin/index.html; do
        assertEquals "non-admin: $p" 403 "$(priv_bearer_status "$tok" "$p" --path-as-is)"
    done
    assertEquals "non-admin: /private/ still fine" 200 "$(priv_bearer_status "$tok" /private/)"

    "$SG_BIN" user roles "$email" admin user --config "$SG_DIR/sessiongate.conf" >/dev/null ||
        fail "sessiongate user roles $email admin user"
    # roles live in the token: the old one still lacks admin
    assertEquals "old token after the role change" 403 "$(priv_bearer_status "$tok" /private/admin/)"
    api_signin "$email" || return
    priv /private/admin/ -H "Authorization: Bearer $API_TOKEN"
    assertEquals "admin: /private/admin/ (body: $SG_BODY)" 200 "$SG_STATUS"
    assertContains "admin: the admin page" "$SG_BODY" "$ADMIN_MARK"
    assertEquals "admin: /private//admin/" 200 "$(priv_bearer_status "$API_TOKEN" /private//admin/ --path-as-is)"
    priv /private/env.cgi -H "Authorization: Bearer $API_TOKEN"
    assertContains "admin: USER_ROLES" ",$(env_var USER_ROLES)," ",admin,"
}

# ---- CSRF ------------------------------------------------------------------

# Cookie-authenticated changes need X-Sessiongate-CSRF and, when the
# browser sends Origin (else Referer), this site's origin.
test_csrf() {
    local email j tok_other
    email=$(api_email csrf)
    api_register "$email" || return
    api_signin "$email" || return
    tok_other=$API_TOKEN
    j=$(jar csrf)
    cookie_signin "$j" "$email" || return

    sg_req DELETE /sessions -b "$j" "${CSRF[@]}" -H 'Origin: http://evil.example'
    assert_error "foreign Origin" 403 FORBIDDEN
    sg_req DELETE /sessions -b "$j" "${CSRF[@]}" -H 'Referer: http://evil.example/page'
    assert_error "foreign Referer, no Origin" 403 FORBIDDEN
    sg_req DELETE /sessions -b "$j" "${CSRF[@]}" -H 'Origin: null'
    assert_error "Origin: null" 403 FORBIDDEN
    sg_req DELETE /sessions -b "$j" -H "Origin: $(origin)"
    assert_error "same origin without the header" 403 FORBIDDEN
    # nothing was ended by the refused requests
    assertEquals "the other session survived the refusals" 200 "$(priv_bearer_status "$tok_other" /private/)"

    sg_req DELETE /sessions -b "$j" "${CSRF[@]}" -H "Origin: $(origin)"
    assertEquals "header and same origin: status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "the other session ended" 1 "$(sg_json .data.terminated)"
    assertEquals "the other session is denied now" 401 "$(priv_bearer_status "$tok_other" /private/)"
    sg_req DELETE /sessions -b "$j" "${CSRF[@]}" -H "Referer: $(origin)/account"
    assertEquals "header and same-site Referer (body: $SG_BODY)" 200 "$SG_STATUS"

    # bearer requests are not subject to it
    api_signin "$email" || return
    api_auth "$API_TOKEN" DELETE /sessions -H 'Origin: http://evil.example'
    assertEquals "bearer token, foreign Origin, no header (body: $SG_BODY)" 200 "$SG_STATUS"
}

# ---- refresh and sign-out by cookie ------------------------------------------

test_cookie_refresh() {
    local email j old_access old_refresh new_access new_refresh
    email=$(api_email refresh)
    api_register "$email" || return
    j=$(jar refresh)
    cookie_signin "$j" "$email" || return
    old_access=$(jar_value "$j" sg_access)
    old_refresh=$(jar_value "$j" sg_refresh)

    sg_req POST /auth/refresh -b "$j" -H "Origin: $(origin)" --data-binary ''
    assert_error "refresh by cookie without the header" 403 FORBIDDEN
    sg_req POST /auth/refresh -b "$j" "${CSRF[@]}" -H 'Origin: http://evil.example' --data-binary ''
    assert_error "refresh by cookie from a foreign origin" 403 FORBIDDEN

    sg_req POST /auth/refresh -b "$j" -c "$j" "${CSRF[@]}" -H "Origin: $(origin)" --data-binary ''
    assertEquals "refresh by cookie: status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertNotNull "new sg_access cookie" "$(set_cookie sg_access)"
    assertNotNull "new sg_refresh cookie" "$(set_cookie sg_refresh)"
    new_access=$(jar_value "$j" sg_access)
    new_refresh=$(jar_value "$j" sg_refresh)
    assertNotEquals "the access cookie changed" "$old_access" "$new_access"
    assertNotEquals "the refresh cookie changed (rotation)" "$old_refresh" "$new_refresh"
    assertEquals "the body's token is the cookie's" "$new_access" "$(sg_json .data.access_token)"
    assertEquals "the new access cookie opens /private/" 200 "$(priv_status /private/ -b "$j")"
}

test_signout_clears_cookies() {
    local email j access c
    email=$(api_email signout)
    api_register "$email" || return
    j=$(jar signout)
    cookie_signin "$j" "$email" || return
    access=$(jar_value "$j" sg_access)
    sg_req POST /auth/signout -b "$j" -H "Origin: $(origin)" -H 'Content-Length: 0'
    assert_error "sign-out by cookie without the header" 403 FORBIDDEN
    sg_req POST /auth/signout -b "$j" -c "$j" "${CSRF[@]}" -H "Origin: $(origin)" -H 'Content-Length: 0'
    assertEquals "sign-out by cookie: status (body: $SG_BODY)" 200 "$SG_STATUS"
    # A browser drops a cookie set again, empty, with the same name and
    # Path, expiring now. (curl 7.88's jar keeps sg_access all the same:
    # the replay below is what a jar that kept it would send.)
    for c in sg_access sg_refresh; do
        assertContains "$c cleared: $(set_cookie $c)" "$(set_cookie $c)" 'Max-Age=0'
        assertContains "$c cleared: empty value" "$(set_cookie $c)" "$c=;"
    done
    assertContains "sg_access cleared: the Path it was set with" "$(set_cookie sg_access)" 'Path=/;'
    assertContains "sg_refresh cleared: the Path it was set with" "$(set_cookie sg_refresh)" 'Path=/api/v1/auth/refresh;'
    priv /private/ -b "sg_access=$access"
    assert_denied_api "the old access cookie replayed"
    priv /private/ -b "$j"
    assert_denied_api "what the jar holds after sign-out"
}

# Last: no sanitizer report in the stack's logs (see lib.sh).
test_no_sanitizer_reports() { sg_assert_no_sanitizer_reports "$SG_DIR"; }

suite() {
    local t
    for t in test_signin_page_at_root test_denied_without_token \
        test_browser_redirected_to_signin test_bearer_served \
        test_cgi_receives_identity test_identity_not_forgeable \
        test_cookie_served test_revoked_token_denied_at_once \
        test_ended_session_denied_at_once test_admin_location_needs_role \
        test_csrf test_cookie_refresh test_signout_clears_cookies \
        test_no_sanitizer_reports; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
