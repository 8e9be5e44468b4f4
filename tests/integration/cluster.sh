#!/bin/bash
# tests/integration/cluster.sh -- Redis Cluster (redis_cluster; src/
# store_route.c, docs/CLUSTER.md): three masters and three replicas
# (redis-server --cluster-enabled yes, redis-cli --cluster create) on
# loopback ports, sessiongate behind nginx routing each command to the
# master of its slot.
#
#   test_api_through_cluster    register, sign in, verify, /me, /sessions,
#       refresh, sign out for several users, whose keys land on every
#       master; the CLI lists and finds them
#   test_admin_through_cluster  GET and DELETE /admin/users/{id}/sessions,
#       the admin and the user in two slots: 200, 403 without the role,
#       404 for an unknown user
#   test_slot_migrated_under_load  a user's slot moved to another master
#       by hand (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE) while a client
#       verifies that user's token in a loop: every answer 200; a request
#       sent while the slot moves goes through ASK and TRYAGAIN
#   test_master_killed_under_load  the master of a user's slot SIGKILLed
#       under the same load: only 200 and 503 with Retry-After until its
#       replica is promoted, then 200; the user signs in again
#   test_reshard_under_load     every slot of a master moved by redis-cli
#       --cluster reshard under the same load: every answer 200 (last: two
#       masters with slots are left, too few to elect a replica)
#
# With SG_CLUSTER_TLS=1 (tests/integration/cluster-tls.sh) every node also
# has a tls-port, the cluster bus and replication are TLS (tls-cluster,
# tls-replication: else the nodes never learn each other's TLS ports), and
# sessiongate speaks TLS to the masters (redis_tls, the seeds' TLS ports,
# a CA made here). The tests read the nodes on their plain ports; what
# the nodes do among themselves (create, MIGRATE, reshard) goes to the
# TLS ports.
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/api.sh
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"
# shellcheck source=tests/integration/load.sh
. "$(dirname "${BASH_SOURCE[0]}")/load.sh"

sg_require nginx
# a cluster is roundtrip only (local mode is refused with redis_cluster)
unset SG_VERIFY_MODE

FAILOVER_BOUND=60
SETTLE_MS=5000
NODES="n1 n2 n3 n4 n5 n6"
CL_WORK=
CL_TLS=${SG_CLUSTER_TLS:-0}
declare -A PORT TLSPORT PID

rcli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
# tls_args: redis-cli's arguments for the nodes' TLS ports (none: plain)
tls_args() { [ "$CL_TLS" = 1 ] && printf '%s\n' --tls --cacert "$CL_WORK/tls/ca.pem"; }
# bus_port PORT: the port by which the nodes reach the node at PORT among
# themselves (its TLS port when the bus is TLS)
bus_port() {
    local n
    [ "$CL_TLS" = 1 ] || { echo "$1"; return; }
    for n in $NODES; do [ "${PORT[$n]}" = "$1" ] && echo "${TLSPORT[$n]}"; done
}

# start_node NAME: a cluster-enabled redis-server on free ports (its bus
# port too), retried on other ports if they were taken meanwhile
start_node() {
    local n=$1 try tls=()
    for try in 1 2 3 4 5; do
        PORT[$n]=$(sg_pick_port) && local bus && bus=$(sg_pick_port) || return 1
        if [ "$CL_TLS" = 1 ]; then
            TLSPORT[$n]=$(sg_pick_port) || return 1
            tls=(--tls-port "${TLSPORT[$n]}" --tls-cert-file "$CL_WORK/tls/redis.pem"
                --tls-key-file "$CL_WORK/tls/redis.key" --tls-ca-cert-file "$CL_WORK/tls/ca.pem"
                --tls-auth-clients no --tls-cluster yes --tls-replication yes)
        fi
        mkdir -p "$CL_WORK/$n"
        redis-server --port "${PORT[$n]}" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-port "$bus" \
            --cluster-config-file "$CL_WORK/$n/nodes.conf" \
            --cluster-node-timeout 1000 --save '' --appendonly no \
            --dir "$CL_WORK/$n" --logfile "$CL_WORK/$n.log" "${tls[@]}" </dev/null &
        PID[$n]=$!
        sg_poll 60 eval "! kill -0 ${PID[$n]} 2>/dev/null || [ \"\$(rcli ${PORT[$n]} ping 2>/dev/null)\" = PONG ]"
        [ "$(rcli "${PORT[$n]}" ping 2>/dev/null)" = PONG ] && return 0
        kill "${PID[$n]}" 2>/dev/null && wait "${PID[$n]}" 2>/dev/null
        echo "cluster.sh: $n did not start on ${PORT[$n]} (try $try)" >&2
    done
    return 1
}

