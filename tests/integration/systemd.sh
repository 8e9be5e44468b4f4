#!/bin/bash
# tests/integration/systemd.sh -- sessiongate under systemd (issue 16),
# on a machine whose PID 1 need not be systemd:
#
#   - the units: systemd/sessiongate.socket and the sessiongate.service make
#     generates pass `systemd-analyze verify`, and `systemd-analyze
#     security --offline` rates the service at 2.0 or lower;
#   - the system calls sessiongate makes (strace -f of an activated run:
#     start, requests, a reload, a stop) all pass the service's
#     SystemCallFilter=, as `systemd-analyze syscall-filter` lists its sets;
#   - socket activation: systemd-socket-activate does what a .socket unit
#     does (listens, and on the first connection execs the service with
#     LISTEN_PID/LISTEN_FDS and the socket as fd 3), on 127.0.0.1:PORT and
#     on a unix socket; FastCGI requests (cgi-fcgi) reach /health and
#     /ready; no worker's environment (/proc/PID/environ) holds LISTEN_* or
#     NOTIFY_SOCKET; a SIGHUP reloads and a SIGTERM stops; a --listen given
#     too is ignored; a socket that cannot be served on is refused;
#   - sd_notify: tests/tools/notify_recv stands in for $NOTIFY_SOCKET and
#     records, from the master only, READY=1 once the workers are forked,
#     RELOADING=1 then READY=1 once a reload has replaced every worker (or
#     refused the config), and STOPPING=1 at SIGTERM.
#
#   SG_BIN=$PWD/src/sessiongate bash tests/integration/systemd.sh
#
# A private redis-server on a unix socket (tests/stack/redis.conf.in) and
# no web server. Needs systemd-analyze and systemd-socket-activate (Debian
# package systemd), cgi-fcgi (libfcgi-bin) and strace; skipped without
# them, except under CI=true, where tests/debian-deps.sh must have
# installed them. Nothing waits a fixed time: every wait is a bounded poll.

case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$SG_BIN" ] || { echo "systemd.sh: $SG_BIN is not built" >&2; exit 1; }
for tool in redis-server redis-cli jq systemd-analyze systemd-socket-activate cgi-fcgi strace; do
    command -v "$tool" >/dev/null 2>&1 && continue
    case ${CI:-} in
    true | 1 | yes) echo "FAIL: $tool is not installed (tests/debian-deps.sh must install it)" >&2; exit 1 ;;
    esac
    sg_skip_suite "$tool is not installed"
done
export LC_ALL=C
unset SESSIONGATE_CONFIG NOTIFY_SOCKET LISTEN_PID LISTEN_FDS LISTEN_FDNAMES

BUILD=$(cd "$(dirname "$SG_BIN")/.." && pwd)
SRC=${SG_SRCDIR:-$SG_TOP}
NOTIFY_RECV=$BUILD/tests/tools/notify_recv
WORKERS=2
D=
REDIS_PID=
PIDS=() # everything started here, ended by PID at the end
SG_PID=
NOTES=

oneTimeSetUp() {
    [ -x "$NOTIFY_RECV" ] || { echo "systemd.sh: $NOTIFY_RECV is not built" >&2; exit 1; }
    D=$(mktemp -d "${TMPDIR:-/tmp}/sg-systemd.XXXXXX") || exit 1
    sed "s|@DIR@|$D|g" "$SRC/tests/stack/redis.conf.in" >"$D/redis.conf"
    redis-server "$D/redis.conf" </dev/null >>"$D/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    disown "$REDIS_PID" # ended by PID in oneTimeTearDown, unannounced
    sg_poll 120 redis_up || { echo "systemd.sh: redis-server did not start" >&2; exit 1; }
    head -c 48 /dev/urandom | base64 | head -c 40 >"$D/jwt.secret"
    chmod 0600 "$D/jwt.secret"
    write_config
}

