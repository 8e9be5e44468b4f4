#!/bin/bash
# bench/run.sh -- how close sessiongate runs to the web server's ceiling.
#
#   bench/run.sh [--quick] [--cgi] [--servers "nginx lighttpd apache"]
#                [--conns "16 64"] [--rounds 3] [--duration 5]
#                [--signin-duration 8] [--signin-conns 4]
#                [--iterations 600000] [--workers 4/core] [--threads 1] [--keep]
#                [--tsv FILE]
#
# For each server it starts two stacks with tests/stack.sh, on loopback:
# sessiongate (the target) and bench/hello (the ceiling: a FastCGI loop
# printing a fixed JSON body) behind the very same server config. Rate
# limits are off, the password hash runs at --iterations (default: the
# shipped pbkdf2_iterations, 600000). It registers two users, signs one in,
# and runs wrk (bench/*.lua), alternating ceiling and target runs, for
# --rounds rounds at each of --conns connections:
#   hello   GET the ceiling          verify    GET /auth/verify (bearer)
#   hello-rt  the ceiling plus one Redis PING per request (GET .../redis)
#   health  GET /health              sessions  GET /sessions (bearer)
#   gate    GET /private/index.html (a static file) on the ceiling's
#           stack, its authorizer the hello (nginx auth_request, lighttpd's
#           FastCGI authorizer, Apache's FcgidAccessChecker): the
#           authorizer ceiling
#   private the same file behind sessiongate as the authorizer (its ratio
#           is to gate's); priv-loc the same in verify_mode = local
#   local   verify on a third stack, verify_mode = local (not CGI, not
#           Apache: one worker per mod_fcgid process, no reader)
#   limited verify on a fourth, with the per-user limit's counter on
#           (ratelimit_user = 1000000/1s: counted, never reached)
#   cluster verify through a Redis Cluster of three masters (on a fifth
#           stack, SG_STACK_REDIS=cluster; its note is to verify's rate,
#           and it runs right after verify in each round)
#   tls     verify over TLS to Redis (a sixth, SG_STACK_REDIS=tls; same)
# and once per round POST /auth/signin (--signin-conns connections, bounded
# by the password hash) alternating with bench/hashrate, the rate the hash
# alone allows with one process per worker on the same cores.
#
# It prints one table: req/s (median of the rounds), p50 and p99 (medians),
# the ratio to the ceiling of the same server and connection count (the
# median over the rounds of each round's ratio, so drift between rounds
# cancels out; for signin: to the hash rate), p99 over the ceiling's p99, Redis commands per
# request (INFO commandstats deltas over the timed runs, commands run
# inside Lua scripts included, over wrk's request count) and Redis round
# trips per request (commands sent by clients, counted with MONITOR over a
# few sequential requests before the timed runs). Then the VmHWM and VmRSS
# of every sessiongate worker after the warm-up and at the end, and the
# requests they served in between (growth means a leak).
#
# --quick: one round, 16 connections, 2 workers, 1 s per case, 10000
# hash iterations (make check runs it to prove the benchmark works; it
# asserts no figures). --cgi: Apache mod_cgid
# instead, a process per request, against a CGI hello (verify, health;
# 16 connections by default: the stack's Apache allows 32 workers).
# The exit status is 1 if any case saw a non-2xx answer, served nothing, or
# had socket errors on over 1% of its requests: its figures mean nothing.
#
# Environment: SG_BIN (sessiongate; default src/sessiongate), SG_HELLO,
# SG_HASHRATE (default bench/hello and bench/hashrate next to SG_BIN's
# src/, else in this directory; built with cc into the work dir if
# missing), TMPDIR. Run as root, the stacks run the apps as www-data (see
# tests/stack.sh). Everything listens on 127.0.0.1 or unix sockets only.

set -u
LC_ALL=C
export LC_ALL

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
STACK=$TOP/tests/stack.sh
SG_BIN=${SG_BIN:-$TOP/src/sessiongate}
# shared with the integration tests: sg_pick_port, sg_stack_start_at
# shellcheck source=../tests/integration/lib.sh
. "$TOP/tests/integration/lib.sh"

QUICK=0
CGI=0
SERVERS=
CONNS=
ROUNDS=
DURATION=
SIGNIN_DURATION=
SIGNIN_CONNS=
ITERATIONS=
WORKERS=
THREADS=1
KEEP=0
TSV_OUT=

die() { echo "run.sh: $*" >&2; exit 2; }
usage() { sed -n '4,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
num() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] || die "$1 takes a positive integer, not '$2'"; }

