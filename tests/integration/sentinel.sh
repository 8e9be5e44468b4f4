#!/bin/bash
# tests/integration/sentinel.sh -- Redis Sentinel (redis_sentinels,
# redis_master_name; src/store.c): one master, one replica and three
# sentinels (redis-server --sentinel) on loopback ports, sessiongate
# behind nginx asking the sentinels for the master.
#
#   test_api_via_sentinel       sign-in and verify through the master the
#       sentinels name; the data is on it and on its replica
#   test_master_killed_under_load   the master SIGKILLed while a client
#       verifies a token in a loop: until the sentinels promote the
#       replica the answers are 503 with Retry-After, never another
#       error; after it, 200 again (the delay from the promotion to the
#       first 200 is printed; bound FAILOVER_BOUND); what was written
#       before the kill and replicated is still there
#   test_manual_failover_under_load  the killed master back as a replica,
#       then SENTINEL FAILOVER while both live: the workers find the new
#       master (ROLE, READONLY), with the same rules for the answers
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION).

case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/api.sh
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_require nginx

# Far above what a failover takes here (down-after 1 s, an election, a
# promotion: a few seconds), for a loaded machine.
FAILOVER_BOUND=60
SETTLE_MS=5000
NAME=mymaster
SN_WORK=
declare -A PORT PID
NODES="a b c"          # the data nodes; which is master changes
# c is never promoted (replica-priority 0), so that every failover has
# one candidate and a replica is left to the new master: the nodes run
# with min-replicas-to-write 1, as docs/DEPLOYMENT.md advises
SENTINELS="s1 s2 s3"
LOAD_PID=

# ---- the topology ------------------------------------------------------------

rcli() { redis-cli -h 127.0.0.1 -p "${PORT[$1]}" "${@:2}"; }

start_node() { # NAME [replicaof PORT]
    local n=$1 prio=100
    [ "$n" = c ] && prio=0
    mkdir -p "$SN_WORK/$n"
    redis-server --port "${PORT[$n]}" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$SN_WORK/$n" --logfile "$SN_WORK/$n.log" \
        --replica-priority "$prio" --min-replicas-to-write 1 --min-replicas-max-lag 2 \
        --repl-diskless-sync-delay 0 \
        ${2:+--replicaof 127.0.0.1 "$2"} </dev/null &
    PID[$n]=$!
    started "$n"
}
node_up() { [ "$(rcli "$1" ping 2>/dev/null)" = PONG ]; }
gone() { ! kill -0 "${PID[$1]}" 2>/dev/null; }
# started NAME: it answers PING (false at once if it exited: its port taken)
started() { sg_poll 60 eval "gone $1 || node_up $1" && node_up "$1"; }
# up NAME START...: START with a free port for NAME, up to 5 ports (one
# picked free may be taken before the server binds it)
up() {
    local n=$1 i
    shift
    for i in 1 2 3 4 5; do
        PORT[$n]=$(sg_pick_port) || return 1
        "$@" && return 0
        stop_pid "$n"
    done
    return 1
}

start_sentinel() {
    local n=$1
    mkdir -p "$SN_WORK/$n"
    # sentinel rewrites its config file: one each, writable
    cat >"$SN_WORK/$n/sentinel.conf" <<EOF
port ${PORT[$n]}
bind 127.0.0.1
dir $SN_WORK/$n
logfile $SN_WORK/$n.log
sentinel monitor $NAME 127.0.0.1 ${PORT[a]} 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 10000
EOF
    redis-server "$SN_WORK/$n/sentinel.conf" --sentinel </dev/null &
    PID[$n]=$!
    started "$n"
}

stop_pid() {
    [ -n "${PID[$1]:-}" ] || return 0
    kill -CONT "${PID[$1]}" 2>/dev/null
    kill "${PID[$1]}" 2>/dev/null && wait "${PID[$1]}" 2>/dev/null
    PID[$1]=
}

