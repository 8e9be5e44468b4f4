#!/bin/bash
# bench/profile.sh -- instructions per request of one sessiongate path,
# counted by valgrind's callgrind in a worker behind nginx.
#
#   bench/profile.sh [--path /auth/verify] [--requests 2000] [--top 25]
#                    [--local] [--keep]
#
# Starts the nginx stack of tests/stack.sh with sessiongate standalone
# under `valgrind --tool=callgrind` (one process, --workers 0), registers
# a user and signs in (bearer token for every path but /health), sends
# --requests sequential requests to --path on one kept-alive connection,
# stops the worker with SIGTERM and prints the instructions per request
# (the accept loop's inclusive count after the sign-in, which callgrind
# dumps apart, over --requests) and the functions costing the most per
# request (inclusive). Instruction counts are deterministic: this is the
# figure to compare before and after a change (docs/PERFORMANCE.md).
# Valgrind hides SHA-NI from OpenSSL, so SHA-256 counts are those of the
# generic code. --local profiles verify_mode = local: a master, its
# revocation reader and one worker (--workers 1) all run under callgrind
# and the worker's profile is the one read. Loopback and unix sockets
# only.
#
# Environment: SG_BIN (default src/sessiongate), TMPDIR.

set -u
LC_ALL=C
export LC_ALL

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
STACK=$TOP/tests/stack.sh
SG_BIN=${SG_BIN:-$TOP/src/sessiongate}
# shellcheck source=../tests/integration/lib.sh
. "$TOP/tests/integration/lib.sh"

ROUTE=/auth/verify
REQUESTS=2000
TOP_N=25
KEEP=0
LOCAL=0

die() { echo "profile.sh: $*" >&2; exit 2; }
usage() { sed -n '5,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
    --path) ROUTE=${2:-}; shift 2 || usage ;;
    --requests) REQUESTS=${2:-}; shift 2 || usage ;;
    --top) TOP_N=${2:-}; shift 2 || usage ;;
    --keep) KEEP=1; shift ;;
    --local) LOCAL=1; shift ;;
    -h | --help) usage ;;
    *) echo "profile.sh: unknown option '$1'" >&2; usage ;;
    esac
