#!/bin/bash
# tests/integration/envelope.sh -- every answer under the API mount is the
# JSON envelope, the web server's own refusals included, and the protected
# application never sees sessiongate's cookies (issue 12: "every answer
# under the API mount is the JSON envelope", defect 5), through one real
# deployment: SG_SERVER=lighttpd|apache|nginx|cgi.
#
#   SG_SERVER=nginx bash tests/integration/envelope.sh
#   ... envelope.sh -- test_body_over_server_limit   (only these tests)
#
# One stack (tests/stack.sh: the shipped config of the server) with
# cookie_auth = on, cookie_secure = off. The requests are those the web
# servers refuse themselves: a body over their limit, a POST without
# Content-Length (lighttpd's 411), "%2F" and "%00" in the path (Apache's
# 404, nginx's and lighttpd's 400), an overlong request line, a malformed
# header, TRACE, sessiongate unreachable (nginx). Every answer must be the
# envelope: the status, Content-Type application/json; charset=utf-8,
# Cache-Control no-store, X-Content-Type-Options nosniff, a sane
# X-Request-ID, a body that is
# JSON with success false, an UPPER_SNAKE error.code and a message. The
# envelope-<server>.sh wrappers set SG_SERVER.
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION); CI=true
# makes a missing fcgiwrap (nginx runs the protected CGI through it) a
# failure rather than a skip.

SG_SERVER=${SG_SERVER:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_suite_server envelope.sh lighttpd apache nginx cgi

ENVELOPE_CONF='cookie_auth = on
cookie_secure = off'

# max_body_bytes of tests/stack/sessiongate.conf.in; the servers' own
# limits are 128 KiB (nginx client_max_body_size, Apache
# FcgidMaxRequestLen and LimitRequestBody).
MAX_BODY=16384

oneTimeSetUp() {
    api_suite_start "$SG_SERVER" "$ENVELOPE_CONF" || {
        echo "envelope.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    echo "# $SG_SERVER stack at $(sg_site)/ (dir $SG_DIR)"
}

oneTimeTearDown() { api_stop_all; }

setUp() { api_test_start; }
tearDown() { api_test_end; }

# ---- helpers ---------------------------------------------------------------

# assert_envelope WHAT STATUSES CODES: the last answer is the envelope;
# its status one of STATUSES and its error.code one of CODES (both
# space-separated lists).
assert_envelope() {
    local what=$1 statuses=" $2 " codes=" $3 " got code
    case $statuses in
    *" $SG_STATUS "*) ;;
    *) fail "$what: status $SG_STATUS, expected one of:$statuses(body: ${SG_BODY:0:200})" ;;
    esac
    assertEquals "$what: Content-Type" 'application/json; charset=utf-8' "$(hdr Content-Type)"
    assertEquals "$what: Cache-Control" 'no-store' "$(hdr Cache-Control)"
    assertEquals "$what: X-Content-Type-Options" 'nosniff' "$(hdr X-Content-Type-Options)"
    [[ $(hdr X-Request-ID) =~ $REQUEST_ID_RE ]] || fail "$what: X-Request-ID '$(hdr X-Request-ID)' is not sane"
    got=$(sg_json '[.success, (.error.code | type), (.error.message | type)] | map(tostring) | join(" ")')
    assertEquals "$what: success, error.code and error.message types (body: ${SG_BODY:0:200})" \
        "false string string" "$got"
    code=$(sg_json .error.code)
    [[ $code =~ ^[A-Z][A-Z0-9_]*$ ]] || fail "$what: error.code '$code' is not UPPER_SNAKE"
    case $codes in
    *" $code "*) ;;
    *) fail "$what: error.code $code, expected one of:$codes" ;;
    esac
}

# body_file NAME BYTES: a JSON body of exactly BYTES bytes in a file.
body_file() {
    local f=$SG_DIR/body.$1
    [ -s "$f" ] || sg_json_body "$2" >"$f"
    echo "$f"
}

# env_var NAME: NAME=value from the last env.cgi body.
env_var() { sed -n "s/^$1=//p" <<<"$SG_BODY" | head -n 1; }

# ---- bodies over a limit -----------------------------------------------------

