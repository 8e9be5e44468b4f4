#!/bin/bash
# tests/integration/cli.sh -- the operator CLI (sessiongate user ... and
# sessiongate sessions ...) against a private redis-server on a unix
# socket. No web server is needed: sessions are created by running the
# binary as a plain CGI, as a web server would.
#
# Environment: SG_BIN (the binary; default src/sessiongate of this tree),
# SG_SKIP_INTEGRATION=1 (skip: exit 77).
#
# Nothing waits a fixed time: Redis's socket and the terminal's prompts and
# echo state are polled for (lib.sh's sg_poll), with bounds far longer than
# a loaded machine needs.

case ${SG_SKIP_INTEGRATION:-} in
'' | 0 | no) ;;
*)
    echo "SKIP: SG_SKIP_INTEGRATION is set" >&2
    exit 77
    ;;
esac
for tool in redis-server redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed" >&2
        exit 77
    fi
done
if [ ! -r /usr/share/shunit2/shunit2 ]; then
    echo "SKIP: shunit2 is not installed" >&2
    exit 77
fi

export LC_ALL=C
SG_BIN=${SG_BIN:-$(dirname "$0")/../../src/sessiongate}
# sg_poll
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
unset SESSIONGATE_CONFIG
DIR=
REDIS_PID=
CONF=
OUT=
ERR=
RC=

stop_redis() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
        REDIS_PID=
    fi
    if [ -n "$DIR" ]; then
        rm -rf "$DIR"
        DIR=
    fi
}

oneTimeSetUp() {
    if [ ! -x "$SG_BIN" ]; then
        echo "cli.sh: $SG_BIN is not built" >&2
        exit 99
    fi
    DIR=$(mktemp -d) || exit 99
    # shunit2's EXIT trap calls oneTimeTearDown; this one also stops Redis
    # when the suite dies before or outside shunit2's own handling.
    trap 'stop_redis; _shunit_cleanup EXIT' EXIT
    redis-server --port 0 --unixsocket "$DIR/redis.sock" \
        --unixsocketperm 700 --save '' --appendonly no \
        --logfile "$DIR/redis.log" &
    REDIS_PID=$!
    sg_poll 60 redis_up
    redis_up || {
        echo "cli.sh: redis-server did not start" >&2
        exit 99
    }
    head -c 48 /dev/urandom >"$DIR/jwt.secret"
    chmod 600 "$DIR/jwt.secret"
    CONF=$DIR/sessiongate.conf
    cat >"$CONF" <<EOF
redis = unix:$DIR/redis.sock
jwt_secret_file = $DIR/jwt.secret
pbkdf2_iterations = 1000
ratelimit_signin = off
ratelimit_signin_failure = off
ratelimit_register = off
EOF
    # The same, with nothing listening: Redis is down.
    sed "s|^redis = .*|redis = unix:$DIR/absent.sock|" "$CONF" >"$DIR/down.conf"
}

oneTimeTearDown() {
    stop_redis
}

redis_up() {
    [ -S "$DIR/redis.sock" ] && [ "$(redis-cli -s "$DIR/redis.sock" ping 2>/dev/null)" = PONG ]
}

setUp() {
    redis-cli -s "$DIR/redis.sock" FLUSHALL >/dev/null
}

# sg ARGS...: run the CLI (stdin passed through); sets OUT, ERR and RC.
sg() {
    "$SG_BIN" "$@" >"$DIR/out" 2>"$DIR/err"
    RC=$?
    OUT=$(cat "$DIR/out")
    ERR=$(cat "$DIR/err")
}

# sgin INPUT ARGS...: the same with INPUT on stdin (a pipe into sg would
# run it in a subshell, losing OUT, ERR and RC).
sgin() {
    local input=$1
    shift
    printf '%s' "$input" | "$SG_BIN" "$@" >"$DIR/out" 2>"$DIR/err"
    RC=${PIPESTATUS[1]}
    OUT=$(cat "$DIR/out")
    ERR=$(cat "$DIR/err")
}

# add EMAIL PASSWORD [ARGS...]: user add with the password on stdin.
add() {
    local email=$1 password=$2
    shift 2
    sgin "$password"$'\n' user add "$email" --config "$CONF" "$@"
}

