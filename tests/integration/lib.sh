# shellcheck shell=bash
# tests/integration/lib.sh -- shared helpers for the shunit2 integration
# suites (bash). Source it, then call the sg_* functions:
#
#   sg_require SERVER          skip the suite (exit 77) if a tool is missing
#   sg_suite_server SUITE SERVER...  SG_SERVER must be one of them; then
#                              sg_require, and fcgiwrap for nginx
#   sg_stack_start SERVER      start tests/stack.sh in a fresh temp dir on a
#                              free port (retried on another port if taken);
#                              sets SG_DIR, SG_URL, SG_PORT
#   sg_stack_stop              stop it and remove SG_DIR (idempotent; keeps
#                              SG_DIR when SG_KEEP=1, shows the logs when a
#                              test failed)
#   sg_stack CMD [ARGS]        tests/stack.sh CMD --dir SG_DIR ARGS
#   sg_req METHOD PATH [curl args]   one request to SG_URL/PATH; sets
#                              SG_STATUS, SG_BODY and the header file SG_HDRS
#                              (a transfer error makes SG_STATUS "CODE+curlRC"),
#                              and SG_REQ_T0/SG_REQ_T1, the epoch seconds
#                              just before and just after it (bounds for a
#                              time the answer carries, however slow it was)
#   sg_hdr NAME                a response header of the last sg_req
#   sg_json FILTER             jq -r FILTER on SG_BODY ("<invalid json>" if not JSON)
#   sg_status METHOD PATH [curl args]  prints just the status
#   sg_site_req METHOD PATH [curl args]  sg_req with PATH relative to the
#                              site root (http://127.0.0.1:PORT: the sign-in
#                              page, /private/) instead of SG_URL
#   sg_site                    prints that site root (no trailing slash)
#   sg_poll SECONDS CMD...     run CMD until it succeeds, at most SECONDS
#                              (the bound is for a broken stack: make it
#                              far longer than the wait ever is, e.g. 60)
#   sg_json_body N             a JSON object of exactly N bytes
#
# Environment: SG_BIN (the binary under test; default src/sessiongate in
# this source tree), SG_KEEP=1 (keep the stack's directory for a
# post-mortem), SG_CURL_TIMEOUT (default 60 s: a bound for a hung
# request, never reached by a slow one on a loaded machine),
# SG_STACK_TIMEOUT (tests/stack.sh's start timeout; its default is generous
# too), SG_SKIP_INTEGRATION=1 (skip: exit 77). tests/stack.sh and the
# shipped configs are found next to this file.
#
# Nothing here or in the suites may depend on the machine's speed: wait for
# something asynchronous with sg_poll (never a bare sleep), give windows
# and timeouts far more than a test needs, and make an expiry happen by
# ageing what Redis stores (a key's TTL, a window's entries) rather than by
# waiting for the clock.

# The source tree is where this file is (also in a VPATH build, where
# make check exports SG_BIN, the binary in the build tree).
SG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SG_BIN=${SG_BIN:-$SG_TOP/src/sessiongate}
SG_STACK=$SG_TOP/tests/stack.sh
# sg_pick_port, sg_port_listening, sg_tls_certs
# shellcheck source=tests/net.sh
. "$SG_TOP/tests/net.sh"
SG_CURL_TIMEOUT=${SG_CURL_TIMEOUT:-60}
export SG_BIN

SG_DIR=
SG_URL=
SG_PORT=
SG_STATUS=
SG_BODY=
SG_HDRS=
SG_REQ_T0=
SG_REQ_T1=

# shunit2 finds a suite's tests by reading $0, which for the per-server
# wrappers (foo-nginx.sh sourcing foo.sh) holds none: the suite would
# report "Ran 0 tests. OK". A suite that defines no suite() of its own gets
# this one: the test_ functions of the file that sourced lib.sh, in the
# order they are written (tests may rely on it).
SG_SUITE_FILE=${BASH_SOURCE[1]:-$0}
suite() {
    local t
    for t in $(sed -n 's/^\(test_[A-Za-z0-9_]*\)[[:space:]]*()[[:space:]]*{.*/\1/p' "$SG_SUITE_FILE"); do
        suite_addTest "$t"
    done
}

# The automake convention: 77 marks the whole test as skipped.
sg_skip_suite() {
    echo "SKIP: $*" >&2
    exit 77
}

