#!/bin/bash
# shellcheck disable=SC2094,SC1091
# tests/stack.sh -- start and stop a private sessiongate stack: a redis-server
# on a unix socket, a web server on 127.0.0.1:PORT and sessiongate behind it
# at /api/v1, the sign-in page (www/) at / and a protected /private/
# (tests/www-private/: a static file and a CGI; /private/admin/ needs the
# role admin). Used by the integration tests; usable by hand.
#
#   tests/stack.sh start SERVER --port P --dir D [--shipped]
#                                   SERVER: lighttpd apache nginx cgi
#   tests/stack.sh stop --dir D
#   tests/stack.sh redis-stop --dir D | redis-start --dir D
#   tests/stack.sh pids --dir D [all|master|worker|reader]
#   tests/stack.sh write-config --dir D     regenerate D/sessiongate.conf
#   tests/stack.sh reload --dir D           SIGHUP to the sessiongate masters
#   tests/stack.sh logs --dir D             tail of every log in D
#
# `start` prints the base URL (http://127.0.0.1:P/api/v1) and returns once
# GET /ready answers 200, or fails within SG_STACK_TIMEOUT seconds (default
# 120: a bound for a broken stack, far more than a start takes on a loaded
# machine; each step of the start has the same bound) with the tail of the
# logs, having stopped whatever it started. Exit
# status 3 means the port was taken (pick another and retry). Run from a
# terminal (stdout not captured), it also prints the sign-in page's URL.
#
# Everything lives in D (created if missing; made 0755 so that the app user
# and nginx's workers can reach their sockets): configs, sockets, logs
# (*.log), the secret D/jwt.secret (32 random bytes, 0600, owned by the user
# sessiongate runs as), the generated config D/sessiongate.conf and the PIDs
# of what was started (D/pids/). Lines in SG_STACK_EXTRA_CONF go into
# D/sessiongate.conf: a key given there replaces the stack's own value for
# it (repeated keys are errors in sessiongate), other lines are appended.
# SG_STACK_WORKERS (default 2) sets the workers of lighttpd's and nginx's
# sessiongate. --shipped leaves out what only the tests want (a password
# hash of 1000 PBKDF2 iterations, where the shipped default is 600000):
# the README's demo runs so (SG_STACK_SHIPPED=1 does the same).
#
# The web server configs are the shipped ones (lighttpd/, apache/, nginx/ at
# the top of the source tree) with their production paths replaced by paths
# in D (and www/, tests/www-private/ of the source tree, used in place when
# the servers' users can read them, else copied into D), wrapped in the
# server-wide settings kept in tests/stack/*.in (nginx also gets
# nginx/sessiongate-http.conf, its maps, in the http block). The nginx
# stack also runs fcgiwrap (for the protected CGI) on a unix socket in D.
#
# Run as root (the tests do), sessiongate runs as www-data, as a stock
# Debian web server would run it; run unprivileged, everything runs as the
# caller (Apache and nginx then skip their User switch).
#
# Environment: SG_BIN (default: src/sessiongate in the source tree this
# script is in), SG_STACK_EXTRA_CONF, SG_VERIFY_MODE (every stack's
# verify_mode unless SG_STACK_EXTRA_CONF sets one), SG_STACK_TIMEOUT, SG_STACK_USER (app
# user when root, default www-data), SG_STACK_REDIS (plain, tls, cluster or
# cluster-tls: the shape of Redis, below).

set -u
shopt -u patsub_replacement 2>/dev/null || true

# The source tree is where this script is (also in a VPATH build).
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# sg_pick_port, sg_port_listening, sg_tls_certs
# shellcheck source=tests/net.sh
. "$TOP/tests/net.sh"
SG_BIN=${SG_BIN:-$TOP/src/sessiongate}
SG_STACK_TIMEOUT=${SG_STACK_TIMEOUT:-120}
TEMPLATES=$TOP/tests/stack

# Production paths used in the shipped configs, replaced when rendering.
PROD_BIN=/usr/local/bin/sessiongate
PROD_CONF=/etc/sessiongate/sessiongate.conf
PROD_RUN=/run/sessiongate
PROD_WWW=/usr/local/share/sessiongate/www
PROD_PRIVATE=/var/www/private
PROD_FCGIWRAP=/run/fcgiwrap.socket
PROD_LUA=/usr/local/share/sessiongate/lighttpd

die() { echo "stack.sh: $*" >&2; exit 1; }
usage() {
    sed -n '\|^#   tests/stack.sh start|,\|^#   tests/stack.sh logs|p' "${BASH_SOURCE[0]}" |
        sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---- process helpers -------------------------------------------------------

# alive PID: the process exists and is not a zombie (PID 1 here may not
# reap the orphans we leave behind).
alive() {
    local st
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st%% *}" != Z ]
}