# cluster_ok: every live node says the cluster is ok and every slot served
cluster_ok() {
    local n
    for n in $NODES; do
        [ -n "${PID[$n]:-}" ] || continue
        rcli "${PORT[$n]}" CLUSTER INFO 2>/dev/null | tr -d '\r' |
            grep -qx 'cluster_state:ok' || return 1
    done
}

# master_of SLOT: the port of the master serving SLOT (asked of n1, or of
# the first live node)
master_of() {
    local n ask
    for n in $NODES; do [ -n "${PID[$n]:-}" ] && { ask=${PORT[$n]}; break; }; done
    rcli "$ask" CLUSTER NODES | awk -v s="$1" '
        $3 ~ /master/ && $3 !~ /fail/ {
            for (i = 9; i <= NF; i++) {
                split($i, r, "-")
                if (r[2] == "") r[2] = r[1]
                if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2]; exit }
            }
        }'
}
node_id() { rcli "$1" CLUSTER MYID; }
sgcli() { "$SG_BIN" "$@" --config "$SG_DIR/sessiongate.conf" 2>>"$CL_WORK/cli.err"; }
name_of_port() { local n; for n in $NODES; do [ "${PORT[$n]}" = "$1" ] && echo "$n"; done; }
slot_of_user() { rcli "${PORT[n1]}" CLUSTER KEYSLOT "sg:{u:$1}:user"; }

oneTimeSetUp() {
    local n addrs='' conf
    CL_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-cluster.XXXXXX") || return 1
    LOAD_DIR=$CL_WORK
    if [ "$CL_TLS" = 1 ]; then
        # the stack's app user reads the CA in here
        chmod 0755 "$CL_WORK" && sg_tls_certs "$CL_WORK/tls" || return 1
    fi
    for n in $NODES; do
        start_node "$n" || { echo "cluster.sh: redis $n did not start" >&2; return 1; }
        addrs="$addrs 127.0.0.1:$(bus_port "${PORT[$n]}")"
    done
    # shellcheck disable=SC2046,SC2086
    redis-cli $(tls_args) --cluster create $addrs --cluster-replicas 1 --cluster-yes \
        >"$CL_WORK/create.log" 2>&1 || {
        echo "cluster.sh: redis-cli --cluster create failed:" >&2
        tail -n 5 "$CL_WORK/create.log" >&2
        return 1
    }
    sg_poll 120 cluster_ok || { echo "cluster.sh: the cluster never became ok" >&2; return 1; }
    # redis_timeout bounds how long a command is tried again while its
    # slot moves: far more than the tests' migrations hold it
    conf="redis_cluster = 127.0.0.1:${PORT[n1]}, 127.0.0.1:${PORT[n2]}, 127.0.0.1:${PORT[n3]}"
    [ "$CL_TLS" = 1 ] && conf="redis_cluster = 127.0.0.1:${TLSPORT[n1]}, 127.0.0.1:${TLSPORT[n2]}, 127.0.0.1:${TLSPORT[n3]}
redis_tls = on
redis_tls_ca_file = $CL_WORK/tls/ca.pem"
    api_use_stack main nginx "$conf
redis_timeout = 10s" ||
        return 1
}

oneTimeTearDown() {
    local n
    load_stop
    api_stop_all
    for n in $NODES; do
        [ -n "${PID[$n]:-}" ] || continue
        kill "${PID[$n]}" 2>/dev/null && wait "${PID[$n]}" 2>/dev/null
        PID[$n]=
    done
    if [ -n "$CL_WORK" ]; then
        if [ "${__shunit_testsFailed:-0}" -gt 0 ] 2>/dev/null; then
            for n in $NODES; do
                echo "---- $n.log" >&2
                tail -n 10 "$CL_WORK/$n.log" >&2
            done
        fi
        if [ "${SG_KEEP:-0}" = 1 ]; then echo "cluster.sh: kept $CL_WORK" >&2; else rm -rf "$CL_WORK"; fi
        CL_WORK=
    fi
}

# ---- tests -------------------------------------------------------------------

# masters_with_calls: how many nodes ran sessiongate's functions
masters_with_calls() {
    local n c=0
    for n in $NODES; do
        rcli "${PORT[$n]}" INFO commandstats | tr -d '\r' | grep -q '^cmdstat_fcall:' && c=$((c + 1))
    done
    echo $c
}