done
[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || die "--requests takes a positive integer"
[[ $TOP_N =~ ^[1-9][0-9]*$ ]] || die "--top takes a positive integer"
case $ROUTE in /*) ;; *) die "--path must start with /" ;; esac
for t in valgrind callgrind_annotate curl nginx redis-server; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed"
done
[ -x "$SG_BIN" ] || die "$SG_BIN is not built (make, or set SG_BIN)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-profile.XXXXXX") || die "mktemp failed"
chmod 0755 "$WORK"
SD=$WORK/stack

cleanup() {
    trap - EXIT INT TERM
    [ -d "$SD/pids" ] && "$STACK" stop --dir "$SD" >/dev/null 2>&1
    if [ $KEEP = 1 ]; then
        echo "profile.sh: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The stack runs SG_BIN as the app user: a wrapper that runs a copy of the
# binary under callgrind, writing into a directory that user can write.
mkdir -p "$WORK/bin" "$WORK/cg"
chmod 0777 "$WORK/cg"
cp "$SG_BIN" "$WORK/bin/sessiongate.real"
cat >"$WORK/bin/sessiongate" <<EOF
#!/bin/sh
exec valgrind -q --tool=callgrind --callgrind-out-file=$WORK/cg/callgrind.out.%p \\
    --dump-after=sg_handle_signin \\
    $WORK/bin/sessiongate.real "\$@"
EOF
chmod 0755 "$WORK/bin" "$WORK/bin/sessiongate" "$WORK/bin/sessiongate.real"

# no rate limit in the way of N requests
CONF="ratelimit_user = off
ratelimit_signin = off
ratelimit_register = off"
workers=0
if [ $LOCAL = 1 ]; then
    CONF="$CONF
verify_mode = local"
    workers=1
fi
url=$(SG_BIN=$WORK/bin/sessiongate SG_STACK_WORKERS=$workers SG_STACK_TIMEOUT=60 \
    SG_STACK_EXTRA_CONF=$CONF sg_stack_start_at nginx "$SD") ||
    die "the stack did not start"

email=profile@example.com password=profile-password-0123456789
creds="{\"email\":\"$email\",\"password\":\"$password\"}"
curl -s -o /dev/null --max-time 60 -H 'Content-Type: application/json' \
    --data-binary "$creds" "$url/auth/register"
body=$(curl -s --max-time 60 -H 'Content-Type: application/json' \
    --data-binary "$creds" "$url/auth/signin")
token=$(printf '%s' "$body" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || die "sign-in failed: $body"

# N sequential requests on one connection: a curl config with N urls.
cfg=$WORK/curl.cfg
{
    echo 'silent'
    echo "output = \"/dev/null\""
    [ "$ROUTE" = /health ] || echo "header = \"Authorization: Bearer $token\""
    for ((i = 0; i < REQUESTS; i++)); do
        echo "url = \"$url$ROUTE\""
        echo "output = \"/dev/null\""
    done
    echo 'write-out = "%{http_code}\n"'
} >"$cfg"
codes=$(curl --max-time 600 -K "$cfg" | sort | uniq -c | tr '\n' ' ')
case $codes in
"  "*"$REQUESTS 200 ") ;;
*) die "expected $REQUESTS answers 200, got: $codes" ;;
esac

# Redis' own time per script call (includes the commands the script runs)
rstats=$(redis-cli -s "$SD/redis.sock" info commandstats 2>/dev/null | tr -d '\r' |
    sed -n 's/^cmdstat_\(fcall\|evalsha\|eval\):calls=\([0-9]*\),usec=[0-9]*,usec_per_call=\([0-9.]*\).*/\1 \2 calls, \3 us per call/p')

# SIGTERM: the worker finishes and callgrind writes its file
pid=$(cat "$SD/pids/sessiongate")
kill -TERM "$pid" 2>/dev/null
for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
# the last part of the process that served the sign-in (the one with a
# part dumped after it): what ran after the sign-in's handler returned
out=
for f in "$WORK"/cg/callgrind.out.*.1; do
    [ -e "$f" ] && out=${f%.1}
done
[ -n "$out" ] && [ -s "$out" ] || die "callgrind wrote no profile"

ann=$WORK/annotate.txt
callgrind_annotate --inclusive=yes --threshold=100 "$out" >"$ann" 2>/dev/null ||
    die "callgrind_annotate failed"
# inclusive Ir of a function, by the name in its "file:function" column
ir_of() {
    awk -v f="$1" '{ c = $1; gsub(",", "", c); n = $0; sub(/^[^)]*\) */, "", n); sub(/ .*/, "", n) }
        c ~ /^[0-9]+$/ && n ~ (":" f "$") { print c; exit }' "$ann"
}
serve=$(ir_of sg_fcgi_serve)
[ -n "$serve" ] || die "no sg_fcgi_serve in the profile"
per=$((serve / REQUESTS))

echo "profile: GET $ROUTE, $REQUESTS requests through nginx, one worker under callgrind$([ $LOCAL = 1 ] && echo ', verify_mode = local')"
echo "instructions per request: $per"
echo "redis-server, INFO commandstats: ${rstats:-no script calls}"
echo
echo "inclusive instructions per request, top $TOP_N:"
awk -v n="$REQUESTS" -v top="$TOP_N" '
    { c = $1; gsub(",", "", c); name = $0; sub(/^[^)]*\) */, "", name); sub(/ .*/, "", name) }
    c ~ /^[0-9]+$/ && name != "PROGRAM" {
        sub(/^.*:/, "", name)
        if (seen[name]++) next
        if (name ~ /^(main|__libc_start|_start|run_fastcgi|sg_server_run|serve_in_process|0x|\(below)/) next
        if (c >= n * 100 && shown < top) {
            printf "%10d  %s\n", c / n, name; shown++ }
    }' "$ann"
