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
# shellcheck source=tests/integration/load.sh
. "$(dirname "${BASH_SOURCE[0]}")/load.sh"

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
    LOAD_DIR=$SN_WORK
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
    judge_load "master killed" "$tp" "the sentinels named the new master"
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
    judge_load "manual failover" "$tp" "the sentinels named the new master"
    api_new_user manual2 || fail "a new user after the failover"
    assertEquals "written to the new master" 1 "$(rcli a EXISTS "sg:{u:$API_UID}:user")"
}

# shellcheck source=/dev/null
. /usr/share/shunit2/shunit2