test_api_through_cluster() {
    local i token refresh
    for i in 1 2 3 4 5 6; do
        api_new_user "cl$i" || fail "sign-in $i through the cluster"
        api_auth "$API_TOKEN" GET /auth/verify
        assertEquals "verify $i: $SG_BODY" 200 "$SG_STATUS"
    done
    api_auth "$API_TOKEN" GET /auth/me
    assertEquals "/auth/me: $SG_BODY" 200 "$SG_STATUS"
    assertEquals "the user" "$API_UID" "$(sg_json .data.user.id)"
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "/sessions: $SG_BODY" 1 "$(sg_json '.data.sessions | length')"
    token=$API_TOKEN refresh=$API_REFRESH
    api_refresh "$refresh"
    assertEquals "refresh: $SG_BODY" 200 "$SG_STATUS"
    api_signout "$token"
    assertEquals "sign-out: $SG_BODY" 200 "$SG_STATUS"
    api_auth "$token" GET /auth/verify
    assertEquals "verify after sign-out" 401 "$SG_STATUS"
    # six users, their addresses and the user set: every master has work
    # (all on one master by chance: 1 in 3^12)
    assertTrue "keys on more than one master ($(masters_with_calls))" "[ $(masters_with_calls) -ge 2 ]"
    assertContains "the CLI lists the users" \
        "$(sgcli user list)" "$API_UID"
    sgcli sessions list "$API_EMAIL" >/dev/null
    assertEquals "the CLI finds a user by address" 0 $?
    sgcli user del "$API_EMAIL" >/dev/null
    assertEquals "the CLI deletes a user" 0 $?
    api_post /auth/signin "$(creds_json "$API_EMAIL" "$API_PASSWORD")"
    assertEquals "a deleted user cannot sign in" 401 "$SG_STATUS"
    api_register "$API_EMAIL" "$API_PASSWORD"
    assertEquals "and the address is free again: $SG_BODY" 201 "$SG_STATUS"
    assertNull "no address in a key's name" \
        "$(for n in $NODES; do rcli "${PORT[$n]}" --scan --pattern '*@*'; done)"
}

test_admin_through_cluster() {
    local uid tok adm
    api_new_user target || fail "sign-in of the target"
    uid=$API_UID tok=$API_TOKEN
    api_new_user boss || fail "sign-in of the admin"
    api_set_roles "$API_EMAIL" admin user || fail "roles"
    api_signin "$API_EMAIL" || fail "the admin signs in again"
    adm=$API_TOKEN
    # the two users are in two slots (one in 16384: the same one)
    api_auth "$adm" GET "/admin/users/$uid/sessions"
    assertEquals "an admin lists another user's sessions: $SG_BODY" 200 "$SG_STATUS"
    assertEquals "one session" 1 "$(sg_json '.data.sessions | length')"
    assertNotNull "the admin's limit headers" "$(hdr X-RateLimit-Remaining)"
    api_auth "$tok" GET "/admin/users/$uid/sessions"
    assertEquals "a user without the role" 403 "$SG_STATUS"
    api_auth "$adm" GET "/admin/users/0123456789abcdef0123456789abcdef/sessions"
    assertEquals "an unknown user" 404 "$SG_STATUS"
    api_auth "$adm" DELETE "/admin/users/$uid/sessions"
    assertEquals "an admin ends another user's sessions: $SG_BODY" 200 "$SG_STATUS"
    api_auth "$tok" GET /auth/verify
    assertEquals "that user's token" 401 "$SG_STATUS"
    api_auth "$adm" GET /auth/verify
    assertEquals "the admin's own session lives" 200 "$SG_STATUS"
}

# asking_calls PORT: how many ASKING commands the node has run
asking_calls() {
    rcli "$1" INFO commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_asking:calls=\([0-9]*\).*/\1/p' | awk '{ print $1 + 0 } END { if (!NR) print 0 }'
}
asked_more() { [ "$(asking_calls "$1")" -gt "$2" ]; }
masters() { local n; for n in $NODES; do [ -n "${PID[$n]:-}" ] && rcli "${PORT[$n]}" ROLE | head -1 | grep -qx master && echo "${PORT[$n]}"; done; }
other_master() { masters | grep -vx "$1" | head -1; }

# all_200 WHAT: every answer of the load was 200 (figures printed)
all_200() {
    awk '{ n[$2]++ } END { printf "# %s: answers by status:", what; for (s in n) printf " %s=%d", s, n[s]; print "" }' what="$1" "$LOAD_DIR/load.out"
    assertEquals "$1: answers other than 200" "" \
        "$(awk '$2 != 200 { printf "%s@%s ", $2, $1 }' "$LOAD_DIR/load.out")"
}