while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1; shift ;;
    --cgi) CGI=1; shift ;;
    --servers) SERVERS=${2:-}; shift 2 || usage ;;
    --conns) CONNS=${2:-}; shift 2 || usage ;;
    --rounds) ROUNDS=${2:-}; shift 2 || usage ;;
    --duration) DURATION=${2:-}; shift 2 || usage ;;
    --signin-duration) SIGNIN_DURATION=${2:-}; shift 2 || usage ;;
    --signin-conns) SIGNIN_CONNS=${2:-}; shift 2 || usage ;;
    --iterations) ITERATIONS=${2:-}; shift 2 || usage ;;
    --workers) WORKERS=${2:-}; shift 2 || usage ;;
    --threads) THREADS=${2:-}; shift 2 || usage ;;
    --keep) KEEP=1; shift ;;
    --tsv) TSV_OUT=${2:-}; shift 2 || usage ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage ;;
    esac
done

if [ $CGI = 1 ]; then
    # the stack's Apache has MaxRequestWorkers 32: more connections than
    # that are reset, so CGI runs at 16 only unless told otherwise
    : "${SERVERS:=cgi}" "${CONNS:=16}"
else
    : "${SERVERS:=nginx lighttpd apache}"
fi
if [ $QUICK = 1 ]; then
    # 2 workers and a 10000-iteration hash: enough to prove every case
    # works, quick under the sanitizers, and no CPU hog for the test
    # suites make check runs alongside
    : "${CONNS:=16}" "${ROUNDS:=1}" "${DURATION:=1}" "${SIGNIN_DURATION:=1}"
    : "${WORKERS:=2}" "${ITERATIONS:=10000}"
    HASH_SECONDS=1
    MONITOR_N=5
    SIGNIN_SEQ=2
else
    : "${CONNS:=16 64}" "${ROUNDS:=3}" "${DURATION:=5}" "${SIGNIN_DURATION:=8}"
    HASH_SECONDS=4
    : "${ITERATIONS:=600000}" # the shipped pbkdf2_iterations
    MONITOR_N=20
    SIGNIN_SEQ=10
fi
: "${SIGNIN_CONNS:=4}"
for v in ROUNDS DURATION SIGNIN_DURATION SIGNIN_CONNS ITERATIONS THREADS; do
    num "--$(echo $v | tr 'A-Z_' 'a-z-')" "${!v}"
done
for c in $CONNS; do num --conns "$c"; done
# default: what sessiongate standalone forks by itself, 4 per core (main.c)
if [ -z "$WORKERS" ]; then
    WORKERS=$(($(nproc) > 16 ? 64 : 4 * $(nproc)))
fi
num --workers "$WORKERS"
for s in $SERVERS; do
    case $s in nginx | lighttpd | apache | cgi) ;; *) die "unknown server '$s'" ;; esac
done

for t in wrk curl redis-server redis-cli; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed (tests/debian-deps.sh)"
done
[ -x "$SG_BIN" ] || die "$SG_BIN is not built (make, or set SG_BIN)"
SG_BIN=$(cd "$(dirname "$SG_BIN")" && pwd)/$(basename "$SG_BIN")

# One benchmark at a time on a machine: two at once would measure each
# other (make check's --quick run and a make bench, or two users).
LOCK=${TMPDIR:-/tmp}/sessiongate-bench.lock
if command -v flock >/dev/null 2>&1 && { exec 9>>"$LOCK"; } 2>/dev/null; then
    chmod 0666 "$LOCK" 2>/dev/null
    if ! flock -n 9; then
        echo "run.sh: another benchmark runs on this machine; waiting (at most 15 min)" >&2
        flock -w 900 9 || die "still locked: $LOCK"
    fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-bench.XXXXXX") || die "mktemp failed"
chmod 0755 "$WORK"
STACK_DIRS=()
MON_PID=