# signin EMAIL PASSWORD [USER_AGENT]: one CGI sign-in; prints the status.
signin() {
    local body
    body=$(printf '{"email":"%s","password":"%s"}' "$1" "$2")
    printf '%s' "$body" |
        env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
            PATH_INFO=/auth/signin CONTENT_TYPE=application/json \
            CONTENT_LENGTH=${#body} REMOTE_ADDR=127.0.0.1 \
            HTTP_USER_AGENT="${3:-cli-test}" SESSIONGATE_CONFIG="$CONF" \
            "$SG_BIN" 2>/dev/null | sed -n 's/^Status: \([0-9]*\).*/\1/p'
}

rcli() {
    redis-cli -s "$DIR/redis.sock" "$@"
}

# ---- user add -------------------------------------------------------------

test_add_prints_the_new_user_id() {
    add alice@example.com 'correct horse'
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertTrue "a 32-hex-char id: '$OUT'" \
        "echo '$OUT' | grep -Eqx '[0-9a-f]{32}'"
    assertEquals "the user can sign in" 200 \
        "$(signin alice@example.com 'correct horse')"
}

test_add_stores_a_hash_with_the_configured_iterations() {
    add alice@example.com 'correct horse'
    local uid=$OUT hash
    hash=$(rcli HGET "sg:{u:$uid}:user" password)
    assertTrue "pbkdf2 at 1000 iterations: '$hash'" \
        "case '$hash' in 'pbkdf2-sha256\$1000\$'*) true;; *) false;; esac"
    assertFalse "no password in the output" \
        "grep -q 'correct horse' '$DIR/out' '$DIR/err'"
}

test_add_takes_name_and_roles() {
    add Bob@Example.COM 'correct horse' --name 'Bob B' --role admin \
        --role ops --role admin
    assertEquals "exit status ($ERR)" 0 "$RC"
    sg user list --config "$CONF"
    assertEquals "email" bob@example.com "$(echo "$OUT" | cut -f2)"
    assertEquals "roles" admin,ops "$(echo "$OUT" | cut -f3)"
    assertEquals "name" "Bob B" "$(echo "$OUT" | cut -f5)"
}

test_add_defaults_to_role_user() {
    add carol@example.com 'correct horse'
    sg user list --config "$CONF"
    assertEquals user "$(echo "$OUT" | cut -f3)"
}

test_add_duplicate_email_fails() {
    add dup@example.com 'correct horse'
    assertEquals 0 "$RC"
    add DUP@example.com 'another horse'
    assertEquals "exit status" 1 "$RC"
    assertContains "$ERR" "already exists"
    assertEquals "the first password still holds" 200 \
        "$(signin dup@example.com 'correct horse')"
}

test_add_invalid_email_fails() {
    add 'not an email' 'correct horse'
    assertEquals 1 "$RC"
    assertContains "$ERR" "not a valid email address"
    add 'a@b' 'correct horse'
    assertEquals 1 "$RC"
    assertEquals "no user created" 0 "$(rcli SCARD sg:users)"
}

test_add_weak_password_fails() {
    add weak@example.com 'short'
    assertEquals 1 "$RC"
    assertContains "$ERR" "weak password"
    add weak@example.com "$(head -c 1025 /dev/zero | tr '\0' x)"
    assertEquals "over 1024 bytes" 1 "$RC"
    assertContains "$ERR" "weak password"
    sg user add weak@example.com --config "$CONF" </dev/null
    assertEquals "empty stdin" 1 "$RC"
    assertContains "$ERR" "no password"
    assertEquals "no user created" 0 "$(rcli SCARD sg:users)"
}

test_add_reads_only_the_first_line_of_stdin() {
    sgin $'first line pw\r\nsecond line\n' \
        user add lines@example.com --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals 200 "$(signin lines@example.com 'first line pw')"
}

test_password_is_never_taken_from_argv() {
    sgin $'correct horse\n' \
        user add argv@example.com 'other password' --config "$CONF"
    assertEquals "an extra operand is a usage error" 2 "$RC"
    sgin $'correct horse\n' user add argv@example.com --password 'x' --config "$CONF"
    assertEquals "there is no --password" 2 "$RC"
    assertEquals "no user created" 0 "$(rcli SCARD sg:users)"
}

test_add_rejects_control_characters_in_name() {
    add ctl@example.com 'correct horse' --name "$(printf 'a\033[2Jb')"
    assertEquals 1 "$RC"
    assertEquals 0 "$(rcli SCARD sg:users)"
}

# At a terminal the password is asked twice, with echo off. script(1)
# gives the command a pseudo-terminal. Each line is typed once the prompt
# is on the terminal and its echo is off (sessiongate prompts, then turns
# echo off and flushes pending input: a line typed in between would be
# echoed and lost), both polled for; then the command's end is waited for.
TTY_JOB=
tty_add() {
    local w
    rm -f "$DIR/tty.in"
    mkfifo "$DIR/tty.in"
    : >"$DIR/tty"
    timeout 120 script -qec "'$SG_BIN' user add $1 --config '$CONF'" \
        /dev/null <"$DIR/tty.in" >"$DIR/tty" 2>&1 &
    TTY_JOB=$!
    exec {w}>"$DIR/tty.in"
    tty_type "New password:" "$2" "$w" && tty_type "Again:" "$3" "$w"
    sg_poll 60 tty_done
    exec {w}>&-
    wait "$TTY_JOB"
    TTY_JOB=
}

# tty_type PROMPT LINE FD: wait for PROMPT and echo off, then type LINE.
tty_type() {
    if ! sg_poll 60 grep -qF "$1" "$DIR/tty" || ! sg_poll 60 tty_echo_off; then
        echo "# no '$1' prompt with echo off: $(cat "$DIR/tty")"
        return 1
    fi
    printf '%s\n' "$2" >&"$3"
}

# The pseudo-terminal of the job: fd 0 of script's child (the shell that
# runs sessiongate, or sessiongate itself).
tty_dev() {
    local s c t
    s=$(ps -o pid= --ppid "$TTY_JOB" | head -n 1)
    [ -n "$s" ] || return 1
    c=$(ps -o pid= --ppid "${s// /}" | head -n 1)
    [ -n "$c" ] || return 1
    t=$(readlink "/proc/${c// /}/fd/0") || return 1
    [[ $t == /dev/pts/* ]] && echo "$t"
}

tty_echo_off() {
    local t
    t=$(tty_dev) || return 1
    stty -F "$t" -a 2>/dev/null | grep -Eq '(^|[ ;])-echo([ ;]|$)'
}

# The job has ended (a zombie until waited for).
tty_done() {
    local st
    st=$(sed 's/.*) //' "/proc/$TTY_JOB/stat" 2>/dev/null)
    [ -z "$st" ] || [ "${st%% *}" = Z ]
}

test_add_at_a_terminal_asks_twice_without_echo() {
    if ! command -v script >/dev/null; then
        startSkipping
        return
    fi
    tty_add tty@example.com 'tty password' 'tty password'
    assertTrue "prompted: $(cat "$DIR/tty")" "grep -q 'Again:' '$DIR/tty'"
    assertFalse "not echoed" "grep -q 'tty password' '$DIR/tty'"
    assertEquals 200 "$(signin tty@example.com 'tty password')"
    tty_add tty2@example.com 'tty password' 'different one'
    assertTrue "mismatch refused" "grep -q 'differ' '$DIR/tty'"
    assertEquals 1 "$(rcli SCARD sg:users)"
}

# ---- user passwd, roles, list, del ---------------------------------------

test_passwd_changes_the_password() {
    add pw@example.com 'old password'
    sgin $'new password\n' user passwd PW@example.com --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "no session to end" 0 "$OUT"
    assertEquals "old refused" 401 "$(signin pw@example.com 'old password')"
    assertEquals "new accepted" 200 "$(signin pw@example.com 'new password')"
}

test_passwd_ends_the_sessions() {
    add pw@example.com 'old password'
    assertEquals 200 "$(signin pw@example.com 'old password' laptop)"
    assertEquals 200 "$(signin pw@example.com 'old password' phone)"
    sgin $'new password\n' user passwd pw@example.com --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "both sessions ended" 2 "$OUT"
    sg sessions list pw@example.com --config "$CONF"
    assertEquals "none left" "" "$OUT"
}

test_passwd_keep_sessions() {
    add pw@example.com 'old password'
    assertEquals 200 "$(signin pw@example.com 'old password')"
    sgin $'new password\n' user passwd pw@example.com --keep-sessions --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "nothing printed" "" "$OUT"
    sg sessions list pw@example.com --config "$CONF"
    assertEquals "the session is kept" 1 "$(printf '%s\n' "$OUT" | grep -c .)"
    assert_usage_error user add x@example.com --keep-sessions --config "$CONF"
}

test_passwd_refuses_weak_and_unknown() {
    add pw@example.com 'old password'
    sgin $'short\n' user passwd pw@example.com --config "$CONF"
    assertEquals 1 "$RC"
    assertContains "$ERR" "weak password"
    assertEquals 200 "$(signin pw@example.com 'old password')"
    sgin $'new password\n' user passwd nobody@example.com --config "$CONF"
    assertEquals 1 "$RC"
    assertContains "$ERR" "no user"
}

test_roles_replaces_the_roles() {
    add roles@example.com 'correct horse' --role old
    sg user roles roles@example.com admin billing:read a.b-c_d admin \
        --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    sg user list --config "$CONF"
    assertEquals "admin,billing:read,a.b-c_d" "$(echo "$OUT" | cut -f3)"
}

test_roles_refuses_bad_roles() {
    add roles@example.com 'correct horse'
    local long64 long65 many=()
    long64=$(printf 'r%.0s' $(seq 64))
    long65=${long64}r
    sg user roles roles@example.com 'a b' --config "$CONF"
    assertEquals "space" 1 "$RC"
    sg user roles roles@example.com 'a,b' --config "$CONF"
    assertEquals "comma" 1 "$RC"
    sg user roles roles@example.com "$long65" --config "$CONF"
    assertEquals "65 chars" 1 "$RC"
    sg user roles roles@example.com "$long64" --config "$CONF"
    assertEquals "64 chars" 0 "$RC"
    for i in 1 2 3 4; do many+=("${long64:1}$i"); done
    sg user roles roles@example.com "${many[@]}" --config "$CONF"
    assertEquals "over 255 bytes in all" 1 "$RC"
    sg user roles roles@example.com --config "$CONF"
    assertEquals "no role is a usage error" 2 "$RC"
    sg user roles nobody@example.com admin --config "$CONF"
    assertEquals "unknown user" 1 "$RC"
    sg user list --config "$CONF"
    assertEquals "unchanged" "$long64" "$(echo "$OUT" | cut -f3)"
}

test_list_is_sorted_and_tab_separated() {
    local e
    # Six in no order: Redis returns them unsorted (1 chance in 720 not to).
    for e in zed amy max bea kim eve; do
        add "$e@example.com" 'correct horse' --name "$e name"
    done
    sg user list --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "amy bea eve kim max zed" \
        "$(echo "$OUT" | cut -f2 | sed 's/@.*//' | xargs)"
    assertEquals "five fields each" "5 5 5 5 5 5" \
        "$(echo "$OUT" | awk -F'\t' '{print NF}' | xargs)"
    assertTrue "RFC 3339 UTC" "echo '$OUT' | cut -f4 |
        grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'"
    assertFalse "no hash printed" "grep -q pbkdf2 '$DIR/out'"
}

test_list_escapes_what_a_terminal_would_obey() {
    # A right-to-left override (U+202E) is not a control character, so
    # registration takes it; listing must not print it raw.
    add rlo@example.com 'correct horse' --name "$(printf 'x\342\200\256y\\z')"
    assertEquals "exit status ($ERR)" 0 "$RC"
    sg user list --config "$CONF"
    assertEquals 'x\u202ey\\z' "$(echo "$OUT" | cut -f5)"
}

test_list_with_no_users_is_empty() {
    sg user list --config "$CONF"
    assertEquals 0 "$RC"
    assertEquals "" "$OUT"
}

test_del_ends_sessions_and_deletes() {
    add del@example.com 'correct horse'
    local uid=$OUT
    add keep@example.com 'correct horse'
    assertEquals 200 "$(signin del@example.com 'correct horse')"
    sg user del del@example.com --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "no session keys left" "" \
        "$(rcli --scan --pattern "sg:{u:$uid}:s*")"
    assertEquals "no user record" 0 "$(rcli EXISTS "sg:{u:$uid}:user")"
    assertEquals 401 "$(signin del@example.com 'correct horse')"
    sg user list --config "$CONF"
    assertEquals "keep@example.com" "$(echo "$OUT" | cut -f2)"
    sg user del del@example.com --config "$CONF"
    assertEquals "already gone" 1 "$RC"
    assertContains "$ERR" "no user"
    add del@example.com 'correct horse'
    assertEquals "the email is free again" 0 "$RC"
}

# ---- sessions ------------------------------------------------------------

test_sessions_list_shows_live_sessions() {
    add s@example.com 'correct horse'
    signin s@example.com 'correct horse' 'agent one' >/dev/null
    signin s@example.com 'correct horse' "$(printf 'evil\033[2J\tagent')" \
        >/dev/null
    sg sessions list s@example.com --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "two sessions" 2 "$(echo "$OUT" | wc -l)"
    assertEquals "seven fields each" "7 7" \
        "$(echo "$OUT" | awk -F'\t' '{print NF}' | xargs)"
    assertTrue "64-hex-char ids" \
        "echo '$OUT' | cut -f1 | grep -Eqx '[0-9a-f]{64}'"
    assertEquals "127.0.0.1 127.0.0.1" "$(echo "$OUT" | cut -f5 | xargs)"
    # control characters are replaced (U+FFFD) when the session is stored
    assertTrue "user agent stored without its controls" \
        "echo '$OUT' | grep -qF \"evil$(printf '\357\277\275')[2J$(printf '\357\277\275')agent\""
    assertFalse "no raw escape" "grep -q \$'\\033' '$DIR/out'"
    assertTrue "request counts" "echo '$OUT' | cut -f7 | grep -Eqx '[0-9]+'"
}

test_sessions_list_of_user_without_sessions() {
    add s@example.com 'correct horse'
    sg sessions list s@example.com --config "$CONF"
    assertEquals 0 "$RC"
    assertEquals "" "$OUT"
    sg sessions list nobody@example.com --config "$CONF"
    assertEquals 1 "$RC"
    assertContains "$ERR" "no user"
}

test_sessions_revoke_one() {
    add s@example.com 'correct horse'
    add other@example.com 'correct horse'
    signin s@example.com 'correct horse' >/dev/null
    signin s@example.com 'correct horse' >/dev/null
    signin other@example.com 'correct horse' >/dev/null
    sg sessions list s@example.com --config "$CONF"
    local sid kept
    sid=$(echo "$OUT" | head -1 | cut -f1)
    kept=$(echo "$OUT" | tail -1 | cut -f1)
    sg sessions list other@example.com --config "$CONF"
    local others
    others=$(echo "$OUT" | cut -f1)
    sg sessions revoke s@example.com "$sid" --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals 1 "$OUT"
    sg sessions list s@example.com --config "$CONF"
    assertEquals "one left" "$kept" "$(echo "$OUT" | cut -f1)"
    sg sessions revoke s@example.com "$sid" --config "$CONF"
    assertEquals "already ended" 1 "$RC"
    assertContains "$ERR" "no such session"
    sg sessions revoke s@example.com "$others" --config "$CONF"
    assertEquals "another user's session" 1 "$RC"
    assertContains "$ERR" "no such session"
    sg sessions revoke s@example.com 'not-a-session-id' --config "$CONF"
    assertEquals "malformed id" 1 "$RC"
    sg sessions list other@example.com --config "$CONF"
    assertEquals "the other user's session lives" "$others" \
        "$(echo "$OUT" | cut -f1)"
}

test_sessions_revoke_all() {
    add s@example.com 'correct horse'
    add other@example.com 'correct horse'
    signin s@example.com 'correct horse' >/dev/null
    signin s@example.com 'correct horse' >/dev/null
    signin s@example.com 'correct horse' >/dev/null
    signin other@example.com 'correct horse' >/dev/null
    sg sessions revoke s@example.com --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals 3 "$OUT"
    sg sessions list s@example.com --config "$CONF"
    assertEquals "" "$OUT"
    sg sessions list other@example.com --config "$CONF"
    assertEquals 1 "$(echo "$OUT" | wc -l)"
    sg sessions revoke s@example.com --config "$CONF"
    assertEquals "none left" 0 "$OUT"
    sg sessions revoke nobody@example.com --config "$CONF"
    assertEquals 1 "$RC"
}

# ---- usage, config, Redis down --------------------------------------------

assert_usage_error() {
    sg "$@"
    assertEquals "$*: exit status" 2 "$RC"
    assertContains "$*: usage printed" "$ERR" "usage:"
}

test_usage_errors_exit_2() {
    assert_usage_error user
    assert_usage_error sessions
    assert_usage_error user frob
    assert_usage_error sessions frob x@example.com
    assert_usage_error user add --config "$CONF"
    assert_usage_error user add a@example.com b@example.com --config "$CONF"
    assert_usage_error user list --bogus --config "$CONF"
    assert_usage_error user list extra --config "$CONF"
    assert_usage_error user passwd x@example.com --name N --config "$CONF"
    assert_usage_error user roles x@example.com admin --role y --config "$CONF"
    assert_usage_error user add x@example.com --name A --name B --config "$CONF"
    assert_usage_error user add x@example.com --name
    assert_usage_error user del --config "$CONF"
    assert_usage_error sessions list --config "$CONF"
    assert_usage_error sessions revoke x@example.com "$(printf '%064d' 0)" \
        extra --config "$CONF"
    assertEquals "nothing written" 0 "$(rcli DBSIZE)"
}

test_help_exits_0() {
    sg user --help
    assertEquals 0 "$RC"
    assertContains "$OUT" "sessions revoke EMAIL"
    sg user add --help
    assertEquals 0 "$RC"
    assertContains "$OUT" "usage:"
}

test_config_from_environment() {
    SESSIONGATE_CONFIG=$CONF sgin $'correct horse\n' user add env@example.com
    assertEquals "exit status ($ERR)" 0 "$RC"
    SESSIONGATE_CONFIG=$DIR/down.conf sgin $'correct horse\n' \
        user add env2@example.com --config "$CONF"
    assertEquals "--config wins" 0 "$RC"
    SESSIONGATE_CONFIG=$DIR/down.conf sg user list
    assertEquals "the environment is read" 1 "$RC"
}

test_config_before_the_command() {
    sgin $'correct horse\n' --config "$CONF" user add first@example.com --role admin
    assertEquals "--config FILE before the command ($ERR)" 0 "$RC"
    assertEquals "and the command's own options after it" admin \
        "$(rcli HGET "sg:{u:$OUT}:user" roles)"
    sg --config="$CONF" user list
    assertEquals "--config=FILE ($ERR)" 0 "$RC"
    assertContains "$OUT" first@example.com
    sg -c "$CONF" sessions list first@example.com
    assertEquals "-c FILE ($ERR)" 0 "$RC"
    sg "-c$CONF" user list
    assertEquals "-cFILE ($ERR)" 0 "$RC"
    SESSIONGATE_CONFIG=$DIR/down.conf sg --config "$CONF" user list
    assertEquals "before the command, --config wins too" 0 "$RC"
    assert_usage_error --config "$CONF" user list --config "$CONF"
    assertContains "given twice" "$ERR" "given twice"
}

test_bad_config_fails() {
    sg user list --config "$DIR/missing.conf"
    assertEquals 1 "$RC"
    assertContains "$ERR" "missing.conf"
    printf 'no_such_key = 1\n' >"$DIR/bad.conf"
    sg user list --config "$DIR/bad.conf"
    assertEquals 1 "$RC"
    assertContains "$ERR" "no_such_key"
}

test_redis_down_fails_clearly() {
    local cmd
    for cmd in "user list" "user del x@example.com" \
        "sessions list x@example.com" "sessions revoke x@example.com"; do
        # shellcheck disable=SC2086
        sg $cmd --config "$DIR/down.conf"
        assertEquals "$cmd: exit status" 1 "$RC"
        assertContains "$cmd: message" "$ERR" "cannot connect to Redis"
    done
    sgin $'correct horse\n' user add x@example.com --config "$DIR/down.conf"
    assertEquals "add" 1 "$RC"
    assertContains "$ERR" "Redis"
}

# shellcheck disable=SC1091
. /usr/share/shunit2/shunit2