# sg_require SERVER: the tools the suite needs, or skip it.
sg_require() {
    local t
    case ${SG_SKIP_INTEGRATION:-} in
    '' | 0 | no) ;;
    *) sg_skip_suite "SG_SKIP_INTEGRATION is set" ;;
    esac
    for t in curl jq redis-server redis-cli; do
        command -v "$t" >/dev/null 2>&1 || sg_skip_suite "$t is not installed"
    done
    case $1 in
    lighttpd) t=lighttpd ;;
    apache | cgi) t=apache2 ;;
    nginx) t=nginx ;;
    *) echo "lib.sh: unknown server '$1'" >&2; exit 1 ;;
    esac
    command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$t" >/dev/null 2>&1 || sg_skip_suite "$t is not installed"
    if [ "$1" = apache ] && [ ! -e /usr/lib/apache2/modules/mod_fcgid.so ]; then
        sg_skip_suite "mod_fcgid is not installed (libapache2-mod-fcgid)"
    fi
    [ -x "$SG_BIN" ] || { echo "lib.sh: $SG_BIN is not built (set SG_BIN)" >&2; exit 1; }
}

# sg_suite_server SUITE SERVER...: the suite runs on SG_SERVER, one of
# SERVER...; skip it when a tool is missing (sg_require), fcgiwrap too on
# nginx, which runs the protected CGI through it (under CI=true a missing
# fcgiwrap fails: tests/debian-deps.sh must install it).
sg_suite_server() {
    local suite=$1 s ok=
    shift
    for s in "$@"; do [ "${SG_SERVER:-}" = "$s" ] && ok=1; done
    [ -n "$ok" ] || { echo "$suite: set SG_SERVER ($*)" >&2; exit 1; }
    sg_require "$SG_SERVER"
    if [ "$SG_SERVER" = nginx ] && ! command -v fcgiwrap >/dev/null 2>&1; then
        case ${CI:-} in
        true | 1 | yes) echo "FAIL: fcgiwrap is not installed (CI=true: tests/debian-deps.sh must install it)" >&2; exit 1 ;;
        esac
        sg_skip_suite "fcgiwrap is not installed (Debian package fcgiwrap)"
    fi
}

# sg_redis ARGS...: redis-cli to the stack's data: SG_DIR/redis.sock, or
# on a cluster its first master's port with -c (which follows MOVED, so a
# command naming a key reaches the master of its slot; redis-cli takes no
# -c with a socket)
sg_redis() {
    local p
    p=$(sed -n 's/^REDIS_PORTS=\([0-9]*\).*/\1/p' "$SG_DIR/stack.state" 2>/dev/null)
    if [ -n "$p" ] && grep -qx 'REDIS=cluster.*' "$SG_DIR/stack.state"; then
        # shellcheck disable=SC2046
        redis-cli -c -h 127.0.0.1 -p "$p" $(sg_redis_tls_args "$SG_DIR") "$@"
    else
        redis-cli -s "$SG_DIR/redis.sock" "$@"
    fi
}

# sg_redis_tls_args DIR: redis-cli's TLS arguments for the stack's TCP
# ports, none if they are plain
sg_redis_tls_args() {
    grep -qx 'REDIS=cluster-tls' "$1/stack.state" 2>/dev/null || return 0
    echo "--tls --cacert $1/tls/ca.pem"
}

# sg_redis_nodes [DIR]: redis-cli's address arguments, a line for each
# Redis node of the stack in DIR (default: the current one): its socket,
# and a cluster's other masters by port
sg_redis_nodes() {
    local d=${1:-$SG_DIR} p first=1
    echo "-s $d/redis.sock"
    grep -qx 'REDIS=cluster.*' "$d/stack.state" 2>/dev/null || return 0
    for p in $(sed -n 's/^REDIS_PORTS=//p' "$d/stack.state"); do
        [ -n "$first" ] && { first=; continue; }
        echo "-h 127.0.0.1 -p $p $(sg_redis_tls_args "$d")"
    done
}

# sg_redis_is SHAPE: the stacks run on that shape of Redis (SG_STACK_REDIS:
# plain, tls, cluster or cluster-tls, which is both cluster and tls)
sg_redis_is() { [[ -${SG_STACK_REDIS:-plain}- == *-"$1"-* ]]; }

sg_stack() {
    local cmd=$1
    shift
    "$SG_STACK" "$cmd" --dir "$SG_DIR" "$@"
}

# sg_stack_start_at SERVER DIR: start a stack in DIR on a free port and
# print its base URL; up to 5 ports, any failure but "port taken" is
# final. The stack's environment (SG_BIN, SG_STACK_*) is the caller's.
sg_stack_start_at() {
    local server=$1 dir=$2 port url rc _
    for _ in 1 2 3 4 5; do
        port=$(sg_pick_port) || return 1
        url=$("$SG_STACK" start "$server" --port "$port" --dir "$dir")
        rc=$?
        [ $rc = 0 ] && { echo "$url"; return 0; }
        [ $rc = 3 ] || return 1
        echo "lib.sh: port $port taken, retrying" >&2
    done
    return 1
}