oneTimeTearDown() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [ "${__shunit_testsFailed:-0}" -gt 0 ] 2>/dev/null; then
        for p in "$D"/*.log; do echo "---- $p" >&2; tail -n 20 "$p" >&2; done
    fi
    [ -n "$D" ] && [ "${SG_KEEP:-0}" != 1 ] && rm -rf "$D"
    return 0
}

tearDown() {
    sg_assert_no_sanitizer_reports "$D"
}

redis_up() { [ "$(redis-cli -s "$D/redis.sock" ping 2>/dev/null)" = PONG ]; }

# write_config [EXTRA LINE]: the stack's sessiongate.conf (its template),
# in this run's verify_mode, replaced atomically.
write_config() {
    sed -e "s|@DIR@|$D|g" -e "s|@WORKERS@|$WORKERS|g" \
        "$SRC/tests/stack/sessiongate.conf.in" >"$D/.conf"
    [ -n "${SG_VERIFY_MODE:-}" ] && echo "verify_mode = $SG_VERIFY_MODE" >>"$D/.conf"
    [ -n "${1:-}" ] && echo "$1" >>"$D/.conf"
    mv -f "$D/.conf" "$D/sessiongate.conf"
}

# ---- what systemd would do ------------------------------------------------

# activate NAME [systemd-socket-activate options] -- [sessiongate args]:
# a notify_recv on D/NAME.notify, then sessiongate behind
# systemd-socket-activate (whose PID it keeps: it execs) with that
# $NOTIFY_SOCKET; the PID in SG_PID, the messages in NOTES, the log in
# D/NAME.log. Returns once systemd-socket-activate listens.
activate() {
    local name=$1 sa=() v
    shift
    while [ "$1" != -- ]; do sa+=("$1"); shift; done
    shift
    NOTES=$D/$name.notes
    "$NOTIFY_RECV" "$D/$name.notify" >"$NOTES" 2>"$D/$name-recv.log" &
    PIDS+=("$!")
    disown "$!"
    sg_poll 60 test -S "$D/$name.notify" || fail "notify_recv did not bind"
    # systemd-socket-activate passes on only what it is told to
    for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS SG_VERIFY_MODE; do
        [ -n "${!v:-}" ] && sa+=(-E "$v")
    done
    systemd-socket-activate "${sa[@]}" -E "NOTIFY_SOCKET=$D/$name.notify" \
        "$SG_BIN" --config "$D/sessiongate.conf" "$@" >"$D/$name.log" 2>&1 &
    SG_PID=$!
    PIDS+=("$SG_PID")
    sg_poll 60 grep -q '^Listening on' "$D/$name.log" ||
        fail "systemd-socket-activate did not listen"
}

# fcgi ADDRESS PATH: a FastCGI GET of /api/v1/PATH (cgi-fcgi); the
# status line in FCGI_STATUS, the body in FCGI_BODY.
fcgi() {
    env -i REQUEST_METHOD=GET REQUEST_URI="/api/v1$2" SCRIPT_NAME=/api/v1 \
        SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 HTTP_HOST=localhost \
        timeout 60 cgi-fcgi -bind -connect "$1" </dev/null >"$D/fcgi.out" 2>&1
    FCGI_STATUS=$(head -1 "$D/fcgi.out" | tr -d '\r')
    FCGI_BODY=$(sed '1,/^\r\{0,1\}$/d' "$D/fcgi.out")
}

# assert_answers ADDRESS: /health and /ready answer 200 with JSON saying ok
assert_answers() {
    local path
    for path in /health /ready; do
        fcgi "$1" "$path"
        assertEquals "GET $path through $1" "Status: 200 OK" "$FCGI_STATUS"
        assertEquals "GET $path: JSON, ok" "true ok" \
            "$(printf '%s' "$FCGI_BODY" | jq -r '"\(.success) \(.data.status)"' 2>&1)"
    done
}

# The keys of the messages so far ("READY=1 RELOADING=1 ..."), and the
# senders' PIDs (each once).
note_keys() { cut -f2 "$NOTES" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//'; }
note_senders() { cut -f1 "$NOTES" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
notes_are() { [ "$(note_keys)" = "$1" ]; }

# assert_notes KEYS WHAT: the messages come to KEYS (waited for)
assert_notes() {
    sg_poll 120 notes_are "$1"
    assertEquals "$2" "$1" "$(note_keys)"
}

children() { pgrep -P "$1" | tr '\n' ' '; }

# systemd's variables in the environment the kernel shows for PID
systemd_env() {
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null |
        grep -aE '^(LISTEN_PID|LISTEN_FDS|LISTEN_FDNAMES|NOTIFY_SOCKET)='
}

# wait_exit PID: its exit status in EXIT_STATUS ("still running" after
# 60 s). Not in a subshell: only this shell can wait for it.
wait_exit() {
    EXIT_STATUS="still running"
    sg_poll 60 eval "! kill -0 $1 2>/dev/null" || return 0
    wait "$1"
    EXIT_STATUS=$?
}

any_alive() {
    local p
    for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
}

# ---- the units ------------------------------------------------------------

# The units as make generates them, with ExecStart= naming the binary
# under test (systemd-analyze verify wants it to exist), in D/units.
render_units() {
    local unit=$BUILD/systemd/sessiongate.service
    mkdir -p "$D/units"
    assertTrue "make generated $unit" "[ -s '$unit' ]"
    assertEquals "no @PLACEHOLDER@ left in $unit" "" "$(grep -n '@[A-Z]*@' "$unit")"
    assertTrue "ExecStart= names the installed sessiongate with its config" \
        "grep -qE '^ExecStart=/[^ ]*/sessiongate --config /[^ ]*/sessiongate/sessiongate.conf$' '$unit'"
    sed "s|^ExecStart=[^ ]*|ExecStart=$SG_BIN|" "$unit" >"$D/units/sessiongate.service"
    cp "$SRC/systemd/sessiongate.socket" "$D/units/"
}