# Over sessiongate's max_body_bytes (its own 413), over the server's limit
# (nginx's 413, mod_fcgid's 500, Apache's 413 for CGI: HTML before), and
# far over it.
test_body_over_limits() {
    local n f
    for n in $((MAX_BODY + 1)) $((128 * 1024 + 10000)) $((1024 * 1024)); do
        f=$(body_file "$n" "$n")
        sg_req POST /auth/signin -H 'Content-Type: application/json' --data-binary "@$f"
        assert_envelope "a $n-byte body" 413 PAYLOAD_TOO_LARGE
    done
}

# ---- requests the servers refuse themselves ----------------------------------

# curl -X POST without a body sends no Content-Length: lighttpd answers 411
# in its request parser; the others hand it to sessiongate (no token: 401).
test_post_without_content_length() {
    sg_req POST /auth/signout
    if [ "$SG_SERVER" = lighttpd ]; then
        assert_envelope "POST without Content-Length" 411 LENGTH_REQUIRED
    else
        assert_envelope "POST without Content-Length" "400 401 411" \
            "BAD_REQUEST UNAUTHORIZED LENGTH_REQUIRED"
    fi
    sg_req POST /auth/signin -H 'Content-Type: application/json'
    assert_envelope "POST /auth/signin without Content-Length" "400 411 415" \
        "BAD_REQUEST LENGTH_REQUIRED UNSUPPORTED_MEDIA_TYPE"
}

# Apache refuses %2F and %00 in a path (404) before any <Location> applies,
# nginx and lighttpd refuse %00 (400): no route has such a path, 404.
test_encoded_slash_and_nul_in_path() {
    local p
    for p in /no%2Froute /auth%2Fverify /health%00 /sessions/%00 /no%2Froute%00; do
        sg_req GET "$p" --path-as-is
        assert_envelope "GET $p" 404 NOT_FOUND
    done
    api_new_user pct || return
    sg_req GET /health%00 --path-as-is -H "Authorization: Bearer $API_TOKEN"
    assert_envelope "GET /health%00 with a token" 404 NOT_FOUND
}

# A 20 KB request line: over every server's buffer (nginx 414, Apache
# LimitRequestLine 414, lighttpd 431).
test_overlong_uri() {
    local q
    q=$(head -c 20000 /dev/zero | tr '\0' a)
    sg_req GET "/health?q=$q"
    assert_envelope "a 20 KB URI" "400 414 431" "BAD_REQUEST URI_TOO_LONG HEADERS_TOO_LARGE"
    sg_req GET "/$q"
    assert_envelope "a 20 KB path" "400 404 414 431" "BAD_REQUEST NOT_FOUND URI_TOO_LONG HEADERS_TOO_LARGE"
}

# A Host header with a space: all three refuse it while parsing.
test_malformed_header() {
    sg_req GET /health -H 'Host: bad host'
    assert_envelope "Host with a space" 400 BAD_REQUEST
}

# TRACE: Apache (TraceEnable off) and nginx refuse it before any location;
# lighttpd hands it to sessiongate. Apache used to echo the request,
# cookies included.
test_trace() {
    sg_req TRACE /health -H 'Cookie: sg_access=secret-token-value'
    assert_envelope "TRACE" "405 501" "METHOD_NOT_ALLOWED NOT_IMPLEMENTED"
    assertNotContains "TRACE does not echo the cookie" "$SG_BODY" secret-token-value
}

# The answers of the API itself are untouched: one success, one error.
test_api_answers_unchanged() {
    sg_req GET /health
    assert_ok "GET /health"
    assertEquals "GET /health: body" ok "$(sg_json .data.status)"
    assertEquals "one Cache-Control header" 1 "$(grep -ci '^cache-control:' "$SG_HDRS")"
    sg_req GET /no-such-route
    assert_error "GET /no-such-route" 404 NOT_FOUND
    sg_req GET /auth/me
    assert_unauthorized "GET /auth/me without a token"
}

# The site outside the mount keeps the server's own pages.
test_site_errors_stay_html() {
    sg_site_req GET /no-such-page.html
    assertEquals "a missing page: status" 404 "$SG_STATUS"
    assertNotEquals "a missing page: not labelled JSON" \
        'application/json; charset=utf-8' "$(hdr Content-Type)"
}