# wait_gone TIMEOUT PID...: poll until every PID has exited; 1 on timeout
# (TIMEOUT seconds of the clock, however slow each poll is).
wait_gone() {
    local deadline=$((SECONDS + $1)) p left
    shift
    while :; do
        left=
        for p in "$@"; do alive "$p" && left="$left $p"; done
        [ -z "$left" ] && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# poll_until CMD...: run CMD until it succeeds, at most SG_STACK_TIMEOUT
# seconds; 1 on timeout.
poll_until() {
    local deadline=$((SECONDS + SG_STACK_TIMEOUT))
    while :; do
        "$@" && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# stop_pids SIG PID...: signal, wait up to 30 s (a drain on a loaded
# machine), then SIGKILL what is left.
stop_pids() {
    local sig=$1 p
    shift
    [ $# -gt 0 ] || return 0
    for p in "$@"; do alive "$p" && kill "-$sig" "$p" 2>/dev/null; done
    wait_gone 30 "$@" && return 0
    for p in "$@"; do
        if alive "$p"; then
            echo "stack.sh: PID $p ignored SIG$sig for 30 s: SIGKILL" >&2
            kill -KILL "$p" 2>/dev/null
        fi
    done
    wait_gone 5 "$@"
}

# Every process as "pid ppid comm" (comm without spaces).
proc_table() {
    local f line pid rest comm ppid
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        pid=${line%% *}
        comm=${line#*(}
        comm=${comm%)*}
        rest=${line##*) }
        ppid=${rest#* }
        ppid=${ppid%% *}
        [ "${rest%% *}" = Z ] && continue
        echo "$pid $ppid ${comm// /_}"
    done
}

# reader_pids: the revocation readers of verify_mode = local (children of
# a master, like the workers, told apart by the line each logs at start)
# that are still sessiongate processes of this stack.
reader_pids() {
    local workers p
    workers=$(sg_pids worker)
    [ -n "$workers" ] || return 0
    sed -n 's/.*revocation reader \([0-9][0-9]*\): following the stream.*/\1/p' \
        "$D"/*.log 2>/dev/null | sort -un | while read -r p; do
        grep -qx "$p" <<<"$workers" && echo "$p"
    done
    return 0
}

# sg_pids ROLE: sessiongate processes below the PIDs recorded in D/pids,
# and any that names D's config in its command line or environment (a
# worker orphaned by a master that died). master: those whose parent is
# not sessiongate (masters, and in-process servers); worker: those that
# serve requests (children of a master, and in-process servers, which have
# no sessiongate children; with verify_mode = local a master's children
# include its revocation reader: reader_pids names those).
sg_pids() {
    local role=${1:-all} roots="" f name table pid ppid comm
    for f in server sessiongate; do
        [ -s "$D/pids/$f" ] && roots="$roots $(<"$D/pids/$f")"
    done
    name=$(basename "$(state BIN)")
    name=${name:0:15}
    table=$(proc_table)
    while read -r pid ppid comm; do
        [ "$comm" = "$name" ] || continue
        if grep -qsF "$D/sessiongate.conf" "/proc/$pid/cmdline" "/proc/$pid/environ"; then
            roots="$roots $pid"
        fi
    done <<<"$table"
    : "$ppid"
    [ -n "$roots" ] || return 0
    awk -v roots="$roots" -v name="$name" -v role="$role" '
        { ppid[$1] = $2; comm[$1] = $3 }
        END {
            n = split(roots, r, " ")
            for (i = 1; i <= n; i++) keep[r[i]] = 1
            # descendants of the roots (the roots included)
            do {
                grew = 0
                for (p in ppid)
                    if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; grew = 1 }
            } while (grew)
            for (p in keep) if ((p in comm) && comm[p] == name) sg[p] = 1
            for (p in sg) if (ppid[p] in sg) haskids[ppid[p]] = 1
            for (p in sg) {
                child = (ppid[p] in sg)
                if (role == "all" ||
                    (role == "master" && !child) ||
                    (role == "worker" && (child || !(p in haskids))))
                    print p
            }
        }' <<<"$table" | sort -n
}

# ---- state -------------------------------------------------------------------

state() { sed -n "s/^$1=//p" "$D/stack.state" 2>/dev/null; }

pid_of() { [ -s "$D/pids/$1" ] && cat "$D/pids/$1"; }

# ---- rendering -------------------------------------------------------------

# render TEMPLATE OUTPUT: replace the @PLACEHOLDERS@ of tests/stack/*.in.
render() {
    local text
    text=$(<"$1") || die "cannot read $1"
    text=${text//@DIR@/$D}
    text=${text//@PORT@/$PORT}
    text=${text//@SERVER@/$SERVER}
    text=${text//@WORKERS@/$WORKERS}
    text=${text//@USER_LINES@/$USER_LINES}
    printf '%s\n' "$text" >"$2" || die "cannot write $2"
}

# render_shipped FILE OUTPUT PATH...: the shipped config with its production
# paths replaced; each PATH must still be used in it (else the shipped file
# and this script have drifted apart).
render_shipped() {
    local src=$TOP/$1 out=$2 text p
    shift 2
    text=$(<"$src") || die "cannot read $src"
    for p in "$@"; do
        grep -v '^[[:space:]]*#' "$src" | grep -qF "$p" ||
            die "$src no longer uses $p: update tests/stack.sh to match"
    done
    text=${text//$PROD_CONF/$D/sessiongate.conf}
    text=${text//$PROD_BIN/$APP_BIN}
    text=${text//$PROD_RUN/$D/run}
    text=${text//$PROD_WWW/$SITE_WWW}
    text=${text//$PROD_LUA/$D/lighttpd-lua}
    text=${text//$PROD_PRIVATE/$SITE_PRIVATE}
    text=${text//$PROD_FCGIWRAP/$D/run/fcgiwrap.sock}
    printf '%s\n' "$text" >"$out" || die "cannot write $out"
}

# write_config: D/sessiongate.conf from the template and SG_STACK_EXTRA_CONF,
# replaced atomically (a running sessiongate may read it at any moment).
write_config() {
    local tmp=$D/.sessiongate.conf.$$ extra=${SG_STACK_EXTRA_CONF:-} keys line k
    # SG_VERIFY_MODE runs every stack in that verify_mode (make check
    # SG_VERIFY_MODE=local), unless the stack's own lines set one
    if [ -n "${SG_VERIFY_MODE:-}" ] && ! grep -q '^[[:space:]]*verify_mode[[:space:]]*=' <<<"$extra"; then
        extra="verify_mode = $SG_VERIFY_MODE${extra:+
$extra}"
    fi
    # a cluster verifies in roundtrip mode (local is refused with it)
    is_cluster && extra=$(grep -v '^verify_mode = ' <<<"$extra")
    render "$TEMPLATES/sessiongate.conf.in" "$tmp"
    # where Redis is, for this stack's shape
    SG_REDIS_LINES=$(redis_config_lines) awk '/^redis = / { print ENVIRON["SG_REDIS_LINES"]; next } { print }' \
        "$tmp" >"$tmp.x" && mv "$tmp.x" "$tmp"
    if [ "${SHIPPED:-0}" = 1 ]; then
        grep -v '^pbkdf2_iterations[[:space:]]*=' "$tmp" >"$tmp.x"
        mv "$tmp.x" "$tmp"
    fi
    if [ -n "$extra" ]; then
        keys=
        while IFS= read -r line; do
            case $line in '' | \#*) continue ;; esac
            k=${line%%=*}
            k=${k//[[:space:]]/}
            [ -n "$k" ] && keys="$keys $k"
        done <<<"$extra"
        for k in $keys; do
            grep -v "^[[:space:]]*${k}[[:space:]]*=" "$tmp" >"$tmp.x"
            mv "$tmp.x" "$tmp"
        done
        printf '# from SG_STACK_EXTRA_CONF\n%s\n' "$extra" >>"$tmp"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$D/sessiongate.conf"
}

# 32 random bytes from /dev/urandom, without NUL, CR or LF bytes (sessiongate
# strips a trailing CR/LF from secret files, and a reader stopping at NUL
# would see fewer): about 255.8 bits.
write_secret() {
    local f=$D/jwt.secret
    (
        umask 077
        : >"$f"
        while [ "$(stat -c %s "$f")" -lt 32 ]; do
            head -c 64 /dev/urandom | tr -d '\000\n\r' | head -c $((32 - $(stat -c %s "$f"))) >>"$f"
        done
    )
    chmod 0600 "$f"
    [ -n "$APP_CHOWN" ] && chown "$APP_CHOWN" "$f"
    return 0
}

# ---- logs ------------------------------------------------------------------

show_logs() {
    local f
    for f in "$D"/*.log; do
        [ -s "$f" ] || continue
        echo "---- $f (last 25 lines)"
        tail -n 25 "$f"
    done
}

port_taken() {
    grep -qs 'Address already in use' "$D"/*.log
}

# ---- redis -----------------------------------------------------------------
#
# SG_STACK_REDIS (recorded in stack.state as REDIS) picks what sessiongate
# talks to; the tests reach the data on D/redis.sock (on a cluster,
# `redis-cli -c -p` the first of REDIS_PORTS: -c follows MOVED):
#   plain    one redis-server on the unix socket D/redis.sock (default)
#   tls      one redis-server that sessiongate reaches on a loopback
#            tls-port (redis_tls, a CA and a certificate for 127.0.0.1
#            made in D/tls by openssl); D/redis.sock as well
#   cluster  three masters on loopback ports (redis-cli --cluster create,
#            no replicas), given to sessiongate as redis_cluster seeds;
#            the first one also listens on D/redis.sock
#   cluster-tls  the same three masters with TLS ports only (port 0,
#            tls-cluster: the bus is TLS too), certificates as for tls
# The nodes are "redis", "redis-2", "redis-3": D/NODE.conf, D/NODE.log,
# D/pids/NODE; their TCP ports are in stack.state (REDIS_PORTS).

is_cluster() { [ "$REDIS" = cluster ] || [ "$REDIS" = cluster-tls ]; }
is_tls() { [ "$REDIS" = tls ] || [ "$REDIS" = cluster-tls ]; }

redis_nodes() {
    if is_cluster; then echo redis redis-2 redis-3; else echo redis; fi
}

# tls_args: redis-cli's arguments for the TLS ports of this shape
tls_args() { is_tls && printf '%s\n' --tls --cacert "$D/tls/ca.pem"; }

# node_port NODE: its TCP port (tls, cluster), empty for plain
node_port() {
    local i=1 n p
    for n in $(redis_nodes); do
        [ "$n" = "$1" ] && break
        i=$((i + 1))
    done
    p=$(state REDIS_PORTS | cut -d' ' -f$i)
    echo "$p"
}

# rcli NODE ARGS...: redis-cli to NODE (node "redis" on the unix socket)
rcli() {
    local n=$1
    shift
    if [ "$n" = redis ]; then
        [ -S "$D/redis.sock" ] || return 1
        redis-cli -s "$D/redis.sock" "$@"
    else
        # shellcheck disable=SC2046
        redis-cli -h 127.0.0.1 -p "$(node_port "$n")" $(tls_args) "$@"
    fi
}

redis_ping() { [ "$(rcli "$1" ping 2>/dev/null)" = PONG ]; }

# cluster_ok: every node says cluster_state:ok (every slot served)
cluster_ok() {
    local n
    for n in $(redis_nodes); do
        rcli "$n" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok' || return 1
    done
}

# up_or_dead PID CHECK...: CHECK succeeds, or PID has died: either ends a
# poll_until (the caller then looks at CHECK once more).
up_or_dead() {
    local pid=$1
    shift
    "$@" || ! alive "$pid"
}

# redis_confs: D/NODE.conf for each node, from tests/stack/redis.conf.in
# and the lines of the shape; picks the TCP ports the first time.
redis_confs() {
    local n p ports='' bus='' i=0
    if [ "$REDIS" != plain ] && [ -z "$(state REDIS_PORTS)" ]; then
        # client ports, and a cluster's bus ports
        for n in $(redis_nodes); do
            p=$(sg_pick_port) || die "no free port for redis"
            ports="$ports${ports:+ }$p"
            is_cluster || continue
            p=$(sg_pick_port) || die "no free port for redis"
            bus="$bus${bus:+ }$p"
        done
        printf 'REDIS_PORTS=%s\nREDIS_BUS=%s\n' "$ports" "$bus" >>"$D/stack.state"
    fi
    is_tls && { sg_tls_certs "$D/tls" || die "cannot make the TLS files in $D/tls"; }
    for n in $(redis_nodes); do
        i=$((i + 1))
        render "$TEMPLATES/redis.conf.in" "$D/$n.conf"
        if [ "$n" != redis ]; then
            sed -i -e '/^unixsocket/d' -e "s|^logfile .*|logfile $D/$n.log|" "$D/$n.conf"
        fi
        p=$(node_port "$n")
        case $REDIS in
        cluster) printf '%s\n' "bind 127.0.0.1" "port $p" >>"$D/$n.conf" ;;
        tls | cluster-tls) printf '%s\n' "bind 127.0.0.1" "tls-port $p" \
            "tls-cert-file $D/tls/redis.pem" "tls-key-file $D/tls/redis.key" \
            "tls-ca-cert-file $D/tls/ca.pem" "tls-auth-clients no" >>"$D/$n.conf" ;;
        esac
        # the template's port 0 stands: TLS ports only, the bus too
        [ "$REDIS" != cluster-tls ] ||
            printf '%s\n' "tls-cluster yes" "tls-replication yes" >>"$D/$n.conf"
        ! is_cluster || printf '%s\n' "cluster-enabled yes" \
            "cluster-port $(state REDIS_BUS | cut -d' ' -f$i)" \
            "cluster-config-file $D/$n-nodes.conf" "cluster-node-timeout 5000" >>"$D/$n.conf"
    done
}

redis_start() {
    local n pid seeds=''
    for n in $(redis_nodes); do
        if alive "$(pid_of "$n")"; then
            echo "stack.sh: $n already running" >&2
            continue
        fi
        [ "$n" = redis ] && rm -f "$D/redis.sock"
        redis-server "$D/$n.conf" </dev/null >>"$D/$n.log" 2>&1 &
        pid=$!
        echo $pid >"$D/pids/$n"
    done
    for n in $(redis_nodes); do
        pid=$(pid_of "$n")
        poll_until up_or_dead "$pid" redis_ping "$n" && redis_ping "$n" && continue
        echo "stack.sh: $n did not answer PING" >&2
        return 1
    done
    is_cluster || return 0
    # a new cluster: its masters share the slots; a restarted one finds
    # itself again from its nodes.conf files
    if rcli redis cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_slots_assigned:0'; then
        for n in $(redis_nodes); do seeds="$seeds 127.0.0.1:$(node_port "$n")"; done
        # shellcheck disable=SC2046,SC2086
        redis-cli $(tls_args) --cluster create $seeds --cluster-replicas 0 --cluster-yes \
            >>"$D/redis-cluster.out" 2>&1 ||
            { echo "stack.sh: redis-cli --cluster create failed:" >&2; tail -n 20 "$D/redis-cluster.out" >&2; return 1; }
    fi
    poll_until cluster_ok && return 0
    echo "stack.sh: the cluster did not reach cluster_state:ok" >&2
    return 1
}

redis_stop() {
    local n pids=''
    for n in $(redis_nodes); do
        pids="$pids $(pid_of "$n")"
    done
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && stop_pids TERM $pids
    for n in $(redis_nodes); do rm -f "$D/pids/$n"; done
    rm -f "$D/redis.sock"
}

# redis_config_lines: what sessiongate.conf says about where Redis is
redis_config_lines() {
    local n seeds=''
    case $REDIS in
    plain) echo "redis = unix:$D/redis.sock" ;;
    tls) printf '%s\n' "redis = 127.0.0.1:$(node_port redis)" "redis_tls = on" \
        "redis_tls_ca_file = $D/tls/ca.pem" ;;
    cluster | cluster-tls)
        for n in $(redis_nodes); do seeds="$seeds${seeds:+, }127.0.0.1:$(node_port "$n")"; done
        echo "redis_cluster = $seeds"
        is_tls && printf '%s\n' "redis_tls = on" "redis_tls_ca_file = $D/tls/ca.pem" ;;
    esac
}

# ---- web servers -----------------------------------------------------------

start_lighttpd() {
    render "$TEMPLATES/lighttpd.conf.in" "$D/lighttpd.conf"
    render_shipped lighttpd/sessiongate.conf "$D/lighttpd-sessiongate.conf" \
        $PROD_BIN $PROD_CONF $PROD_RUN $PROD_WWW $PROD_PRIVATE $PROD_LUA
    # its mod_magnet scripts, where lighttpd's user can read them
    rm -rf "$D/lighttpd-lua"
    mkdir -p "$D/lighttpd-lua"
    cp "$TOP"/lighttpd/*.lua "$D/lighttpd-lua/" || die "cannot copy lighttpd/*.lua"
    chmod -R a+rX "$D/lighttpd-lua"
    # lighttpd opens its error log after dropping to server.username
    : >>"$D/lighttpd-error.log"
    [ -n "$APP_CHOWN" ] && chown "$APP_CHOWN" "$D/lighttpd-error.log"
    lighttpd -tt -f "$D/lighttpd.conf" >>"$D/lighttpd-error.log" 2>&1 ||
        { echo "stack.sh: lighttpd rejects $D/lighttpd.conf" >&2; return 1; }
    lighttpd -D -f "$D/lighttpd.conf" </dev/null >>"$D/lighttpd-error.log" 2>&1 &
    echo $! >"$D/pids/server"
}

start_apache() {
    local mode=fcgid shipped=apache/sessiongate.conf v
    if [ "$SERVER" = cgi ]; then
        mode=cgi
        shipped=apache/sessiongate-cgi.conf
    fi
    mkdir -p "$D/apache-run" "$D/fcgid"
    [ -n "$APP_CHOWN" ] && chown "$APP_CHOWN" "$D/fcgid"
    render "$TEMPLATES/apache.conf.in" "$D/apache.conf"
    render "$TEMPLATES/apache-$mode.conf.in" "$D/apache-mode.conf"
    # mod_fcgid and mod_cgid give programs a clean environment: pass the
    # sanitizer settings of a sanitizer build on, as lighttpd and the
    # standalone mode get them by inheritance.
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [ -n "${!v:-}" ] || continue
        if [ $mode = fcgid ]; then
            echo "FcgidInitialEnv $v \"${!v}\""
        else
            echo "PassEnv $v"
        fi
    done >>"$D/apache-mode.conf"
    if [ $mode = fcgid ]; then
        render_shipped "$shipped" "$D/apache-sessiongate.conf" $PROD_BIN $PROD_CONF \
            $PROD_WWW $PROD_PRIVATE
    else
        render_shipped "$shipped" "$D/apache-sessiongate.conf" $PROD_BIN $PROD_CONF $PROD_WWW
    fi
    apache2 -t -f "$D/apache.conf" >>"$D/apache-error.log" 2>&1 ||
        { echo "stack.sh: apache2 rejects $D/apache.conf" >&2; return 1; }
    # Apache's own environment, as apache2ctl sets it (LANG, umask...).
    (
        set +u
        [ -r /etc/apache2/envvars ] && . /etc/apache2/envvars
        exec apache2 -f "$D/apache.conf" -DFOREGROUND
    ) </dev/null >>"$D/apache-error.log" 2>&1 &
    echo $! >"$D/pids/server"
}

# fcgiwrap runs the protected CGI for nginx, on a unix socket that nginx's
# workers (nobody) can write to, as the app user; one process (fcgiwrap -c N
# leaves its children behind when stopped).
start_fcgiwrap() {
    local sock=$D/run/fcgiwrap.sock
    command -v fcgiwrap >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    if ! command -v fcgiwrap >/dev/null 2>&1; then
        echo "stack.sh: fcgiwrap is not installed (Debian package fcgiwrap):" \
            "/private/*.cgi will answer 502" >&2
        return 0
    fi
    rm -f "$sock"
    (
        umask 0000
        exec $AS_APP fcgiwrap -s "unix:$sock"
    ) </dev/null >>"$D/fcgiwrap.log" 2>&1 &
    echo $! >"$D/pids/fcgiwrap"
    poll_until up_or_dead "$!" test -S "$sock" && [ -S "$sock" ] && return 0
    echo "stack.sh: fcgiwrap did not create $sock" >&2
    return 1
}

start_nginx() {
    local sock=$D/run/sessiongate.sock
    mkdir -p "$D/nginx-tmp"
    render "$TEMPLATES/nginx.conf.in" "$D/nginx.conf"
    render_shipped nginx/sessiongate.conf "$D/nginx-sessiongate.conf" $PROD_RUN \
        $PROD_FCGIWRAP $PROD_WWW $PROD_PRIVATE
    render_shipped nginx/sessiongate-http.conf "$D/nginx-sessiongate-http.conf"
    start_fcgiwrap || return 1
    nginx -t -p "$D/" -c "$D/nginx.conf" -e "$D/nginx-error.log" >>"$D/nginx-error.log" 2>&1 ||
        { echo "stack.sh: nginx rejects $D/nginx.conf" >&2; return 1; }
    # sessiongate standalone, as its systemd unit would run it.
    $AS_APP "$APP_BIN" --config "$D/sessiongate.conf" --listen "unix:$sock" \
        --workers "$WORKERS" </dev/null >>"$D/sessiongate.log" 2>&1 &
    echo $! >"$D/pids/sessiongate"
    poll_until up_or_dead "$!" test -S "$sock"
    [ -S "$sock" ] ||
        { echo "stack.sh: sessiongate did not create $sock" >&2; return 1; }
    nginx -p "$D/" -c "$D/nginx.conf" -e "$D/nginx-error.log" -g 'daemon off;' \
        </dev/null >>"$D/nginx-error.log" 2>&1 &
    echo $! >"$D/pids/server"
}

# ---- commands --------------------------------------------------------------

# The stack's process user. Sets APP_USER, APP_CHOWN (owner for the files
# sessiongate must read or write, empty when unprivileged), AS_APP (command
# prefix running as that user) and USER_LINES (server config lines).
set_user() {
    if [ "$(id -u)" = 0 ]; then
        APP_USER=${SG_STACK_USER:-www-data}
        id "$APP_USER" >/dev/null 2>&1 || die "user $APP_USER does not exist (set SG_STACK_USER)"
        APP_GROUP=$(id -gn "$APP_USER")
        APP_CHOWN=$APP_USER:$APP_GROUP
        AS_APP="setpriv --reuid=$APP_USER --regid=$APP_GROUP --init-groups --"
        case $SERVER in
        lighttpd) USER_LINES="server.username = \"$APP_USER\"
server.groupname = \"$APP_GROUP\"" ;;
        apache | cgi) USER_LINES="User $APP_USER
Group $APP_GROUP" ;;
        *) USER_LINES="" ;;
        esac
    else
        APP_USER=$(id -un)
        APP_CHOWN=
        AS_APP=
        USER_LINES=
    fi
}

# The binary as the app user can run it: in place if it can, else a copy
# in D (a checkout under /root is not readable by www-data).
set_app_bin() {
    APP_BIN=$SG_BIN
    if [ -n "$AS_APP" ] && ! $AS_APP test -x "$SG_BIN"; then
        mkdir -p "$D/bin"
        cp "$SG_BIN" "$D/bin/" || die "cannot copy $SG_BIN"
        chmod 0755 "$D/bin" "$D/bin/$(basename "$SG_BIN")"
        APP_BIN=$D/bin/$(basename "$SG_BIN")
    fi
}

# readable_by_servers PATH...: the app user and nginx's workers (nobody)
# can read every PATH (files) or list and enter it (directories), and
# reach it. Unprivileged, everything runs as the caller.
readable_by_servers() {
    local u p
    [ -n "$AS_APP" ] || return 0
    for u in "$APP_USER" nobody; do
        id "$u" >/dev/null 2>&1 || continue
        for p in "$@"; do
            setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- test -r "$p" ||
                return 1
            [ -d "$p" ] && { setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- \
                test -x "$p" || return 1; }
        done
    done
    return 0
}

# The site's content: the sign-in page (www/) at the root and the
# protected location's content (tests/www-private/). Used in place (so that
# edits to www/ show at once), or copied into D when the servers' users
# cannot read the source tree. Sets SITE_WWW and SITE_PRIVATE.
set_site() {
    local src_www=$TOP/www src_private=$TOP/tests/www-private
    [ -f "$src_www/index.html" ] || die "$src_www/index.html is missing"
    [ -x "$src_private/env.cgi" ] || die "$src_private/env.cgi is missing or not executable"
    SITE_WWW=$src_www
    SITE_PRIVATE=$src_private
    if ! readable_by_servers "$src_www" "$src_www/index.html"; then
        rm -rf "$D/site-www"
        cp -R "$src_www" "$D/site-www" || die "cannot copy $src_www"
        chmod -R a+rX "$D/site-www"
        SITE_WWW=$D/site-www
    fi
    if ! readable_by_servers "$src_private" "$src_private/env.cgi" "$src_private/admin"; then
        rm -rf "$D/site-private"
        cp -R "$src_private" "$D/site-private" || die "cannot copy $src_private"
        chmod -R a+rX "$D/site-private"
        SITE_PRIVATE=$D/site-private
    fi
}

stop_all() {
    local sg
    # the sessiongate processes first noted, so that we wait for them too
    sg=$(sg_pids all | tr '\n' ' ')
    # the web server first (it stops what it spawned), then sessiongate
    # standalone (drains and removes its socket), then redis.
    [ -n "$(pid_of server)" ] && stop_pids TERM "$(pid_of server)"
    [ -n "$(pid_of sessiongate)" ] && stop_pids TERM "$(pid_of sessiongate)"
    # spawned processes the server did not take down with it
    # shellcheck disable=SC2086
    [ -n "${sg// /}" ] && stop_pids TERM $sg
    [ -n "$(pid_of fcgiwrap)" ] && stop_pids TERM "$(pid_of fcgiwrap)"
    redis_stop
    rm -f "$D/pids/server" "$D/pids/sessiongate" "$D/pids/fcgiwrap" "$D/run/fcgiwrap.sock"
}

cmd_start() {
    local code='' deadline
    case $SERVER in
    lighttpd) command -v lighttpd >/dev/null || die "lighttpd is not installed" ;;
    apache | cgi) command -v apache2 >/dev/null || die "apache2 is not installed" ;;
    nginx) command -v nginx >/dev/null || die "nginx is not installed" ;;
    *) die "unknown server '$SERVER' (lighttpd, apache, nginx or cgi)" ;;
    esac
    command -v redis-server >/dev/null || die "redis-server is not installed"
    ! is_tls || command -v openssl >/dev/null || die "SG_STACK_REDIS=$REDIS: openssl is not installed"
    if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
        die "--port: not a port number: '$PORT'"
    fi
    [ -x "$SG_BIN" ] || die "$SG_BIN is not an executable (build it, or set SG_BIN)"
    SG_BIN=$(cd "$(dirname "$SG_BIN")" && pwd)/$(basename "$SG_BIN")
    if [ "$(id -u)" != 0 ] && { [ "$SERVER" = apache ] || [ "$SERVER" = cgi ]; }; then
        : # Apache runs unprivileged on a high port, without User/Group.
    fi
    if sg_port_listening "$PORT"; then
        echo "stack.sh: port $PORT is taken" >&2
        exit 3
    fi
    mkdir -p "$D" || die "cannot create $D"
    D=$(cd "$D" && pwd)
    if [ -s "$D/stack.state" ]; then
        for i in server sessiongate fcgiwrap redis redis-2 redis-3; do
            alive "$(pid_of $i)" && die "$D already runs a stack (stop it first)"
        done
    fi
    case $SERVER in
    lighttpd | nginx) WORKERS=${SG_STACK_WORKERS:-2} ;;
    *) WORKERS=0 ;;
    esac
    set_user
    set_app_bin
    set_site
    # Logs of a previous run in D would confuse the port-taken check.
    rm -rf "$D/pids" "$D"/*.log "$D/run" "$D"/redis*-nodes.conf "$D/tls"
    mkdir -p "$D/pids" "$D/run"
    chmod 0755 "$D" "$D/run"
    [ -n "$APP_CHOWN" ] && chown "$APP_CHOWN" "$D/run"
    cat >"$D/stack.state" <<EOF
SERVER=$SERVER
PORT=$PORT
BIN=$APP_BIN
APP_USER=$APP_USER
WORKERS=$WORKERS
SHIPPED=$SHIPPED
URL=http://127.0.0.1:$PORT/api/v1
SITE=http://127.0.0.1:$PORT/
EOF
    echo "REDIS=$REDIS" >>"$D/stack.state"
    write_secret
    redis_confs
    write_config

    # From here on, any failure (die included) stops what was started.
    trap 'start_failed' EXIT
    trap 'echo "stack.sh: interrupted" >&2; exit 130' INT TERM
    url=http://127.0.0.1:$PORT/api/v1
    redis_start || exit 1
    case $SERVER in
    lighttpd) start_lighttpd ;;
    apache | cgi) start_apache ;;
    nginx) start_nginx ;;
    esac || exit 1
    deadline=$((SECONDS + SG_STACK_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$url/ready")
        [ "$code" = 200 ] && break
        alive "$(pid_of server)" || break
        [ -z "$(pid_of sessiongate)" ] || alive "$(pid_of sessiongate)" || break
        sleep 0.1
    done
    if [ "$code" != 200 ]; then
        echo "stack.sh: $url/ready did not answer 200 (last: ${code:-none})" >&2
        exit 1
    fi
    # The 200 must have come from this stack, not from another server that
    # holds the port while ours failed to bind it.
    if ! alive "$(pid_of server)" || port_taken; then
        echo "stack.sh: the web server did not keep running" >&2
        exit 1
    fi
    trap - EXIT INT TERM
    echo "$url"
    # Run by hand: say where to look.
    if [ -t 1 ]; then
        cat <<EOF
sign-in page:  http://127.0.0.1:$PORT/
API:           $url
protected:     http://127.0.0.1:$PORT/private/  (admins only: /private/admin/)
stop it with:  $0 stop --dir $D
EOF
        grep -qE '^[[:space:]]*cookie_auth[[:space:]]*=[[:space:]]*on' "$D/sessiongate.conf" ||
            printf '%s\n' "(a browser reaches /private/ with cookies only: start with" \
                "SG_STACK_EXTRA_CONF=\$'cookie_auth = on\\ncookie_secure = off')"
    fi
}

# EXIT trap of a failed start: show the logs, stop everything, and exit 3
# if the port was taken.
start_failed() {
    local rc=$?
    trap - EXIT INT TERM
    show_logs >&2
    stop_all
    if port_taken; then
        echo "stack.sh: port $PORT is taken" >&2
        exit 3
    fi
    [ $rc = 0 ] && rc=1
    exit $rc
}

cmd_stop() {
    [ -d "$D/pids" ] || { echo "stack.sh: nothing to stop in $D" >&2; return 0; }
    stop_all
}

cmd_reload() {
    local p n=0
    if [ "$(state SERVER)" = cgi ]; then
        echo "stack.sh: cgi: nothing to reload (each request reads the config)" >&2
        return 0
    fi
    for p in $(sg_pids master); do
        kill -HUP "$p" && n=$((n + 1))
    done
    [ $n -gt 0 ] || die "no sessiongate process to reload"
}

# ---- main ------------------------------------------------------------------

[ $# -ge 1 ] || usage
CMD=$1
shift
SERVER=
if [ "$CMD" = start ]; then
    [ $# -ge 1 ] || usage
    SERVER=$1
    shift
fi
PORT=
D=
ROLE=all
SHIPPED=${SG_STACK_SHIPPED:-0}
REDIS=${SG_STACK_REDIS:-plain}
case $REDIS in
plain | tls | cluster | cluster-tls) ;;
*) die "SG_STACK_REDIS: plain, tls, cluster or cluster-tls, not '$REDIS'" ;;
esac
while [ $# -gt 0 ]; do
    case $1 in
    --port) PORT=${2:-}; shift 2 || usage ;;
    --shipped) SHIPPED=1; shift ;;
    --dir) D=${2:-}; shift 2 || usage ;;
    all | master | worker | reader) ROLE=$1; shift ;;
    *) usage ;;
    esac
done
[ -n "$D" ] || die "--dir D is required"

if [ "$CMD" != start ]; then
    [ -d "$D" ] || die "$D does not exist"
    D=$(cd "$D" && pwd)
    [ -s "$D/stack.state" ] || die "$D holds no stack (no stack.state)"
    SERVER=$(state SERVER)
    PORT=$(state PORT)
    WORKERS=$(state WORKERS)
    SHIPPED=$(state SHIPPED)
    REDIS=$(state REDIS)
    REDIS=${REDIS:-plain}
    set_user
fi

case $CMD in
start)
    [ -n "$PORT" ] || die "--port P is required"
    cmd_start
    ;;
stop) cmd_stop ;;
redis-stop) redis_stop ;;
redis-start) redis_start ;;
pids)
    if [ "$ROLE" = reader ]; then reader_pids; else sg_pids "$ROLE"; fi
    ;;
write-config) write_config ;;
reload) cmd_reload ;;
logs) show_logs ;;
*) usage ;;
esac