test_units_verify() {
    local out rc
    render_units
    out=$(cd "$D/units" && systemd-analyze verify --man=no \
        ./sessiongate.socket ./sessiongate.service 2>&1)
    rc=$?
    assertEquals "systemd-analyze verify: $out" 0 "$rc"
    # a misspelt key is only a warning: any word on the units fails
    assertEquals "systemd-analyze verify says nothing of the units" "" \
        "$(printf '%s\n' "$out" | grep -i 'sessiongate\|unknown\|ignoring')"
}

test_units_security_exposure() {
    local out level
    render_units
    out=$(cd "$D/units" && systemd-analyze security --offline=true \
        ./sessiongate.service 2>&1)
    level=$(printf '%s\n' "$out" |
        sed -n 's/.*Overall exposure level for sessiongate\.service: \([0-9.]*\).*/\1/p')
    assertNotNull "an overall exposure level: $(printf '%s\n' "$out" | tail -3)" "$level"
    assertTrue "exposure $level is at most 2.0 ($(printf '%s\n' "$out" |
        awk '$NF ~ /^[0-9.]+$/ && $NF > 0 { print $2, $NF }' | tr '\n' ' '))" \
        "awk -v l='$level' 'BEGIN { exit !(l != \"\" && l + 0 <= 2.0) }'"
}

# ---- activation and notification -----------------------------------------