# sg_stack_start SERVER: a stack in a new temp dir; sets SG_DIR, SG_URL
# and SG_PORT.
sg_stack_start() {
    local server=$1
    SG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sg-$server.XXXXXX") || return 1
    SG_URL=$(sg_stack_start_at "$server" "$SG_DIR") || return 1
    SG_PORT=${SG_URL#http://127.0.0.1:}
    SG_PORT=${SG_PORT%%/*}
}

sg_stack_stop() {
    [ -n "$SG_DIR" ] && [ -d "$SG_DIR" ] || return 0
    if [ "${__shunit_testsFailed:-0}" -gt 0 ] 2>/dev/null; then
        echo "---- logs of the stack in $SG_DIR" >&2
        "$SG_STACK" logs --dir "$SG_DIR" >&2
    fi
    [ -s "$SG_DIR/stack.state" ] && "$SG_STACK" stop --dir "$SG_DIR"
    if [ "${SG_KEEP:-0}" = 1 ]; then
        echo "lib.sh: kept $SG_DIR" >&2
    else
        rm -rf "$SG_DIR"
    fi
    SG_DIR=
}

# sg_req METHOD PATH [curl args...]. PATH is relative to SG_URL. HEAD is
# sent as a real HEAD (curl --head, which reads no body: SG_BODY is empty).
sg_req() {
    local method=$1 path=$2 out rc body=$SG_DIR/last.body
    shift 2
    SG_HDRS=$SG_DIR/last.headers
    : >"$SG_HDRS"
    : >"$body"
    if [ "$method" = HEAD ]; then
        set -- --head "$@"
        body=/dev/null
    else
        set -- -X "$method" "$@"
    fi
    printf -v SG_REQ_T0 '%(%s)T' -1
    # no "Expect: 100-continue" round trip for bodies over 1 KiB
    out=$(curl -sS --max-time "$SG_CURL_TIMEOUT" -H 'Expect:' -o "$body" \
        -D "$SG_HDRS" -w '%{http_code}' "$@" "$SG_URL$path" 2>"$SG_DIR/last.curl")
    rc=$?
    printf -v SG_REQ_T1 '%(%s)T' -1
    SG_STATUS=$out
    SG_BODY=
    [ "$body" = /dev/null ] || SG_BODY=$(<"$body")
    if [ $rc != 0 ]; then
        # A broken transfer fails any status check, and says why:
        # "413+curl18" is a 413 whose response was cut short.
        SG_STATUS="$out+curl$rc"
        echo "# $method $path: $(tr -d '\n' <"$SG_DIR/last.curl")" >&2
        return 1
    fi
}

sg_status() {
    sg_req "$@"
    echo "$SG_STATUS"
}

# The site root the stack serves: SG_URL without its /api/v1 mount.
sg_site() { printf '%s' "${SG_URL%/api/v1}"; }

# sg_site_req METHOD PATH [curl args...]: sg_req on the site root.
sg_site_req() {
    local site=${SG_URL%/api/v1}
    local SG_URL=$site
    sg_req "$@"
}

# sg_hdr NAME: value of the (last) response header NAME, CR stripped.
sg_hdr() {
    awk -v name="$1" 'BEGIN { name = tolower(name) }
        { sub(/\r$/, "") }
        /^HTTP\// { v = ""; found = 0; next }   # a new response (1xx first)
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == name) {
              v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v); found = 1 } }
        END { if (found) print v }' "$SG_HDRS"
}

sg_json() {
    printf '%s' "$SG_BODY" | jq -r "$1" 2>/dev/null || echo "<invalid json>"
}

# sg_poll SECONDS CMD...: bounded poll, 0.1 s between tries.
sg_poll() {
    local deadline=$((SECONDS + $1))
    shift
    while :; do
        "$@" && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# sg_json_body N: {"email":"...","password":"xxx..."} of exactly N bytes
# (N >= 50): a well-formed body whose size alone decides 413 or not.
sg_json_body() {
    local head='{"email":"body-size@example.com","password":"' tail='"}' n
    n=$(($1 - ${#head} - ${#tail}))
    printf '%s%s%s' "$head" "$(head -c "$n" /dev/zero | tr '\0' x)" "$tail"
}

# sg_assert_no_sanitizer_reports DIR: a build with -fsanitize=... reports to
# stderr, i.e. the web server's error log in DIR, instead of failing the
# request: fail the test if any log there holds a report.
sg_assert_no_sanitizer_reports() {
    local hits
    hits=$(grep -h -E 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$1"/*.log 2>/dev/null | head -5)
    assertEquals "sanitizer reports in the logs" "" "$hits"
}

# sg_require_tool TOOL PACKAGE: skip the suite without TOOL, except under
# CI=true, where tests/debian-deps.sh must have installed PACKAGE: fail.
sg_require_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    case ${CI:-} in
    true | 1 | yes) echo "FAIL: $1 is not installed (CI=true: tests/debian-deps.sh must install $2)" >&2; exit 1 ;;
    esac
    sg_skip_suite "$1 is not installed (Debian package $2)"
}
