#!/bin/bash
# tests/integration/tls.sh -- TLS to Redis (redis_tls, src/store_tls.c)
# against Debian's redis-server on a loopback tls-port, with a password,
# and a CA, server and client certificates made here by openssl.
#
#   test_api_over_tls           nginx (sessiongate standalone, roundtrip
#       mode) over TLS: register, sign in, verify, sign out; the data is
#       in the TLS Redis
#   test_local_mode_over_tls    lighttpd in verify_mode = local on the same
#       Redis: its reader follows the revocation stream over TLS, and a
#       sign-out on nginx is refused on lighttpd
#   test_cli_over_tls           `sessiongate user add` over TLS
#   test_redis_restart          the TLS Redis stopped and started again:
#       503, then 200 within a bound, with a fresh handshake
#   test_redis_paused           Redis stopped (SIGSTOP): the request is
#       answered 503 within redis_timeout and a margin, not hung
#   test_wrong_ca_refused, test_wrong_name_refused,
#   test_client_certificate     one CGI request each against a config with
#       an untrusted CA, a name the certificate does not hold, and no or a
#       client certificate once Redis requires one: 503 STORE_UNAVAILABLE
#       and a log line that says why
#   test_sentinel_over_tls      a replica and a sentinel on TLS ports:
#       CGI /ready through the sentinel reaches the master over TLS, and
#       after SENTINEL FAILOVER the new one
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION).

case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
# the local-mode stack sets its own verify_mode (a repeated key is an error)
unset SG_VERIFY_MODE
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/api.sh
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_require nginx
sg_require lighttpd
command -v openssl >/dev/null 2>&1 || sg_skip_suite "openssl is not installed"

TLS_WORK=
TLS_PORT=
REDIS_PID=
export REDISCLI_AUTH=

# ---- certificates and the TLS Redis ----------------------------------------

# cert NAME CN EXT [CA]: NAME.key and NAME.pem, signed by CA (default: ca),
# with the extensions EXT (openssl x509 -extfile syntax).
cert() {
    local n=$1 cn=$2 ext=$3 ca=${4:-ca}
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$TLS_WORK/$n.key" -out "$TLS_WORK/$n.csr" -subj "/CN=$cn" 2>/dev/null &&
        printf '%s\n' "$ext" >"$TLS_WORK/$n.ext" &&
        openssl x509 -req -in "$TLS_WORK/$n.csr" -CA "$TLS_WORK/$ca.pem" \
            -CAkey "$TLS_WORK/$ca.key" -CAcreateserial -days 2 \
            -extfile "$TLS_WORK/$n.ext" -out "$TLS_WORK/$n.pem" 2>/dev/null
}

# ca NAME: a self-signed CA
ca() {
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$TLS_WORK/$1.key" -out "$TLS_WORK/$1.pem" -days 2 \
        -subj "/CN=sessiongate test $1" 2>/dev/null
}

rcli() { redis-cli -s "$TLS_WORK/redis.sock" "$@"; }
redis_up() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }

start_redis() {
    redis-server --port 0 --bind 127.0.0.1 --tls-port "$TLS_PORT" \
        --tls-cert-file "$TLS_WORK/redis.pem" --tls-key-file "$TLS_WORK/redis.key" \
        --tls-ca-cert-file "$TLS_WORK/ca.pem" --tls-auth-clients optional \
        --requirepass "$REDISCLI_AUTH" \
        --unixsocket "$TLS_WORK/redis.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$TLS_WORK" \
        --logfile "$TLS_WORK/redis.log" </dev/null &
    REDIS_PID=$!
    sg_poll 60 redis_up
}