# master_port: the master's port as sentinel s1 gives it
master_port() { rcli s1 SENTINEL get-master-addr-by-name "$NAME" 2>/dev/null | sed -n 2p; }
master_is() { [ "$(master_port)" = "${PORT[$1]}" ]; }
# topology_ready MASTER REPLICA...: every sentinel names MASTER, counts
# its peers, and as many replicas; each REPLICA's link is up
topology_ready() {
    local s m=$1 n
    shift
    for s in $SENTINELS; do
        [ "$(rcli "$s" SENTINEL get-master-addr-by-name "$NAME" 2>/dev/null | sed -n 2p)" = "${PORT[$m]}" ] || return 1
        rcli "$s" SENTINEL ckquorum "$NAME" 2>/dev/null | grep -q '^OK 3 usable' || return 1
        n=$(rcli "$s" SENTINEL master "$NAME" 2>/dev/null | awk 'p { print; exit } $0 == "num-slaves" { p = 1 }')
        [ "${n:-0}" -ge $# ] || return 1
    done
    for s in "$@"; do
        [ "$(rcli "$s" INFO replication | tr -d '\r' | sed -n 's/^master_link_status://p')" = up ] || return 1
    done
}

oneTimeSetUp() {
    local n
    SN_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-sentinel.XXXXXX") || return 1
    up a start_node a && up b start_node b "${PORT[a]}" && up c start_node c "${PORT[a]}" ||
        { echo "sentinel.sh: redis did not start" >&2; return 1; }
    for n in $SENTINELS; do
        up "$n" start_sentinel "$n" || {
            echo "sentinel.sh: sentinel $n did not start:" >&2
            tail -n 5 "$SN_WORK/$n.log" >&2
            return 1
        }
    done
    sg_poll 120 topology_ready a b c || { echo "sentinel.sh: the sentinels never agreed" >&2; return 1; }
    api_use_stack main nginx "redis_sentinels = 127.0.0.1:${PORT[s1]}, 127.0.0.1:${PORT[s2]}, 127.0.0.1:${PORT[s3]}
redis_master_name = $NAME" || return 1
}

oneTimeTearDown() {
    local n
    load_stop
    api_stop_all
    for n in $SENTINELS $NODES; do stop_pid "$n"; done
    if [ -n "$SN_WORK" ]; then
        if [ "${__shunit_testsFailed:-0}" -gt 0 ] 2>/dev/null; then
            for n in $NODES $SENTINELS; do
                echo "---- $n.log" >&2
                tail -n 15 "$SN_WORK/$n.log" >&2
            done
        fi
        if [ "${SG_KEEP:-0}" = 1 ]; then echo "sentinel.sh: kept $SN_WORK" >&2; else rm -rf "$SN_WORK"; fi
        SN_WORK=
    fi
}

# ---- a client under load -------------------------------------------------------

# load_start TOKEN: GET /auth/verify in a loop until load_stop (at most
# 2000 requests or 180 s); one line per answer: "MS STATUS RETRY_AFTER".
load_start() {
    local url=$SG_URL/auth/verify token=$1 out=$SN_WORK/load.out
    : >"$out"
    rm -f "$SN_WORK/load.stop"
    (
        end=$((SECONDS + 180))
        for ((i = 0; i < 2000 && SECONDS < end; i++)); do
            [ -e "$SN_WORK/load.stop" ] && break
            r=$(curl -s -o /dev/null --max-time 20 -H "Authorization: Bearer $token" \
                -w '%{http_code} %header{retry-after}' "$url")
            echo "$(date +%s%3N) ${r:-000} -" >>"$out"
        done
    ) &
    LOAD_PID=$!
}
load_stop() {
    [ -n "$LOAD_PID" ] || return 0
    touch "$SN_WORK/load.stop"
    wait "$LOAD_PID" 2>/dev/null
    LOAD_PID=
}
# answers_after MS: how many lines of the load's output are later than MS
answers_after() { awk -v t="$1" '$1 > t { n++ } END { print n + 0 }' "$SN_WORK/load.out"; }
# first_200_after MS: the time of the first 200 later than MS, or nothing
first_200_after() { awk -v t="$1" '$1 > t && $2 == 200 { print $1; exit }' "$SN_WORK/load.out"; }
seen_200_after() { [ -n "$(first_200_after "$1")" ]; }
enough_after() { [ "$(answers_after "$1")" -ge 20 ]; }

# judge_load WHAT T_PROMOTED: only 200 and 503 (with Retry-After), 200
# again after the promotion, and the figures printed.
judge_load() {
    local what=$1 tp=$2 f=$SN_WORK/load.out first
    awk '{ n[$2]++ } END { printf "# %s: answers by status:", what; for (s in n) printf " %s=%d", s, n[s]; print "" }' what="$what" "$f"
    assertEquals "$what: answers other than 200 and 503" "" \
        "$(awk '$2 != 200 && $2 != 503 { printf "%s ", $2 }' "$f")"
    assertEquals "$what: a 503 without Retry-After" "" \
        "$(awk '$2 == 503 && $3 == "" { printf "%s ", $1 }' "$f")"
    first=$(first_200_after "$tp")
    assertNotNull "$what: a 200 after the promotion" "$first"
    [ -n "$first" ] || return
    echo "# $what: first 200 $((first - tp)) ms after the sentinels named the new master;" \
        "last other answer $(awk -v t="$tp" '$2 != 200 { l = $1 } END { print (l ? l - t " ms" : "none") }' "$f") after it"
    # each worker finds the new master on its next request after its
    # backoff (250 ms at most): SETTLE_MS is room for a loaded machine
    assertEquals "$what: answers but 200 from $SETTLE_MS ms after the first 200 since the promotion" "" \
        "$(awk -v t="$((first + SETTLE_MS))" '$1 > t && $2 != 200 { printf "%s@%s ", $2, $1 }' "$f")"
}

# settled T_PROMOTED: enough answers from SETTLE_MS after the first 200
# since the promotion to judge them
settled() {
    local first
    first=$(first_200_after "$1")
    [ -n "$first" ] && enough_after $((first + SETTLE_MS))
}

# ---- tests ---------------------------------------------------------------------

test_api_via_sentinel() {
    api_new_user sentinel || fail "sign-in via the sentinels"
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "verify: $SG_BODY" 200 "$SG_STATUS"
    assertEquals "the user is on the master" 1 "$(rcli a EXISTS "sg:{u:$API_UID}:user")"
    sg_poll 30 replicated b "$API_UID" || fail "the user never reached the replica"
}
replicated() { [ "$(rcli "$1" EXISTS "sg:{u:$2}:user")" = 1 ]; }

test_master_killed_under_load() {
    local uid t0 tp
    api_new_user killed || fail "sign-in"
    uid=$API_UID
    sg_poll 30 replicated b "$uid" || fail "the user never reached the replica"
    load_start "$API_TOKEN"
    sg_poll 30 enough_after 0 || fail "the load did not start"
    t0=$(date +%s%3N)
    kill -KILL "${PID[a]}"
    wait "${PID[a]}" 2>/dev/null
    PID[a]=
    sg_poll "$FAILOVER_BOUND" master_is b || { load_stop; fail "no promotion within $FAILOVER_BOUND s"; return; }
    tp=$(date +%s%3N)
    echo "# promotion seen $((tp - t0)) ms after the kill"
    sg_poll "$FAILOVER_BOUND" settled "$tp"
    load_stop
    judge_load "master killed" "$tp"
    api_signin "$API_EMAIL" || fail "the user written before the kill signs in"
    api_new_user after || fail "a new user after the failover"
    assertEquals "written to the new master" 1 "$(rcli b EXISTS "sg:{u:$API_UID}:user")"
}

test_manual_failover_under_load() {
    local tp
    master_is b || startSkipping
    # the killed node back, as a replica of the new master
    start_node a "${PORT[b]}" || fail "node a did not start again"
    sg_poll 120 topology_ready b a c || fail "the sentinels never counted a as a replica"
    api_new_user manual || fail "sign-in"
    load_start "$API_TOKEN"
    sg_poll 30 enough_after 0 || fail "the load did not start"
    rcli s1 SENTINEL FAILOVER "$NAME" >/dev/null
    sg_poll "$FAILOVER_BOUND" master_is a || { load_stop; fail "no failover within $FAILOVER_BOUND s"; return; }
    tp=$(date +%s%3N)
    sg_poll "$FAILOVER_BOUND" settled "$tp"
    load_stop
    judge_load "manual failover" "$tp"
    api_new_user manual2 || fail "a new user after the failover"
    assertEquals "written to the new master" 1 "$(rcli a EXISTS "sg:{u:$API_UID}:user")"
}

# shellcheck source=/dev/null
. /usr/share/shunit2/shunit2