cleanup() {
    local d
    trap - EXIT INT TERM
    # shellcheck disable=SC2086
    [ -n "$MON_PID" ] && kill $MON_PID 2>/dev/null
    for d in "${STACK_DIRS[@]}"; do
        [ -d "$d/pids" ] && "$STACK" stop --dir "$d" >/dev/null 2>&1
    done
    if [ $KEEP = 1 ]; then
        echo "run.sh: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

# ---- helper programs -------------------------------------------------------

# find_or_build NAME LIBS: bench/NAME from the build tree or this
# directory, else compiled into WORK.
find_or_build() {
    local name=$1 libs=$2 c
    for c in "$(dirname "$SG_BIN")/../bench/$name" "$BENCH_DIR/$name"; do
        # a build older than its source is stale: compile a fresh one
        [ -x "$c" ] && ! [ "$BENCH_DIR/$name.c" -nt "$c" ] &&
            { (cd "$(dirname "$c")" && echo "$PWD/$name"); return 0; }
    done
    ${CC:-cc} -O2 -o "$WORK/$name" "$BENCH_DIR/$name.c" $libs >&2 ||
        die "cannot build $BENCH_DIR/$name.c (make bench builds it)"
    echo "$WORK/$name"
}
HELLO=${SG_HELLO:-$(find_or_build hello -lfcgi)} || exit 2
HASHRATE=${SG_HASHRATE:-$(find_or_build hashrate -lcrypto)} || exit 2
[ -x "$HELLO" ] || die "$HELLO is not an executable"

# ---- stacks ----------------------------------------------------------------


BENCH_CONF="ratelimit_user = off
ratelimit_signin = off
ratelimit_signin_failure = off
ratelimit_register = off
ratelimit_refresh = off
pbkdf2_iterations = $ITERATIONS
access_token_ttl = 1d"
# --workers N: for both stacks and both apps; lighttpd's spawned instance
# reads it from the config, nginx's standalone one gets it from
# tests/stack.sh (SG_STACK_WORKERS).
BENCH_CONF="$BENCH_CONF
workers = $WORKERS"
export SG_STACK_WORKERS=$WORKERS

# stack_start SERVER BIN DIR [CONF]: prints the base URL. (fd 9, the
# benchmark's lock, is not handed down to the stack's daemons.) Apache
# runs in its shipped shape: mod_fcgid keeps 80 processes of one worker
# each (apache/sessiongate.conf), and hands each one request at a time,
# so a `workers` line would only fork idle workers behind each of them.
stack_start() {
    local conf=${4:-$BENCH_CONF}
    [ "$1" = apache ] && conf=$(printf '%s\n' "$conf" | grep -v '^workers = ')
    SG_BIN=$2 SG_STACK_EXTRA_CONF=$conf sg_stack_start_at "$1" "$3" 9>&-
}
# Two more sessiongate stacks per FastCGI server: "local" verifies in
# verify_mode = local (issue 17), "limited" runs the per-user limit (its
# counter, at a limit no run reaches) that the others leave off.
LOCAL_CONF="$BENCH_CONF
verify_mode = local"
LIMITED_CONF=${BENCH_CONF/ratelimit_user = off/ratelimit_user = 1000000\/1s user}

# bench_token URL EMAIL...: registers each email, prints an access token
# of the first.
bench_token() {
    local url=$1 e body
    shift
    for e in "$@"; do
        body=$(curl -s --max-time 30 -H 'Content-Type: application/json' \
            --data-binary "{\"email\":\"$e\",\"password\":\"$PASSWORD\"}" "$url/auth/register")
        case $body in *'"success":true'*) ;; *) die "register $e at $url: $body" ;; esac
    done
    body=$(curl -s --max-time 30 -H 'Content-Type: application/json' \
        --data-binary "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" "$url/auth/signin")
    body=$(printf '%s' "$body" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    [ -n "$body" ] || die "signin at $url failed"
    echo "$body"
}

# ---- measurements ----------------------------------------------------------

# redis_calls DIR: total calls in INFO commandstats of the stack's Redis
# nodes, but INFO's own.
redis_calls() {
    local a
    sg_redis_nodes "$1" | while read -r a; do
        # shellcheck disable=SC2086
        redis-cli $a info commandstats 2>/dev/null | tr -d '\r'
    done | awk -F'[:,=]' '/^cmdstat_/ && $1 != "cmdstat_info" { n += $3 } END { print n + 0 }'
}

# roundtrips DIR N CURL_ARGS...: commands sent by clients (MONITOR lines
# not from Lua) to the stack's Redis nodes per request, over N sequential
# requests.
roundtrips() {
    local dir=$1 n=$2 i f=$WORK/monitor.out a p
    shift 2
    rm -f "$f".*
    i=0
    MON_PID=
    while read -r a; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        timeout 120 redis-cli $a monitor >"$f.$i" 2>/dev/null &
        MON_PID="$MON_PID $!"
    done < <(sg_redis_nodes "$dir")
    sleep 0.3
    for ((i = 0; i < n; i++)); do
        curl -s -o /dev/null --max-time 10 "$@"
    done
    sleep 0.3
    for p in $MON_PID; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    MON_PID=
    cat "$f".* | awk -v n="$n" '/^[0-9]+\.[0-9]+ \[/ && !/ lua\] / { c++ }
        END { printf "%.2f", c / n }'
}

# sock_of PID: the unix socket on the process's fd 0 (spawned by the web
# server; lighttpd also spawns an idle authorizer instance), else "-".
sock_of() {
    local l ino
    l=$(readlink "/proc/$1/fd/0" 2>/dev/null)
    case $l in socket:\[*) ;; *) echo -; return ;; esac
    ino=${l#socket:[}
    ino=${ino%]}
    awk -v i="$ino" '$7 == i && $8 != "" { n = split($8, a, "/"); print a[n]; f = 1; exit }
        END { if (!f) print "-" }' /proc/net/unix
}

# rss_snapshot WHEN DIR: "WHEN PID VmHWM VmRSS SOCKET" (kB) of the stack's
# workers.
rss_snapshot() {
    local when=$1 dir=$2 p sock
    for p in $("$STACK" pids --dir "$dir" worker 2>/dev/null); do
        sock=$(sock_of "$p")
        [ "$sock" = - ] && sock=$(sock_of "$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)")
        awk -v p="$p" -v w="$when" -v s="$sock" \
            '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 }
            END { if (h != "") print w, p, h, r, s }' "/proc/$p/status" 2>/dev/null
    done
}

