# shellcheck shell=bash
# shellcheck disable=SC2034  # globals for the suites that source this
# tests/integration/api.sh -- helpers for the identity and sessions suites,
# on top of lib.sh (source lib.sh first). Everything works on the stack
# named by SG_DIR/SG_URL, so a test can switch to a second stack.
#
#   api_post PATH BODY [curl args]     POST a JSON body (sg_req)
#   api_auth TOKEN METHOD PATH [curl args]  a request with a bearer token
#   api_email TAG                      a fresh, unique address
#   api_register EMAIL [PASSWORD] [NAME]  201 or fails; sets API_UID
#   api_signin EMAIL [PASSWORD] [curl args]  200 or fails; sets API_TOKEN,
#                                      API_REFRESH, API_SID, API_UID
#   api_new_user TAG                   register + sign in a fresh user; also
#                                      sets API_EMAIL
#   api_set_roles EMAIL ROLE...        change a user's roles (operator CLI,
#                                      or Redis while the CLI is missing)
#   api_round_trips CMD...             run CMD (in this shell) under Redis
#                                      MONITOR; sets API_RT, API_RT_ALL,
#                                      API_RT_STEADY, API_RT_CMDS (below)
#   api_use_stack NAME [SERVER CONF]   switch to (start) another stack
#   api_stop_stack NAME / api_stop_all
#   jwt_part TOKEN N                   decoded header (1) or payload (2)
#   jwt_forge HEADER_JSON PAYLOAD_JSON [sha256|sha512] [KEYFILE]
#                                      a token signed with HMAC (default: the
#                                      stack's jwt.secret)
#   assert_error / assert_common_headers / assert_ratelimit_headers /
#   assert_unauthorized / assert_rfc3339   assertions on the last response

API_PASSWORD='correct horse battery'
API_REDIS_PREFIX=sg:   # key_prefix in tests/stack/sessiongate.conf.in

# Config lines every stack of these suites gets: the suites register and
# sign in far more than the default per-IP limits allow.
API_BASE_CONF='ratelimit_register = 100000/1h ip
ratelimit_signin = 100000/1m ip'
# SG_VERIFY_MODE=local runs every stack with verify_mode = local
# (tests/stack.sh): the suites know what that changes (api_local)

# api_local: the suite runs with verify_mode = local, on a stack that
# can: Apache's mod_fcgid processes (one worker each) and CGI have no
# master to host the revocation reader, and verify in roundtrip mode
# whatever the setting (docs/PERFORMANCE.md, "Where it runs").
api_local() {
    [ "${SG_VERIFY_MODE:-}" = local ] || return 1
    case ${SG_SERVER:-} in apache | cgi) return 1 ;; esac
}

# api_table_current: GET /ready says this host's revocation table is
# current (verify_mode = local answers verify from it, no round trip).
api_table_current() {
    sg_req GET /ready
    [ "$(sg_json .data.checks.revocations)" = current ]
}