test_tcp_activation_master() {
    local port port2 before after w
    port=$(sg_pick_port) || fail "no free port"
    port2=$port
    while [ "$port2" = "$port" ]; do port2=$(sg_pick_port) || fail "no free port"; done
    # two sockets: sessiongate serves on the first and closes the second
    activate tcp -l "127.0.0.1:$port" -l "127.0.0.1:$port2" -- --workers "$WORKERS"
    # the first connection starts it, as with a .socket unit
    assert_answers "127.0.0.1:$port"
    assert_notes "READY=1" "READY=1 once serving"
    assertEquals "sent by the master, the process systemd started" "$SG_PID" "$(note_senders)"
    assertTrue "MAINPID is the master" "grep -q 'READY=1 MAINPID=$SG_PID ' '$NOTES'"
    assertTrue "log: listening on the socket passed" \
        "grep -q 'listening on 127.0.0.1:$port (socket activation)' '$D/tcp.log'"
    assertTrue "log: the second socket is closed, with a warning" \
        "grep -q 'warn: socket activation: 2 sockets passed' '$D/tcp.log'"
    assertFalse "the second socket is closed" "sg_port_listening $port2"

    before=$(children "$SG_PID")
    assertTrue "workers forked: $before" "[ $(wc -w <<<"$before") -ge $WORKERS ]"
    for w in $SG_PID $before; do
        assertEquals "no systemd variable in the environment of $w" "" "$(systemd_env "$w")"
    done

    kill -HUP "$SG_PID"
    assert_notes "READY=1 RELOADING=1 READY=1" "RELOADING=1, then READY=1"
    # shellcheck disable=SC2086 # a list of PIDs
    assertFalse "READY=1 came once no worker from before the reload was left" \
        "any_alive $before"
    assertTrue "RELOADING=1 carries MONOTONIC_USEC" \
        "grep -qE '	RELOADING=1 MONOTONIC_USEC=[0-9]+ ' '$NOTES'"
    after=$(children "$SG_PID")
    for w in $after; do
        assertEquals "no systemd variable in the environment of the new worker $w" "" "$(systemd_env "$w")"
    done
    assert_answers "127.0.0.1:$port"

    # a config that does not load: the running one is kept, and said so
    write_config "no_such_key = 1"
    kill -HUP "$SG_PID"
    assert_notes "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1" "a refused reload ends too"
    assertTrue "STATUS says the reload failed" "tail -1 '$NOTES' | grep -q 'reload failed'"
    write_config
    assert_answers "127.0.0.1:$port"

    kill -TERM "$SG_PID"
    wait_exit "$SG_PID"
    assertEquals "SIGTERM: a clean stop" 0 "$EXIT_STATUS"
    assertEquals "STOPPING=1 last" "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1" "$(note_keys)"
    assertEquals "only ever the master" "$SG_PID" "$(note_senders)"
    # shellcheck disable=SC2086
    assertFalse "no worker outlives it" "any_alive $after"
}

test_unix_activation_in_process() {
    local sock=$D/activated.sock
    # --listen too: the socket systemd passed wins
    activate unix -l "$sock" -- --workers 0 --listen "unix:$D/ignored.sock"
    assert_answers "$sock"
    assert_notes "READY=1" "READY=1 once serving (in-process)"
    assertTrue "log: --listen ignored" \
        "grep -q 'socket activation: --listen unix:$D/ignored.sock ignored' '$D/unix.log'"
    assertTrue "log: listening on the unix socket passed" \
        "grep -q 'listening on unix:$sock (socket activation)' '$D/unix.log'"
    assertFalse "no socket of its own" "[ -e '$D/ignored.sock' ]"
    assertEquals "no systemd variable in its environment" "" "$(systemd_env "$SG_PID")"

    kill -HUP "$SG_PID"
    assert_notes "READY=1 RELOADING=1 READY=1" "RELOADING=1, then READY=1"
    assertTrue "log: reloaded" "grep -q 'reloaded' '$D/unix.log'"
    assert_answers "$sock"

    kill -TERM "$SG_PID"
    wait_exit "$SG_PID"
    assertEquals "SIGTERM: a clean stop" 0 "$EXIT_STATUS"
    assertEquals "STOPPING=1 last" "READY=1 RELOADING=1 READY=1 STOPPING=1" "$(note_keys)"
    assertTrue "systemd's socket file is not sessiongate's to remove" "[ -S '$sock' ]"
}