# cpu_ticks PID...: user + system CPU time of the processes, in clock ticks.
cpu_ticks() {
    local p t=0 v
    for p in "$@"; do
        v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
TCK=$(getconf CLK_TCK)

# worker_cpu_ms DIR: CPU time (ms) of the stack's workers.
worker_cpu_ms() {
    # shellcheck disable=SC2046
    echo $(($(cpu_ticks $("$STACK" pids --dir "$1" worker 2>/dev/null)) * 1000 / TCK))
}

# wrk_run SERVER CASE CONNS ROUND SECONDS SCRIPT URL DIR [TIMEOUT]
# One bounded wrk run against the stack in DIR; appends a row to RESULTS
# with the Redis calls (not for the hello) and the CPU ticks the app's
# workers and redis-server spent meanwhile.
wrk_run() {
    local server=$1 case=$2 conns=$3 round=$4 secs=$5 script=$6 url=$7 dir=$8
    local tmo=${9:-5} sock=$8 before=0 after=0 line out pids
    local a0 a1 r0 r1 rpid
    [ "$case" = hello ] || [ "$case" = gate ] && sock=
    pids=$("$STACK" pids --dir "$dir" worker 2>/dev/null | tr '\n' ' ')
    rpid=$(cat "$dir"/pids/redis* 2>/dev/null)
    [ -n "$sock" ] && before=$(redis_calls "$sock")
    # shellcheck disable=SC2086
    a0=$(cpu_ticks $pids)
    # shellcheck disable=SC2086
    r0=$(cpu_ticks $rpid)
    out=$(timeout $((secs + tmo + 30)) wrk -t"$THREADS" -c"$conns" -d"${secs}s" \
        --timeout "${tmo}s" -s "$BENCH_DIR/$script" "$url" 2>&1)
    # shellcheck disable=SC2086
    a1=$(cpu_ticks $pids)
    # shellcheck disable=SC2086
    r1=$(cpu_ticks $rpid)
    [ -n "$sock" ] && after=$(redis_calls "$sock")
    line=$(printf '%s\n' "$out" | sed -n 's/^BENCH //p' | tail -n 1)
    if [ -z "$line" ]; then
        echo "run.sh: wrk gave no result for $server $case c=$conns:" >&2
        printf '%s\n' "$out" | tail -n 5 >&2
        line="requests=0 duration_us=1 rps=0 p50_us=0 p99_us=0 max_us=0 errors=0 non2xx=0"
    fi
    # "-1": not measured (the ceiling has no Redis; CGI has no workers)
    [ -n "$sock" ] || after=-1
    [ -n "$pids" ] || a1=-1 a0=0
    { [ "$case" = hello ] || [ "$case" = gate ]; } && r1=-1 r0=0
    echo "$server $case $conns $round $line redis=$((after - before))" \
        "app_ticks=$((a1 - a0)) redis_ticks=$((r1 - r0))" >>"$RESULTS"
    [ $QUICK = 1 ] || printf '  %-8s %-8s c=%-3s round %s: %s\n' "$server" "$case" \
        "$conns" "$round" "$(echo "$line" | cut -d' ' -f1-5,7-8)" >&2
}

RESULTS=$WORK/results
: >"$RESULTS"
RSS=$WORK/rss
: >"$RSS"
RT=$WORK/roundtrips
: >"$RT"
HASH=$WORK/hash
: >"$HASH"
SIGNCPU=$WORK/signcpu
: >"$SIGNCPU"
WORKERS_SEEN=$WORK/workers
: >"$WORKERS_SEEN"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

EMAIL_V=bench-verify@example.com
EMAIL_S=bench-signin@example.com
PASSWORD=bench-password-0123456789

bench_server() {
    local server=$1 td=$WORK/$1-sg hd=$WORK/$1-hello url hurl token
    local ld=$WORK/$1-local md=$WORK/$1-limited lurl='' murl=''
    local cd=$WORK/$1-cluster sd=$WORK/$1-tls clurl='' surl=''
    local r c cases workers

    STACK_DIRS+=("$td" "$hd")
    url=$(stack_start "$server" "$SG_BIN" "$td") || die "$server: sessiongate stack did not start"
    hurl=$(stack_start "$server" "$HELLO" "$hd") || die "$server: hello stack did not start"
    token=$(bench_token "$url" "$EMAIL_V" "$EMAIL_S") || exit 2
    export BENCH_TOKEN=$token BENCH_EMAIL=$EMAIL_S BENCH_PASSWORD=$PASSWORD

    if [ "$server" = cgi ]; then
        cases="verify health"
    elif [ "$server" = apache ]; then
        # no local rows: a mod_fcgid process of one worker has no master
        # to host the revocation reader, and verifies in roundtrip mode
        # whatever verify_mode says (docs/PERFORMANCE.md)
        cases="verify sessions health limited private"
        STACK_DIRS+=("$md")
        murl=$(stack_start "$server" "$SG_BIN" "$md" "$LIMITED_CONF") || die "$server: limited stack did not start"
        LIMITED_TOKEN=$(bench_token "$murl" "$EMAIL_V") || exit 2
    else
        # cluster and tls are read against verify: they run right after
        # it, so that drift over the round (a minute of other cases) does
        # not land between the two runs of a pair
        cases="verify cluster tls sessions health local limited private priv-loc"
        STACK_DIRS+=("$ld" "$md" "$cd" "$sd")
        lurl=$(stack_start "$server" "$SG_BIN" "$ld" "$LOCAL_CONF") || die "$server: local stack did not start"
        murl=$(stack_start "$server" "$SG_BIN" "$md" "$LIMITED_CONF") || die "$server: limited stack did not start"
        # verify in roundtrip mode through three cluster masters, and
        # through TLS to one Redis (issue 15: each against verify)
        clurl=$(SG_STACK_REDIS=cluster stack_start "$server" "$SG_BIN" "$cd") || die "$server: cluster stack did not start"
        surl=$(SG_STACK_REDIS=tls stack_start "$server" "$SG_BIN" "$sd") || die "$server: TLS stack did not start"
        LOCAL_TOKEN=$(bench_token "$lurl" "$EMAIL_V") || exit 2
        LIMITED_TOKEN=$(bench_token "$murl" "$EMAIL_V") || exit 2
        CLUSTER_TOKEN=$(bench_token "$clurl" "$EMAIL_V") || exit 2
        TLS_TOKEN=$(bench_token "$surl" "$EMAIL_V") || exit 2
    fi
    # workers serving /api/v1 (not lighttpd's idle authorizer instance)
    workers=$(rss_snapshot now "$td" | grep -vc authorizer)
    [ "$workers" -gt 0 ] || workers=1
    if [ -n "$WORKERS" ] && [ "$server" != cgi ] && [ "$server" != apache ] && [ "$workers" != "$WORKERS" ]; then
        echo "run.sh: $server: --workers $WORKERS asked, the stack runs $workers" >&2
    fi
    echo "$server $workers" >>"$WORKERS_SEEN"

    # warm-up: every worker has run every path (scripts loaded, allocator
    # pools grown) before the "before" RSS. With few connections the
    # kernel hands most accepts to a few workers: 8 connections a worker
    # keep them all busy (CGI: a process per request anyway).
    local warm=16
    [ "$server" = cgi ] || [ $((workers * 8)) -le 16 ] || warm=$((workers * 8))
    # Apache: mod_fcgid spawns a process per concurrent request, up to 80
    [ "$server" = apache ] && warm=64
    for c in $cases; do
        case $c in
        verify) timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "$url/auth/verify" ;;
        sessions) timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "$url/sessions" ;;
        health) timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/get.lua" "$url/health" ;;
        local) BENCH_TOKEN=$LOCAL_TOKEN timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "$lurl/auth/verify" ;;
        limited) BENCH_TOKEN=$LIMITED_TOKEN timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "$murl/auth/verify" ;;
        private) timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "${url%/api/v1}/private/index.html" ;;
        priv-loc) BENCH_TOKEN=$LOCAL_TOKEN timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "${lurl%/api/v1}/private/index.html" ;;
        cluster) BENCH_TOKEN=$CLUSTER_TOKEN timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "$clurl/auth/verify" ;;
        tls) BENCH_TOKEN=$TLS_TOKEN timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/bearer.lua" "$surl/auth/verify" ;;
        esac
    done >/dev/null 2>&1
    timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/get.lua" "$hurl/hello" >/dev/null 2>&1
    timeout 30 wrk -t1 -c"$warm" -d1s -s "$BENCH_DIR/get.lua" "$hurl/redis" >/dev/null 2>&1
    rss_snapshot before "$td" | sed "s/^/$server /" >>"$RSS"

    # Redis round trips per request, from a few sequential requests.
    for c in $cases; do
        case $c in
        verify) echo "$server verify $(roundtrips "$td" "$MONITOR_N" -H "Authorization: Bearer $token" "$url/auth/verify")" ;;
        sessions) echo "$server sessions $(roundtrips "$td" "$MONITOR_N" -H "Authorization: Bearer $token" "$url/sessions")" ;;
        health) echo "$server health $(roundtrips "$td" "$MONITOR_N" "$url/health")" ;;
        local) echo "$server local $(roundtrips "$ld" "$MONITOR_N" -H "Authorization: Bearer $LOCAL_TOKEN" "$lurl/auth/verify")" ;;
        limited) echo "$server limited $(roundtrips "$md" "$MONITOR_N" -H "Authorization: Bearer $LIMITED_TOKEN" "$murl/auth/verify")" ;;
        cluster) echo "$server cluster $(roundtrips "$cd" "$MONITOR_N" -H "Authorization: Bearer $CLUSTER_TOKEN" "$clurl/auth/verify")" ;;
        tls) echo "$server tls $(roundtrips "$sd" "$MONITOR_N" -H "Authorization: Bearer $TLS_TOKEN" "$surl/auth/verify")" ;;
        esac
    done >>"$RT"
    [ "$server" = cgi ] || echo "$server signin $(roundtrips "$td" 2 -H 'Content-Type: application/json' \
        --data-binary "{\"email\":\"$EMAIL_S\",\"password\":\"$PASSWORD\"}" "$url/auth/signin")" >>"$RT"

    for ((r = 1; r <= ROUNDS; r++)); do
        for cn in $CONNS; do
            # the ceiling first, then each target: ceiling and target runs
            # alternate through the run, so drift hits both alike
            wrk_run "$server" hello "$cn" "$r" "$DURATION" get.lua "$hurl/hello" "$hd"
            wrk_run "$server" hello-rt "$cn" "$r" "$DURATION" get.lua "$hurl/redis" "$hd"
            [ "$server" = cgi ] || wrk_run "$server" gate "$cn" "$r" "$DURATION" bearer.lua \
                "${hurl%/api/v1}/private/index.html" "$hd"
            for c in $cases; do
                case $c in
                verify) wrk_run "$server" verify "$cn" "$r" "$DURATION" bearer.lua "$url/auth/verify" "$td" ;;
                sessions) wrk_run "$server" sessions "$cn" "$r" "$DURATION" bearer.lua "$url/sessions" "$td" ;;
                health) wrk_run "$server" health "$cn" "$r" "$DURATION" get.lua "$url/health" "$td" ;;
                local) BENCH_TOKEN=$LOCAL_TOKEN wrk_run "$server" local "$cn" "$r" "$DURATION" bearer.lua "$lurl/auth/verify" "$ld" ;;
                limited) BENCH_TOKEN=$LIMITED_TOKEN wrk_run "$server" limited "$cn" "$r" "$DURATION" bearer.lua "$murl/auth/verify" "$md" ;;
                private) wrk_run "$server" private "$cn" "$r" "$DURATION" bearer.lua "${url%/api/v1}/private/index.html" "$td" ;;
                priv-loc) BENCH_TOKEN=$LOCAL_TOKEN wrk_run "$server" priv-loc "$cn" "$r" "$DURATION" bearer.lua "${lurl%/api/v1}/private/index.html" "$ld" ;;
                cluster) BENCH_TOKEN=$CLUSTER_TOKEN wrk_run "$server" cluster "$cn" "$r" "$DURATION" bearer.lua "$clurl/auth/verify" "$cd" ;;
                tls) BENCH_TOKEN=$TLS_TOKEN wrk_run "$server" tls "$cn" "$r" "$DURATION" bearer.lua "$surl/auth/verify" "$sd" ;;
                esac
            done
        done
        if [ "$server" != cgi ]; then
            "$HASHRATE" "$ITERATIONS" "$workers" "$HASH_SECONDS" |
                sed -n "s/^hashrate .*rate=\([0-9.]*\) cpu_ms=\([0-9.]*\).*/$server $r \1 \2/p" >>"$HASH"
            wrk_run "$server" signin "$SIGNIN_CONNS" "$r" "$SIGNIN_DURATION" signin.lua \
                "$url/auth/signin" "$td" 30
        fi
    done
    # CPU per sign-in, from sequential sign-ins (each one completed, none
    # in flight): the share of it that is the hash does not depend on
    # what else runs on the machine, unlike the rates.
    if [ "$server" != cgi ]; then
        local c0 c1 i n=$SIGNIN_SEQ
        # requests still in flight from the last wrk run finish first
        c1=$(worker_cpu_ms "$td")
        for ((i = 0; i < 20; i++)); do
            sleep 0.5
            c0=$(worker_cpu_ms "$td")
            [ "$c0" = "$c1" ] && break
            c1=$c0
        done
        for ((i = 0; i < n; i++)); do
            curl -s -o /dev/null --max-time 30 -H 'Content-Type: application/json' \
                --data-binary "{\"email\":\"$EMAIL_S\",\"password\":\"$PASSWORD\"}" "$url/auth/signin"
        done
        c1=$(worker_cpu_ms "$td")
        # and the hash alone, one process, as the sign-ins ran one at a time
        echo "$server $(((c1 - c0) / n)) $("$HASHRATE" "$ITERATIONS" 1 "$HASH_SECONDS" |
            sed -n 's/.* cpu_ms=\([0-9.]*\).*/\1/p')" >>"$SIGNCPU"
    fi
    rss_snapshot after "$td" | sed "s/^/$server /" >>"$RSS"
    "$STACK" stop --dir "$hd" >/dev/null 2>&1
    "$STACK" stop --dir "$td" >/dev/null 2>&1
    [ -z "$lurl" ] || "$STACK" stop --dir "$ld" >/dev/null 2>&1
    [ -z "$murl" ] || "$STACK" stop --dir "$md" >/dev/null 2>&1
    [ -z "$clurl" ] || "$STACK" stop --dir "$cd" >/dev/null 2>&1
    [ -z "$surl" ] || "$STACK" stop --dir "$sd" >/dev/null 2>&1
}