test_slot_migrated_under_load() {
    local slot src dst srcid dstid keys asked t one port
    api_new_user moved || fail "sign-in"
    slot=$(slot_of_user "$API_UID")
    src=$(master_of "$slot") dst=$(other_master "$src")
    assertNotNull "a master to move slot $slot to (from $src)" "$dst"
    [ -n "$dst" ] || return
    srcid=$(node_id "$src") dstid=$(node_id "$dst")
    load_start "$API_TOKEN"
    sg_poll 30 enough_after 0 || fail "the load did not start"
    # the slot in migration, its keys moved: until SETSLOT NODE a command
    # meets ASK on the old master, then TRYAGAIN on the new one (its
    # missing keys), and sessiongate tries again
    rcli "$dst" CLUSTER SETSLOT "$slot" IMPORTING "$srcid" >/dev/null
    rcli "$src" CLUSTER SETSLOT "$slot" MIGRATING "$dstid" >/dev/null
    keys=$(rcli "$src" CLUSTER GETKEYSINSLOT "$slot" 100 | tr '\n' ' ')
    # shellcheck disable=SC2086
    rcli "$src" MIGRATE 127.0.0.1 "$(bus_port "$dst")" "" 0 5000 KEYS $keys >/dev/null
    asked=$(asking_calls "$dst")
    one=$CL_WORK/one.out
    curl -s -o /dev/null --max-time 60 -H "Authorization: Bearer $API_TOKEN" \
        -w '%{http_code}' "$SG_URL/auth/verify" >"$one" &
    sg_poll 30 asked_more "$dst" "$asked" || fail "no ASKING reached the new master"
    for port in $(masters); do
        rcli "$port" CLUSTER SETSLOT "$slot" NODE "$dstid" >/dev/null
    done
    wait $!
    assertEquals "the request sent while the slot moved" 200 "$(cat "$one")"
    t=$(date +%s%3N)
    sg_poll 30 enough_after "$t" || fail "the load stalled after the slot moved"
    load_stop
    all_200 "slot migration"
    assertEquals "the slot's master now" "$dst" "$(master_of "$slot")"
}

test_master_killed_under_load() {
    local uid slot src name t0 tp
    api_new_user killed || fail "sign-in"
    uid=$API_UID
    slot=$(slot_of_user "$uid")
    src=$(master_of "$slot")
    name=$(name_of_port "$src")
    assertNotNull "the master of slot $slot" "$name"
    [ -n "$name" ] || return
    # what the master acknowledged is on its replica before the kill
    assertEquals "replicated" 1 "$(rcli "$src" WAIT 1 10000)"
    load_start "$API_TOKEN"
    sg_poll 30 enough_after 0 || fail "the load did not start"
    t0=$(date +%s%3N)
    kill -KILL "${PID[$name]}"
    wait "${PID[$name]}" 2>/dev/null
    PID[$name]=
    sg_poll "$FAILOVER_BOUND" eval '[ -n "$(master_of '"$slot"')" ] && [ "$(master_of '"$slot"')" != '"$src"' ] && cluster_ok' ||
        { load_stop; fail "no promotion within $FAILOVER_BOUND s"; return; }
    tp=$(date +%s%3N)
    echo "# promotion seen $((tp - t0)) ms after the kill"
    sg_poll "$FAILOVER_BOUND" settled "$tp"
    load_stop
    judge_load "master killed" "$tp"
    api_signin "$API_EMAIL" || fail "the user written before the kill signs in"
    api_new_user after || fail "a new user after the failover"
}

test_reshard_under_load() {
    local slot src dst n
    api_new_user reshard || fail "sign-in"
    slot=$(slot_of_user "$API_UID")
    src=$(master_of "$slot") dst=$(other_master "$src")
    # every slot of the user's master, moved by redis-cli: MOVED for the
    # user's requests once theirs has gone
    n=$(rcli "$src" CLUSTER NODES | awk '$3 ~ /myself/ { c = 0; for (i = 9; i <= NF; i++) { split($i, r, "-"); c += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print c }')
    load_start "$API_TOKEN"
    sg_poll 30 enough_after 0 || fail "the load did not start"
    # shellcheck disable=SC2046
    redis-cli $(tls_args) --cluster reshard "127.0.0.1:$(bus_port "$src")" --cluster-from "$(node_id "$src")" \
        --cluster-to "$(node_id "$dst")" --cluster-slots "$n" --cluster-yes \
        >"$CL_WORK/reshard.log" 2>&1 || fail "redis-cli --cluster reshard failed: $(tail -n 3 "$CL_WORK/reshard.log")"
    t=$(date +%s%3N)
    sg_poll 30 enough_after "$t" || fail "the load stalled after the reshard"
    load_stop
    all_200 "reshard of $n slots"
    assertEquals "the user's slot moved" "$dst" "$(master_of "$slot")"
    sg_poll 60 cluster_ok || fail "the cluster is not ok after the reshard"
}

# shellcheck source=/dev/null
. /usr/share/shunit2/shunit2