# nginx: sessiongate not running (502 from nginx) is 503 JSON. (lighttpd
# and Apache spawn sessiongate themselves.) A stack of its own, whose
# sessiongate is stopped.
test_sessiongate_unreachable() {
    [ "$SG_SERVER" = nginx ] || return 0
    api_use_stack down nginx "$ENVELOPE_CONF" || { fail "cannot start a second stack"; return; }
    local pid
    pid=$(cat "$SG_DIR/pids/sessiongate")
    kill -TERM "$pid"
    sg_poll 60 sock_gone "$SG_DIR/run/sessiongate.sock" || fail "sessiongate did not stop"
    sg_req GET /health
    assert_envelope "sessiongate stopped" 503 UPSTREAM_UNAVAILABLE
    assertNotNull "Retry-After" "$(hdr Retry-After)"
    api_stop_stack down
}
sock_gone() { [ ! -S "$1" ]; }

# ---- cookies and the protected application ---------------------------------

# The protected CGI (/private/env.cgi) gets no sessiongate cookie, and every
# other cookie as sent, in order; the authorizer still takes the access
# cookie. (The CGI deployment protects no location.)
test_protected_app_gets_no_sessiongate_cookie() {
    [ "$SG_SERVER" = cgi ] && return 0
    local j=$SG_DIR/jar.cookies
    : >"$j"
    api_new_user cookie || return
    api_signin "$API_EMAIL" "$API_PASSWORD" -c "$j" || return
    assertNotNull "sign-in set sg_access" "$(awk '$6 == "sg_access" { print $7 }' "$j")"

    sg_site_req GET /private/env.cgi -b "$j"
    assertEquals "with the jar's cookies: status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "USER_ID from the access cookie" "$API_UID" "$(env_var USER_ID)"
    assertEquals "no cookie left for the application" "" "$(env_var HTTP_COOKIE)"

    sg_site_req GET /private/env.cgi \
        -H "Cookie: first=1; sg_access=$API_TOKEN; mid=a=b; sg_refresh=$API_REFRESH; __Host-sg_access=x; __Secure-sg_refresh=y; __Host-sg_refresh=z; last=3"
    assertEquals "mixed cookies: status (body: $SG_BODY)" 200 "$SG_STATUS"
    assertEquals "mixed cookies: USER_ID" "$API_UID" "$(env_var USER_ID)"
    assertEquals "the other cookies, as sent, in order" "first=1; mid=a=b; last=3" "$(env_var HTTP_COOKIE)"
    assertEquals "ACCESS_COOKIE" absent "$(env_var ACCESS_COOKIE)"

    # names that only look alike are someone else's cookies
    sg_site_req GET /private/env.cgi \
        -H "Cookie: xsg_access=1; sg_access=$API_TOKEN; sg_accessx=2; Sg_access=3"
    assertEquals "look-alike names: status" 200 "$SG_STATUS"
    assertEquals "look-alike names kept" "xsg_access=*; sg_accessx=*; Sg_access=3" "$(env_var HTTP_COOKIE)"

    # the bearer token still works, and other cookies pass with it
    sg_site_req GET /private/env.cgi -H "Authorization: Bearer $API_TOKEN" -H 'Cookie: theme=dark'
    assertEquals "bearer: status" 200 "$SG_STATUS"
    assertEquals "bearer: the application's own cookie" "theme=dark" "$(env_var HTTP_COOKIE)"

    # the static file is still served by cookie
    sg_site_req GET /private/ -b "$j"
    assertEquals "GET /private/ by cookie" 200 "$SG_STATUS"
}

# Last: no sanitizer report in the stack's logs (see lib.sh).
test_no_sanitizer_reports() { sg_assert_no_sanitizer_reports "$SG_DIR"; }

suite() {
    local t
    for t in test_body_over_limits test_post_without_content_length \
        test_encoded_slash_and_nul_in_path test_overlong_uri \
        test_malformed_header test_trace test_api_answers_unchanged \
        test_site_errors_stay_html test_sessiongate_unreachable \
        test_protected_app_gets_no_sessiongate_cookie \
        test_no_sanitizer_reports; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