echo "run.sh: $(nproc) cores, load $LOAD_BEFORE; servers: $SERVERS; conns: $CONNS;" \
    "rounds: $ROUNDS x ${DURATION}s (signin ${SIGNIN_DURATION}s, c=$SIGNIN_CONNS);" \
    "pbkdf2_iterations $ITERATIONS" >&2
for s in $SERVERS; do
    echo "run.sh: $s ..." >&2
    bench_server "$s"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
[ -n "$TSV_OUT" ] && cp "$RESULTS" "$TSV_OUT"

# ---- the table -------------------------------------------------------------

echo
echo "sessiongate benchmark, $STARTED, $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)),"
echo "load average before/after: $LOAD_BEFORE / $LOAD_AFTER; wrk -t$THREADS on the same cores;"
echo "median of $ROUNDS round(s) of ${DURATION}s (signin ${SIGNIN_DURATION}s, pbkdf2 $ITERATIONS iterations);"
echo "sessiongate workers per stack: $(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, ($1 == "cgi" ? "(a process per request)" : $2) }' "$WORKERS_SEEN")."
echo
awk -v rtfile="$RT" -v hashfile="$HASH" -v signcpufile="$SIGNCPU" -v tck="$TCK" '
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        if (n == 0) return 0
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    # the median over the rounds of k req/s over c req/s in the same
    # round: ceiling and target ran minutes apart at most, so drift
    # (another load, thermal, the host) cancels out of each pair
    function pratio(k, c,   rs, n, i, s, m) {
        n = split(rounds[k], rs, " "); s = ""; m = 0
        for (i = 1; i <= n; i++)
            if (((c SUBSEP rs[i]) in rr) && rr[c, rs[i]] > 0) {
                s = s " " rr[k, rs[i]] / rr[c, rs[i]]; m++ }
        return m ? median(s) : -1
    }
    BEGIN {
        while ((getline l < rtfile) > 0) { split(l, f, " "); rt[f[1] " " f[2]] = f[3] }
        while ((getline l < hashfile) > 0) {
            split(l, f, " "); hash[f[1]] = hash[f[1]] " " f[3]; hcpu[f[1]] = hcpu[f[1]] " " f[4] }
        while ((getline l < signcpufile) > 0) { split(l, f, " "); scpu[f[1]] = f[2]; hcpu1[f[1]] = f[3] }
    }
    {
        key = $1 " " $2 " " $3
        if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
        for (i = 5; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rps[key] = rps[key] " " v["rps"]; p50[key] = p50[key] " " v["p50_us"]
        rr[key, $4] = v["rps"]; rounds[key] = rounds[key] " " $4
        p99[key] = p99[key] " " v["p99_us"]; reqs[key] += v["requests"]
        serr[key] += v["errors"]; non2xx[key] += v["non2xx"]
        if (v["requests"] == 0) empty[key] = 1
        if (v["redis"] >= 0) { redis[key] += v["redis"]; hasredis[key] = 1 }
        if (v["app_ticks"] >= 0) { appt[key] += v["app_ticks"]; hasapp[key] = 1 }
        if (v["redis_ticks"] >= 0) { redt[key] += v["redis_ticks"]; hasred[key] = 1 }
    }
    END {
        printf "%-8s %-8s %5s %9s %7s %7s %6s %8s %9s %6s %7s %7s %s\n", "server", "case", "conns",
            "req/s", "p50 ms", "p99 ms", "ratio", "p99/ceil", "redis/req", "rt/req",
            "app us", "redis us", "note"
        fail = 0
        for (k = 1; k <= nk; k++) {
            key = order[k]; split(key, f, " ")
            r = median(rps[key]); a = median(p50[key]); b = median(p99[key])
            ck = f[1] " hello " f[3]
            # the authorizer rows: to the same file behind the hello
            if (f[2] == "private" || f[2] == "priv-loc") ck = f[1] " gate " f[3]
            ratio = "-"; pr = "-"; note = ""
            if (f[2] == "signin") {
                h = median(hash[f[1]])
                if (h > 0) { ratio = sprintf("%.2f", r / h); note = sprintf("hash-only %.2f/s", h) }
                hc = hcpu1[f[1]]
                if ((f[1] in scpu) && scpu[f[1]] > 0)
                    note = note sprintf("; CPU/sign-in %d ms, hash %d ms (%.2f)",
                        scpu[f[1]], hc, hc / scpu[f[1]])
            } else if (ck in rps) {
                cr = pratio(key, ck); cb = median(p99[ck])
                if (cr >= 0) ratio = sprintf("%.2f", cr)
                if (cb > 0) pr = sprintf("%.2f", b / cb)
                rtk = f[1] " hello-rt " f[3]
                vk = f[1] " verify " f[3]
                # through a cluster and over TLS: against verify on one plain Redis
                if ((f[2] == "cluster" || f[2] == "tls") && (vk in rps))
                    rtk = vk
                if (f[2] != "hello" && f[2] != "hello-rt" && f[2] != "health" && f[2] !~ /^(gate|private|priv-loc)$/ && (rtk in rps) && (pr2 = pratio(key, rtk)) >= 0)
                    note = sprintf("%.2f of %s", pr2, (rtk == vk ? "verify" : "hello-rt"))
            }
            rd = (key in hasredis && reqs[key] > 0) ? sprintf("%.2f", redis[key] / reqs[key]) : "-"
            au = (key in hasapp && reqs[key] > 0) ? sprintf("%.0f", appt[key] * 1e6 / tck / reqs[key]) : "-"
            ru = (key in hasred && reqs[key] > 0) ? sprintf("%.0f", redt[key] * 1e6 / tck / reqs[key]) : "-"
            rk = f[1] " " f[2]
            rtv = (rk in rt) ? rt[rk] : "-"
            # any non-2xx answer or an empty run voids the figures; a few
            # socket errors (a server closing a kept-alive connection) do not
            if (non2xx[key] > 0 || (key in empty)) {
                note = note (note ? "; " : "") "FAILED: " non2xx[key] " non-2xx" ((key in empty) ? ", a run served nothing" : ""); fail = 1 }
            if (serr[key] > 0) {
                note = note (note ? "; " : "") serr[key] " socket errors"
                if (serr[key] > reqs[key] / 100) { note = note " (over 1%: FAILED)"; fail = 1 } }
            printf "%-8s %-8s %5s %9.1f %7.2f %7.2f %6s %8s %9s %6s %7s %7s %s\n", f[1], f[2], f[3],
                r, a / 1000, b / 1000, ratio, pr, rd, rtv, au, ru, note
        }
        exit fail
    }' "$RESULTS"
STATUS=$?

echo
echo "sessiongate workers (kB): VmHWM and VmRSS after the warm-up -> at the end"
awk -v results="$RESULTS" '
    BEGIN {
        while ((getline l < results) > 0) {
            n = split(l, f, " ")
            if (f[2] == "hello") continue
            for (i = 5; i <= n; i++) if (f[i] ~ /^requests=/) { sub(/requests=/, "", f[i]); served[f[1]] += f[i] }
        }
    }
    { lab[$1 " " $3] = $6 }
    $2 == "before" { hb[$1 " " $3] = $4; rb[$1 " " $3] = $5; srv[$1] = 1; if (!(($1 " " $3) in seen)) { seen[$1 " " $3] = 1; pids[++np] = $1 " " $3 } }
    $2 == "after" { ha[$1 " " $3] = $4; ra[$1 " " $3] = $5; if (!(($1 " " $3) in seen)) { seen[$1 " " $3] = 1; pids[++np] = $1 " " $3 } }
    END {
        for (i = 1; i <= np; i++) {
            split(pids[i], f, " ")
            k = pids[i]
            printf "  %-8s pid %-7s HWM %6s -> %6s   RSS %6s -> %6s   %s\n", f[1], f[2],
                (k in hb) ? hb[k] : "-", (k in ha) ? ha[k] : "gone", (k in rb) ? rb[k] : "-",
                (k in ra) ? ra[k] : "gone", (lab[k] ~ /authorizer/) ? "(idle authorizer instance)" : ""
        }
        for (s in srv) printf "  %-8s requests served by sessiongate in the timed runs: %d\n", s, served[s]
        if (np == 0) print "  (no long-lived workers: CGI)"
    }' "$RSS"
echo
echo "ratio: req/s over the hello ceiling behind the same server, same connections,"
echo "  in the same round, the median of the rounds (\"x of verify\": the same, over"
echo "  verify; req/s, p50, p99: medians of the rounds);"
echo "  hello-rt: the hello plus one Redis PING per request, what any app making one"
echo "  round trip per request could reach"
echo "  (signin: over the hash-only rate, bench/hashrate with one process per worker;"
echo "  CPU/sign-in: worker CPU per sequential sign-in, against the CPU of one hash"
echo "  alone, one process, right after: the hash's share, robust to other load);"
echo "p99/ceil: p99 over the ceiling's p99; redis/req: INFO commandstats calls per"
echo "  request, commands inside Lua scripts included; rt/req: commands sent to"
echo "  Redis per request (MONITOR, $MONITOR_N sequential requests; signin: 2);"
echo "app us, redis us: CPU time (user + system) of the app's workers and of"
echo "  redis-server per request during the timed runs."
exit $STATUS