# api_written_behind TOKEN COUNT: in verify_mode = local, wait until the
# token's session shows COUNT requests in Redis (local verifies reach it
# with the next activity flush, within activity_flush of the request or
# of the worker's next wait); at once in roundtrip mode.
api_written_behind() {
    local p uid sid
    api_local || return 0
    p=$(jwt_part "$1" 2)
    uid=$(jq -r .sub <<<"$p") sid=$(jq -r .sid <<<"$p")
    sg_poll 60 api_request_count_at_least "$uid" "$sid" "$2" && return 0
    # what a post-mortem needs: the count Redis has, and what the workers
    # said about their flushes
    echo "api_written_behind: request_count $(sg_redis \
        HGET "${API_REDIS_PREFIX}{u:$uid}:s:$sid" request_count), not $2, after 60 s" >&2
    grep -hE 'activity|redis|worker' "$SG_DIR"/*.log 2>/dev/null | tail -n 20 >&2
    return 1
}
api_request_count_at_least() {
    local n
    n=$(sg_redis HGET "${API_REDIS_PREFIX}{u:$1}:s:$2" request_count)
    [ "${n:-0}" -ge "$3" ]
}

REQUEST_ID_RE='^[A-Za-z0-9._-]{1,128}$'
RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
SID_RE='^[0-9a-f]{64}$'

# ---- requests --------------------------------------------------------------

api_post() {
    local path=$1 body=$2
    shift 2
    sg_req POST "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

api_auth() {
    local tok=$1 method=$2 path=$3
    shift 3
    sg_req "$method" "$path" -H "Authorization: Bearer $tok" "$@"
}

# api_signout TOKEN: a POST without a body, with the "Content-Length: 0"
# that browsers send (lighttpd answers 411 to a POST without one).
api_signout() { api_auth "$1" POST /auth/signout -H 'Content-Length: 0'; }

# api_auth_status TOKEN METHOD PATH [curl args]: just the status.
api_auth_status() {
    api_auth "$@"
    echo "$SG_STATUS"
}

API_SEQ=0
api_email() {
    API_SEQ=$((API_SEQ + 1))
    echo "$1-$$-$API_SEQ-$RANDOM@example.com"
}

# json_str S: S as a JSON string literal (for the printable ASCII the
# suites use; jq costs tens of milliseconds a run on a busy machine).
json_str() {
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

# creds_json EMAIL PASSWORD: {"email": EMAIL, "password": PASSWORD}
creds_json() { printf '{"email":%s,"password":%s}' "$(json_str "$1")" "$(json_str "$2")"; }

api_register() {
    local body
    body=$(creds_json "$1" "${2:-$API_PASSWORD}")
    [ -n "${3:-}" ] && body="${body%\}},\"name\":$(json_str "$3")}"
    api_post /auth/register "$body"
    API_UID=$(sg_json .data.user.id)
    [ "$SG_STATUS" = 201 ] || { echo "api_register $1: $SG_STATUS $SG_BODY" >&2; return 1; }
}

api_signin() {
    local email=$1 pw=${2:-$API_PASSWORD} body
    shift 2 2>/dev/null || shift $#
    body=$(creds_json "$email" "$pw")
    api_post /auth/signin "$body" "$@"
    read -r API_TOKEN API_REFRESH API_SID API_UID < <(sg_json \
        '[.data.access_token, .data.refresh_token, .data.session_id, .data.user.id] | map(. // "-") | join(" ")')
    [ "$SG_STATUS" = 200 ] || { echo "api_signin $email: $SG_STATUS $SG_BODY" >&2; return 1; }
}

api_refresh() {
    api_post /auth/refresh "{\"refresh_token\":$(json_str "$1")}"
}

api_new_user() {
    API_EMAIL=$(api_email "$1")
    api_register "$API_EMAIL" && api_signin "$API_EMAIL"
}

# ---- roles -----------------------------------------------------------------

# api_set_roles EMAIL ROLE...: the operator CLI (`sessiongate user roles`)
# once it exists; until then the user's hash in Redis directly (the key
# layout of src/store_users.c). Roles are read from the token: sign in again.
api_set_roles() {
    local email=$1 out uid
    shift
    out=$("$SG_BIN" user roles "$email" "$@" --config "$SG_DIR/sessiongate.conf" 2>&1) && return 0
    case $out in
    *"unexpected argument 'user'"*)
        uid=$(sg_redis GET "${API_REDIS_PREFIX}email:$(tr 'A-Z' 'a-z' <<<"$email")")
        [ -n "$uid" ] || { echo "api_set_roles: no user $email" >&2; return 1; }
        sg_redis HSET "${API_REDIS_PREFIX}{u:$uid}:user" roles "$(IFS=,; echo "$*")" >/dev/null
        ;;
    *)
        echo "api_set_roles: sessiongate user roles failed: $out" >&2
        return 1
        ;;
    esac
}

# ---- Redis round trips -----------------------------------------------------

API_MON_PID=

# api_round_trips CMD...: MONITOR shows every command a client sends, and
# the commands a script runs as "[db lua]" (INFO commandstats counts those
# too, so it cannot tell one FCALL from a pipeline). MONITOR's "OK" tells
# when it is on; a marker sent after CMD tells when it has shown everything
# (both polled, with bounds no loaded machine reaches). Sets:
#   API_RT_ALL   every command clients sent while CMD ran
#   API_RT       the same without connection setup (FUNCTION LOAD/LIST,
#                SCRIPT LOAD/EXISTS, SELECT, AUTH, CLIENT, HELLO), which a
#                worker started on
#                demand (mod_fcgid, CGI) sends before serving the request
#   API_RT_CMDS  the commands, 60 characters each (API_RT_REQ_CMDS: those
#                of API_RT)
#   API_RT_STEADY  API_RT_ALL, or API_RT for CGI (a process per request)
# In verify_mode = local the host's revocation reader (XREAD, XREVRANGE,
# the stream's epoch) and the activity flush (touch.lua, whose first key
# is the stream) talk to Redis on their own time: not a request's.
API_RT_SETUP_RE='^"(SCRIPT|FUNCTION|SELECT|AUTH|CLIENT|HELLO)"'
API_RT_BEHIND_RE='^"(XREAD|XREVRANGE)"|"'"${API_REDIS_PREFIX}"'revocations:epoch"|^"(EVALSHA|FCALL)" "[0-9a-z_]+" "[0-9]+" "'"${API_REDIS_PREFIX}"'revocations"'
api_round_trips() {
    local mon=$SG_DIR/monitor.out marker="sg-rt-marker-$$-$RANDOM" n=0 a
    local -a nodes
    # every node the stack has (a cluster's masters: commands to any of
    # them count), each with a MONITOR of its own
    mapfile -t nodes < <(sg_redis_nodes)
    API_MON_PID=
    for a in "${nodes[@]}"; do
        n=$((n + 1))
        : >"$mon.$n"
        # shellcheck disable=SC2086
        redis-cli $a monitor >"$mon.$n" 2>&1 &
        API_MON_PID="$API_MON_PID $!"
        sg_poll 60 grep -q '^OK' "$mon.$n" || echo "api_round_trips: MONITOR did not start" >&2
    done
    "$@"
    n=0
    for a in "${nodes[@]}"; do
        n=$((n + 1))
        # shellcheck disable=SC2086
        redis-cli $a echo "$marker" >/dev/null
        sg_poll 60 grep -qF "$marker" "$mon.$n" || echo "api_round_trips: MONITOR did not show the marker" >&2
    done
    api_monitor_stop
    API_RT_CMDS=$(cat "$mon".* | grep -E '^[0-9]+\.[0-9]+ \[' | grep -v -E '^[0-9.]+ \[[0-9]+ lua\]' |
        grep -vF "$marker" | cut -d' ' -f4- | grep -vE "$API_RT_BEHIND_RE" | cut -c1-60)
    rm -f "$mon".*
    API_RT_ALL=$(grep -c . <<<"$API_RT_CMDS")
    API_RT_REQ_CMDS=$(grep -ivE "$API_RT_SETUP_RE" <<<"$API_RT_CMDS")
    API_RT=$(grep -c . <<<"$API_RT_REQ_CMDS")
    [ -n "$API_RT_CMDS" ] || API_RT_ALL=0 API_RT=0
    API_RT_STEADY=$API_RT_ALL
    [ "${SG_SERVER:-}" = cgi ] && API_RT_STEADY=$API_RT
    return 0
}

api_monitor_stop() {
    local p
    [ -n "${API_MON_PID// /}" ] || return 0
    for p in $API_MON_PID; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    API_MON_PID=
}

# ---- several stacks ----------------------------------------------------------

# Tests that need another config get a stack of their own (about half a
# second to start on an idle machine): api_use_stack NAME SERVER CONF starts it the first time
# (API_BASE_CONF + CONF) and makes it current (SG_DIR, SG_URL, SG_PORT);
# the next api_use_stack NAME switches back to it. "main" is the suite's
# own stack (api_suite_start). api_stop_stack NAME stops one (and makes
# "main" current), api_stop_all every one.
declare -gA API_STACK_DIR=() API_STACK_URL=() API_STACK_PORT=()
API_STACK=

api_suite_start() { api_use_stack main "$1" "${2:-}"; }

api_use_stack() {
    local name=$1
    [ "$API_STACK" = "$name" ] && [ -n "$SG_DIR" ] && return 0
    if [ -n "$API_STACK" ]; then
        API_STACK_DIR[$API_STACK]=$SG_DIR
        API_STACK_URL[$API_STACK]=$SG_URL
        API_STACK_PORT[$API_STACK]=$SG_PORT
    fi
    API_STACK=$name
    if [ -n "${API_STACK_DIR[$name]:-}" ]; then
        SG_DIR=${API_STACK_DIR[$name]} SG_URL=${API_STACK_URL[$name]} SG_PORT=${API_STACK_PORT[$name]}
        return 0
    fi
    [ $# -ge 2 ] || { echo "api_use_stack: no stack '$name'" >&2; return 1; }
    SG_DIR='' SG_URL='' SG_PORT=''
    SG_STACK_EXTRA_CONF="$API_BASE_CONF
${3:-}" sg_stack_start "$2"
    local rc=$?
    # remembered even on failure, so that api_stop_all removes its directory
    API_STACK_DIR[$name]=$SG_DIR API_STACK_URL[$name]=$SG_URL API_STACK_PORT[$name]=$SG_PORT
    [ $rc = 0 ] || echo "api.sh: cannot start the '$name' $2 stack with: ${3:-}" >&2
    return $rc
}

api_stop_stack() {
    local name=$1
    [ -n "${API_STACK_DIR[$name]:-}" ] || return 0
    api_monitor_stop
    api_use_stack "$name"
    sg_stack_stop
    unset "API_STACK_DIR[$name]" "API_STACK_URL[$name]" "API_STACK_PORT[$name]"
    API_STACK='' SG_DIR='' SG_URL='' SG_PORT=''
    [ "$name" = main ] || [ -z "${API_STACK_DIR[main]:-}" ] || api_use_stack main
}

# For oneTimeTearDown (also run from shunit2's EXIT trap).
api_stop_all() {
    local name
    api_monitor_stop
    [ -n "$API_STACK" ] && [ -n "$SG_DIR" ] && API_STACK_DIR[$API_STACK]=$SG_DIR
    for name in "${!API_STACK_DIR[@]}"; do
        [ "$name" = main ] || api_stop_stack "$name"
    done
    api_stop_stack main
}

# ---- JWT ---------------------------------------------------------------------

if command -v basenc >/dev/null 2>&1; then
    b64url() { basenc --base64url -w0 | tr -d '='; }
else
    b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
fi
b64url_decode() {
    local s
    s=$(tr -- '-_' '+/')
    case $((${#s} % 4)) in 2) s="$s==" ;; 3) s="$s=" ;; esac
    printf '%s' "$s" | base64 -d 2>/dev/null
}

# jwt_part TOKEN N: part N (1 header, 2 payload) decoded.
jwt_part() { cut -d. -f"$2" <<<"$1" | tr -d '\n' | b64url_decode; }

# jwt_forge HEADER PAYLOAD [sha256|sha384|sha512] [KEYFILE]
declare -gA API_HEXKEY=()
jwt_forge() {
    local h p md=${3:-sha256} key=${4:-$SG_DIR/jwt.secret} sig hex
    # the stack's secret never changes: read it once per stack
    hex=${API_HEXKEY[$key]:-}
    [ -n "$hex" ] || hex=$(od -An -v -tx1 "$key" | tr -d ' \n')
    [ "$key" = "$SG_DIR/jwt.secret" ] && API_HEXKEY[$key]=$hex
    h=$(printf '%s' "$1" | b64url)
    p=$(printf '%s' "$2" | b64url)
    sig=$(printf '%s.%s' "$h" "$p" |
        openssl dgst "-$md" -mac HMAC -macopt "hexkey:$hex" -binary | b64url)
    printf '%s.%s.%s' "$h" "$p" "$sig"
}

# ---- assertions ------------------------------------------------------------

# hdr NAME: like sg_hdr (the last value of header NAME in the last
# response), in bash alone: the suites read many headers.
hdr() {
    local name=${1,,} line k v=
    while IFS= read -r line; do
        line=${line%$'\r'}
        case $line in HTTP/*) v=; continue ;; esac
        k=${line%%:*}
        [ "$k" != "$line" ] && [ "${k,,}" = "$name" ] || continue
        v=${line#*:}
        v=${v#"${v%%[! $'\t']*}"}
        v=${v%"${v##*[! $'\t']}"}
    done <"$SG_HDRS"
    printf '%s' "$v"
}

assert_common_headers() {
    local what=$1 id
    assertEquals "$what: Content-Type" 'application/json; charset=utf-8' "$(hdr Content-Type)"
    assertEquals "$what: Cache-Control" 'no-store' "$(hdr Cache-Control)"
    assertEquals "$what: X-Content-Type-Options" 'nosniff' "$(hdr X-Content-Type-Options)"
    id=$(hdr X-Request-ID)
    [[ $id =~ $REQUEST_ID_RE ]] || fail "$what: X-Request-ID '$id' is not sane"
}

# One jq run for the envelope of an error.
assert_error() {
    local what=$1 status=$2 code=$3 got
    assertEquals "$what: status (body: $SG_BODY)" "$status" "$SG_STATUS"
    got=$(sg_json '[.success, .error.code, (.error.message | type)] | map(tostring) | join(" ")')
    assertEquals "$what: success, error.code, error.message type (body: $SG_BODY)" "false $code string" "$got"
    assert_common_headers "$what"
}

assert_ok() {
    local what=$1 status=${2:-200}
    assertEquals "$what: status (body: $SG_BODY)" "$status" "$SG_STATUS"
    assertEquals "$what: success" true "$(sg_json .success)"
    assert_common_headers "$what"
}

# 401 UNAUTHORIZED with the RFC 6750 challenge.
assert_unauthorized() {
    assert_error "$1" 401 UNAUTHORIZED
    assertEquals "$1: WWW-Authenticate" 'Bearer error="invalid_token"' "$(hdr WWW-Authenticate)"
}

# assert_ratelimit_headers WHAT [LIMIT]: the three headers, sane values.
# The reset is an epoch between the request's start and a day after its
# end (sg_req's SG_REQ_T0/T1: however long the request took).
assert_ratelimit_headers() {
    local what=$1 l r reset t0=$SG_REQ_T0 t1=$SG_REQ_T1
    l=$(hdr X-RateLimit-Limit)
    r=$(hdr X-RateLimit-Remaining)
    reset=$(hdr X-RateLimit-Reset)
    [[ $l =~ ^[0-9]+$ ]] || fail "$what: X-RateLimit-Limit '$l' is not a number"
    [ -n "${2:-}" ] && assertEquals "$what: X-RateLimit-Limit" "$2" "$l"
    [[ $r =~ ^[0-9]+$ ]] && [ "$r" -le "${l:-0}" ] || fail "$what: X-RateLimit-Remaining '$r' not in 0..$l"
    [[ $reset =~ ^[0-9]+$ ]] && [ "$reset" -ge $((t0 - 1)) ] && [ "$reset" -le $((t1 + 86400 + 1)) ] ||
        fail "$what: X-RateLimit-Reset '$reset' is not an epoch between the request ($t0..$t1) and a day later"
}

assert_rfc3339() {
    [[ $2 =~ $RFC3339_RE ]] || fail "$1: '$2' is not an RFC 3339 UTC time"
}

# epoch of an RFC 3339 time
epoch_of() { date -u -d "$(sed 's/T/ /; s/Z$//' <<<"$1")" +%s 2>/dev/null; }

# n_times N CMD...: CMD succeeds N times in a row.
n_times() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do "$@" || return 1; done
}

ready_ok() { [ "$(sg_status GET /ready)" = 200 ]; }

# body_has ERE: the last response body matches (case-insensitive).
body_has() { grep -qiE -- "$1" <<<"$SG_BODY"; }

# flip_char STR POS: STR with the character at POS (negative: from the end)
# replaced by another base64url character.
flip_char() {
    local s=$1 i=$2 c
    [ "$i" -lt 0 ] && i=$((${#s} + i))
    c=${s:i:1}
    if [ "$c" = A ]; then c=B; else c=A; fi
    printf '%s%s%s' "${s:0:i}" "$c" "${s:i+1}"
}

# setUp/tearDown: each test's wall time, as a TAP-style comment.
api_test_start() { API_T0=$(date +%s%N); }
api_test_end() {
    [ -n "${API_T0:-}" ] || return 0
    printf '#   %d ms\n' $((($(date +%s%N) - API_T0) / 1000000))
}