stop_redis() {
    [ -n "$REDIS_PID" ] || return 0
    kill -CONT "$REDIS_PID" 2>/dev/null
    kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

# The sessiongate keys that point a stack at the TLS Redis.
tls_conf() {
    printf '%s\n' "redis = 127.0.0.1:$TLS_PORT" "redis_tls = on" \
        "redis_tls_ca_file = $TLS_WORK/ca.pem" \
        "redis_password_file = $TLS_WORK/redis.password" \
        "jwt_secret_file = $TLS_WORK/jwt.secret"
}

oneTimeSetUp() {
    TLS_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-tls.XXXXXX") || return 1
    # the stacks' app user reads the CA, the password and the secret here
    chmod 0755 "$TLS_WORK"
    ca ca && ca other &&
        cert redis localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1' &&
        cert client sessiongate 'extendedKeyUsage=clientAuth' || {
        echo "tls.sh: openssl could not make the certificates" >&2
        return 1
    }
    REDISCLI_AUTH=$(openssl rand -hex 16)
    printf '%s\n' "$REDISCLI_AUTH" >"$TLS_WORK/redis.password"
    openssl rand -hex 32 >"$TLS_WORK/jwt.secret"
    chmod 0644 "$TLS_WORK"/*
    TLS_PORT=$(sg_pick_port) || return 1
    start_redis || { echo "tls.sh: the TLS redis-server did not start" >&2; return 1; }
    api_use_stack rt nginx "$(tls_conf)" || return 1
    api_use_stack local lighttpd "$(tls_conf)
verify_mode = local" || return 1
}

oneTimeTearDown() {
    api_stop_all
    stop_sentinel_topology
    stop_redis
    if [ -n "$TLS_WORK" ]; then
        [ "${__shunit_testsFailed:-0}" -gt 0 ] 2>/dev/null &&
            { echo "---- redis.log" >&2; tail -n 20 "$TLS_WORK/redis.log" >&2; }
        rm -rf "$TLS_WORK"
        TLS_WORK=
    fi
}

tearDown() {
    # a test that stopped Redis leaves it running again for the next
    [ -d "${TLS_WORK:-}" ] || return 0
    [ -z "$REDIS_PID" ] || kill -CONT "$REDIS_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] || start_redis
}

# cgi PATH [CONF_LINES]: one CGI GET of PATH with the TLS config, its
# keys replaced by those in CONF_LINES; CGI_STATUS, CGI_OUT, CGI_ERR (the
# log).
cgi() {
    local conf=$TLS_WORK/cgi.conf extra=${2:-} k
    {
        tls_conf | while IFS= read -r k; do
            grep -q "^${k%% = *} = " <<<"$extra" || printf '%s\n' "$k"
        done
        printf '%s\n' "log_level = info" "$extra"
    } >"$conf"
    env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
        PATH_INFO="$1" REMOTE_ADDR=127.0.0.1 SESSIONGATE_CONFIG="$conf" \
        "$SG_BIN" >"$TLS_WORK/cgi.out" 2>"$TLS_WORK/cgi.err" </dev/null
    CGI_OUT=$(cat "$TLS_WORK/cgi.out") CGI_ERR=$(cat "$TLS_WORK/cgi.err")
    CGI_STATUS=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$TLS_WORK/cgi.out" | tr -d '\r')
    [ -n "$CGI_STATUS" ] || CGI_STATUS=200
}

ready_200() { sg_req GET /ready; [ "$SG_STATUS" = 200 ]; }

# ---- tests -------------------------------------------------------------------

test_api_over_tls() {
    local uid
    api_use_stack rt
    api_new_user tls || fail "sign-in over TLS"
    uid=$API_UID
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "verify: $SG_BODY" 200 "$SG_STATUS"
    assertEquals "the user is in the TLS Redis" 1 "$(rcli EXISTS "sg:{u:$uid}:user")"
    api_signout "$API_TOKEN"
    assertEquals "sign-out: $SG_BODY" 200 "$SG_STATUS"
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "verify after sign-out" 401 "$SG_STATUS"
    sg_req GET /ready
    assertEquals "ready: $SG_BODY" 200 "$SG_STATUS"
}

table_current() { api_table_current; }
verify_is() { api_auth "$1" GET /auth/verify; [ "$SG_STATUS" = "$2" ]; }

test_local_mode_over_tls() {
    local token
    api_use_stack local
    sg_poll 60 table_current || fail "the reader over TLS never made its table current: $SG_BODY"
    api_use_stack rt
    api_new_user tlslocal || fail "sign-in"
    token=$API_TOKEN
    api_use_stack local
    api_auth "$token" GET /auth/verify
    assertEquals "verify on the local-mode stack: $SG_BODY" 200 "$SG_STATUS"
    api_use_stack rt
    api_signout "$token"
    assertEquals "sign-out: $SG_BODY" 200 "$SG_STATUS"
    api_use_stack local
    sg_poll 60 verify_is "$token" 401 ||
        fail "a session ended on the other stack was not refused: $SG_STATUS"
}

test_cli_over_tls() {
    local conf=$TLS_WORK/cli.conf out
    { tls_conf; echo "pbkdf2_iterations = 1000"; } >"$conf"
    out=$(printf 'a long enough password\n' |
        "$SG_BIN" user add "cli-$$@example.com" --config "$conf" 2>"$TLS_WORK/cli.err")
    assertEquals "user add over TLS: $(cat "$TLS_WORK/cli.err")" 0 $?
    assertEquals "the new user is in the TLS Redis" 1 "$(rcli EXISTS "sg:{u:$out}:user")"
}

test_redis_restart() {
    api_use_stack rt
    api_new_user restart || fail "sign-in"
    stop_redis
    sg_req GET /ready
    assertEquals "ready with Redis down" 503 "$SG_STATUS"
    start_redis || fail "redis did not start again"
    sg_poll 60 ready_200 || fail "not ready again after the restart: $SG_BODY"
    api_new_user restarted || fail "sign-in after the restart"
}

test_redis_paused() {
    local t0 t1
    api_use_stack rt
    api_new_user paused || fail "sign-in"
    kill -STOP "$REDIS_PID"
    t0=$(date +%s)
    api_auth "$API_TOKEN" GET /auth/verify
    t1=$(date +%s)
    kill -CONT "$REDIS_PID"
    assertEquals "verify with Redis stopped: $SG_BODY" 503 "$SG_STATUS"
    # redis_timeout is 1 s: anything near the curl bound is a hang
    assertTrue "answered after $((t1 - t0)) s" "[ $((t1 - t0)) -lt 20 ]"
    sg_poll 60 ready_200 || fail "not ready again after SIGCONT: $SG_BODY"
}

test_wrong_ca_refused() {
    cgi /ready "redis_tls_ca_file = $TLS_WORK/other.pem"
    assertEquals "ready: $CGI_OUT" 503 "$CGI_STATUS"
    assertContains "the log says why" "$CGI_ERR" "the server's certificate"
    echo "# $CGI_ERR"
    cgi /ready
    assertEquals "the right CA: $CGI_ERR" 200 "$CGI_STATUS"
}

test_wrong_name_refused() {
    cgi /ready "redis_tls_server_name = redis.example.com"
    assertEquals "ready: $CGI_OUT" 503 "$CGI_STATUS"
    assertContains "the log says why" "$CGI_ERR" "hostname mismatch"
    echo "# $CGI_ERR"
    cgi /ready "redis_tls_server_name = localhost"
    assertEquals "the name in the certificate: $CGI_ERR" 200 "$CGI_STATUS"
}

test_client_certificate() {
    rcli CONFIG SET tls-auth-clients yes >/dev/null
    cgi /ready
    assertEquals "no client certificate: $CGI_OUT" 503 "$CGI_STATUS"
    assertContains "the log names TLS" "$CGI_ERR" "TLS"
    echo "# $CGI_ERR"
    cgi /ready "redis_tls_cert_file = $TLS_WORK/client.pem
redis_tls_key_file = $TLS_WORK/client.key"
    assertEquals "with the client certificate: $CGI_ERR" 200 "$CGI_STATUS"
    rcli CONFIG SET tls-auth-clients optional >/dev/null
}

# ---- Sentinel over TLS -------------------------------------------------------

SN_PORT= SN_PID= REPLICA_PORT= REPLICA_PID=
SN_NAME=tlsmaster

scli() {
    redis-cli --tls --cacert "$TLS_WORK/ca.pem" -h 127.0.0.1 -p "$SN_PORT" "$@"
}
# sn_names PORT: the sentinel names the master at PORT
sn_names() { [ "$(scli SENTINEL get-master-addr-by-name "$SN_NAME" 2>/dev/null | sed -n 2p)" = "$1" ]; }
# sn_sees_replica: the sentinel knows the replica and its link is up
sn_sees_replica() {
    scli SENTINEL replicas "$SN_NAME" 2>/dev/null | grep -qx "$REPLICA_PORT" &&
        redis-cli -s "$TLS_WORK/replica.sock" INFO replication 2>/dev/null |
        tr -d '\r' | grep -qx 'master_link_status:up'
}
replica_up() { [ "$(redis-cli -s "$TLS_WORK/replica.sock" ping 2>/dev/null)" = PONG ]; }
replica_is_master() { redis-cli -s "$TLS_WORK/replica.sock" ROLE 2>/dev/null | head -1 | grep -qx master; }
sentinel_up() { [ "$(scli ping 2>/dev/null)" = PONG ]; }

stop_sentinel_topology() {
    local p
    for p in "$SN_PID" "$REPLICA_PID"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    SN_PID= REPLICA_PID=
    # the first Redis may have been made a replica: a master again
    [ -n "$REDIS_PID" ] && rcli REPLICAOF NO ONE >/dev/null 2>&1
    return 0
}

test_sentinel_over_tls() {
    local conf
    REPLICA_PORT=$(sg_pick_port) && SN_PORT=$(sg_pick_port) || fail "no free port"
    # a replica of the TLS Redis, replicating over TLS, and one sentinel
    # that talks TLS to both and to its clients
    redis-server --port 0 --bind 127.0.0.1 --tls-port "$REPLICA_PORT" \
        --tls-cert-file "$TLS_WORK/redis.pem" --tls-key-file "$TLS_WORK/redis.key" \
        --tls-ca-cert-file "$TLS_WORK/ca.pem" --tls-auth-clients optional \
        --tls-replication yes --replicaof 127.0.0.1 "$TLS_PORT" \
        --masterauth "$REDISCLI_AUTH" --requirepass "$REDISCLI_AUTH" \
        --unixsocket "$TLS_WORK/replica.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$TLS_WORK" \
        --logfile "$TLS_WORK/replica.log" </dev/null &
    REPLICA_PID=$!
    mkdir -p "$TLS_WORK/sentinel"
    printf '%s\n' "port 0" "bind 127.0.0.1" "tls-port $SN_PORT" \
        "tls-cert-file $TLS_WORK/redis.pem" "tls-key-file $TLS_WORK/redis.key" \
        "tls-ca-cert-file $TLS_WORK/ca.pem" "tls-auth-clients optional" \
        "tls-replication yes" "dir $TLS_WORK/sentinel" \
        "logfile $TLS_WORK/sentinel.log" \
        "sentinel monitor $SN_NAME 127.0.0.1 $TLS_PORT 1" \
        "sentinel auth-pass $SN_NAME $REDISCLI_AUTH" \
        "sentinel down-after-milliseconds $SN_NAME 1000" \
        "sentinel failover-timeout $SN_NAME 10000" >"$TLS_WORK/sentinel/sentinel.conf"
    redis-server "$TLS_WORK/sentinel/sentinel.conf" --sentinel </dev/null &
    SN_PID=$!
    sg_poll 60 replica_up && sg_poll 60 sentinel_up || {
        tail -n 15 "$TLS_WORK/replica.log" "$TLS_WORK/sentinel.log" 2>&1
        stop_sentinel_topology
        fail "the replica or the sentinel did not start"
        return
    }
    sg_poll 120 sn_sees_replica || fail "the sentinel never saw the replica"

    conf="redis_sentinels = 127.0.0.1:$SN_PORT
redis_master_name = $SN_NAME"
    cgi /ready "$conf"
    assertEquals "ready through the sentinel, over TLS: $CGI_ERR" 200 "$CGI_STATUS"
    assertContains "at the master it named" "$CGI_ERR" "at 127.0.0.1:$TLS_PORT"

    scli SENTINEL FAILOVER "$SN_NAME" >/dev/null
    sg_poll 120 sn_names "$REPLICA_PORT" || fail "the sentinel never promoted the replica"
    sg_poll 60 replica_is_master || fail "the replica never became master"
    cgi /ready "$conf"
    assertEquals "ready after the failover: $CGI_ERR" 200 "$CGI_STATUS"
    assertContains "at the new master" "$CGI_ERR" "at 127.0.0.1:$REPLICA_PORT"
    stop_sentinel_topology
}

test_no_secret_in_logs() {
    local logs
    api_use_stack rt
    logs=$(sg_stack logs 2>&1; cat "$TLS_WORK/cgi.err" 2>/dev/null)
    assertNotContains "the Redis password" "$logs" "$REDISCLI_AUTH"
    assertNotContains "a private key" "$logs" "PRIVATE KEY"
}

# shellcheck source=/dev/null
. /usr/share/shunit2/shunit2