test_datagram_socket_refused() {
    local port
    port=$(sg_pick_port) || fail "no free port"
    activate dgram --datagram -l "127.0.0.1:$port" -- --workers 1
    echo wake >"/dev/udp/127.0.0.1/$port"
    wait_exit "$SG_PID"
    assertEquals "exits with status 1" 1 "$EXIT_STATUS"
    assertTrue "and says why" \
        "grep -q 'fd 3 is not a listening stream socket' '$D/dgram.log'"
    assertEquals "READY=1 never sent" "" "$(note_keys)"
}

# ---- the system call filter ------------------------------------------------

# expand SET: the system calls of a systemd-analyze syscall-filter set,
# its nested sets included, one a line
expand() {
    systemd-analyze syscall-filter --no-pager "$1" | awk 'NR > 1 && !/^ *#/ && NF { print $1 }' |
        while read -r s; do
            case $s in @*) expand "$s" ;; *) echo "$s" ;; esac
        done
}

test_syscalls_pass_the_filter() {
    local port allowed used denied
    if ldd "$SG_BIN" 2>/dev/null | grep -q 'lib[at]san\|libubsan'; then
        startSkipping
        echo "# a sanitizer build makes system calls of its own: not the shipped binary" >&2
        return 0
    fi
    if ! strace -f -o /dev/null true 2>/dev/null; then
        startSkipping
        echo "# strace cannot trace here (ptrace refused)" >&2
        return 0
    fi
    port=$(sg_pick_port) || fail "no free port"
    NOTES=$D/strace.notes
    "$NOTIFY_RECV" "$D/strace.notify" >"$NOTES" 2>"$D/strace-recv.log" &
    PIDS+=("$!")
    disown "$!"
    sg_poll 60 test -S "$D/strace.notify" || fail "notify_recv did not bind"
    strace -f -qq -o "$D/strace.out" systemd-socket-activate -l "127.0.0.1:$port" \
        -E "NOTIFY_SOCKET=$D/strace.notify" \
        "$SG_BIN" --config "$D/sessiongate.conf" --workers "$WORKERS" >"$D/strace.log" 2>&1 &
    PIDS+=("$!")
    disown "$!"
    sg_poll 120 grep -q '^Listening on' "$D/strace.log" || fail "did not listen"
    assert_answers "127.0.0.1:$port"
    assert_notes "READY=1" "READY=1 under strace"
    SG_PID=$(cut -f1 "$NOTES" | head -1)
    kill -HUP "$SG_PID"
    assert_notes "READY=1 RELOADING=1 READY=1" "reloaded under strace"
    assert_answers "127.0.0.1:$port"
    kill -TERM "$SG_PID"
    assert_notes "READY=1 RELOADING=1 READY=1 STOPPING=1" "stopping under strace"
    sg_poll 120 eval "! kill -0 $SG_PID 2>/dev/null"

    expand @system-service | sort -u >"$D/allow"
    { expand @privileged; expand @resources; } | sort -u >"$D/deny"
    allowed=$(comm -23 "$D/allow" "$D/deny" | wc -l)
    assertTrue "the filter's sets expand ($allowed calls)" "[ $allowed -gt 100 ]"
    # every call from the exec of sessiongate on (the PID of
    # systemd-socket-activate, then its children)
    awk -v bin="execve(\"$SG_BIN\"" '
        index($0, bin) { on = 1 }
        on && $2 !~ /^(<\.\.\.|---|\+\+\+)/ { sub(/\(.*/, "", $2); print $2 }' \
        "$D/strace.out" | sort -u >"$D/used"
    used=$(wc -l <"$D/used")
    assertTrue "strace saw sessiongate's calls ($used)" "[ $used -gt 20 ]"
    denied=$(comm -23 "$D/used" <(comm -23 "$D/allow" "$D/deny") | tr '\n' ' ')
    assertEquals "system calls SystemCallFilter= would refuse" "" "$denied"
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
