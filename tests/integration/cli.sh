#!/bin/bash
# tests/integration/cli.sh -- the operator CLI (sessiongate user ...,
# sessions ... and bans ...) against a private redis-server on a unix
# socket. Sessions and sign-in failures are made by running the binary as
# a plain CGI, as a web server would; one test signs in through a real
# stack (tests/stack.sh, lighttpd) and one lists the bans of a three-master
# Redis Cluster.
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
for tool in redis-server redis-cli jq; do
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
    trap 'stop_redis; stop_cluster; sg_stack_stop; _shunit_cleanup EXIT' EXIT
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
    stop_cluster
    sg_stack_stop
    stop_redis
}

redis_up() {
    [ -S "$DIR/redis.sock" ] && [ "$(redis-cli -s "$DIR/redis.sock" ping 2>/dev/null)" = PONG ]
}

setUp() {
    redis-cli -s "$DIR/redis.sock" FLUSHALL >/dev/null
}

# What a test started beside the suite's Redis, stopped even when it failed.
tearDown() {
    stop_cluster
    sg_stack_stop
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

# cgi_signin CONFIG ADDRESS USER_AGENT EMAIL PASSWORD: one CGI sign-in
# from REMOTE_ADDR ADDRESS; prints the status.
cgi_signin() {
    local body
    body=$(printf '{"email":"%s","password":"%s"}' "$4" "$5")
    printf '%s' "$body" |
        env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
            PATH_INFO=/auth/signin CONTENT_TYPE=application/json \
            CONTENT_LENGTH=${#body} REMOTE_ADDR="$2" \
            HTTP_USER_AGENT="$3" SESSIONGATE_CONFIG="$1" \
            "$SG_BIN" 2>/dev/null | sed -n 's/^Status: \([0-9]*\).*/\1/p'
}

# signin EMAIL PASSWORD [USER_AGENT]: one CGI sign-in; prints the status.
signin() {
    cgi_signin "$CONF" 127.0.0.1 "${3:-cli-test}" "$1" "$2"
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

# A usage error is exit status 2 and one line on stderr that says what.
assert_usage_error() {
    sg "$@"
    assertEquals "$*: exit status" 2 "$RC"
    assertEquals "$*: one line ($ERR)" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
    assertContains "$*: says so" "$ERR" "sessiongate: "
    assertEquals "$*: nothing on stdout" "" "$OUT"
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
    sg --config "$CONF" user list --config "$CONF"
    assertEquals "the same file twice is one ($ERR)" 0 "$RC"
    assert_usage_error --config "$CONF" user list --config "$DIR/down.conf"
    assertContains "given twice" "$ERR" "--config: given twice with different values"
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

# ---- options anywhere ------------------------------------------------------

test_global_options_after_and_between_the_words() {
    add first@example.com 'correct horse' --role admin --config "$CONF"
    assertEquals "--config FILE after the command's options ($ERR)" 0 "$RC"
    assertEquals admin "$(rcli HGET "sg:{u:$OUT}:user" roles)"
    sg user --config "$CONF" list
    assertEquals "--config FILE between the words ($ERR)" 0 "$RC"
    assertContains "$OUT" first@example.com
    sg user "--config=$CONF" show first@example.com
    assertEquals "--config=FILE between ($ERR)" 0 "$RC"
    sg sessions -c "$CONF" list first@example.com
    assertEquals "-c FILE between ($ERR)" 0 "$RC"
    sg user show "-c$CONF" first@example.com
    assertEquals "-cFILE between ($ERR)" 0 "$RC"
    sg user --json list --config "$CONF"
    assertEquals "--json between ($ERR)" 0 "$RC"
    assertEquals first@example.com "$(jq -r '.[0].email' <<<"$OUT")"
    sg --json --config "$CONF" user show first@example.com
    assertEquals "--json before ($ERR)" 0 "$RC"
    assertEquals first@example.com "$(jq -r .email <<<"$OUT")"
    sg user list --config "$CONF" --help
    assertEquals "--help anywhere" 0 "$RC"
    assertContains "$OUT" "bans clear"
}

test_an_option_given_twice_with_two_values_is_a_usage_error() {
    add twice@example.com 'correct horse' --name A --name A
    assertEquals "the same value twice is one ($ERR)" 0 "$RC"
    assert_usage_error user list --config "$CONF" -c "$DIR/down.conf"
    assertContains "$ERR" "--config: given twice with different values"
    assert_usage_error user --config="$DIR/down.conf" list --config "$CONF"
    assert_usage_error user add x@example.com --name A --config "$CONF" --name B
    assertContains "$ERR" "--name: given twice with different values"
}

test_unknown_options_are_named() {
    assert_usage_error user list --frobnicate --config "$CONF"
    assertContains "$ERR" "unknown option --frobnicate"
    assert_usage_error --config "$CONF" sessions --frob=1 list x@example.com
    assertContains "$ERR" "unknown option --frob=1"
    assert_usage_error user list -x --config "$CONF"
    assertContains "$ERR" "unknown option -x"
    assert_usage_error user list --json=yes --config "$CONF"
    assertContains "$ERR" "--json: takes no value"
    assert_usage_error user list --config
    assertContains "$ERR" "--config: needs a value"
    assert_usage_error user list --all --config "$CONF"
    assertContains "$ERR" "--all: not an option of user list"
    # the escape of what the terminal would obey, in the message too
    assert_usage_error user list "$(printf -- '--\033[2J')" --config "$CONF"
    assertContains "$ERR" 'unknown option --\x1b[2J'
}

test_double_dash_ends_the_options() {
    sgin $'correct horse\n' user add -dash@example.com --config "$CONF"
    assertEquals "without --, an option" 2 "$RC"
    sgin $'correct horse\n' user add --config "$CONF" -- -dash@example.com
    assertEquals "after --, an operand ($ERR)" 0 "$RC"
    sg user show --config "$CONF" -- -dash@example.com
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals -dash@example.com "$(echo "$OUT" | cut -f2)"
    sg user show -- -dash@example.com --config "$CONF"
    assertEquals "--config after -- is an operand too" 2 "$RC"
    sg --config "$CONF" -- user list
    assertEquals "-- before the words ($ERR)" 0 "$RC"
    assertContains "$OUT" -dash@example.com
}

# ---- --json ----------------------------------------------------------------

test_json_output_of_user_commands() {
    sgin $'correct horse\n' user add json@example.com --json --name 'J Son' \
        --role admin --role ops --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    local uid
    uid=$(jq -r .id <<<"$OUT")
    assertTrue "an id: $OUT" "grep -Eqx '[0-9a-f]{32}' <<<'$uid'"
    assertEquals '["admin","ops"]' "$(jq -c .roles <<<"$OUT")"
    assertEquals "J Son" "$(jq -r .name <<<"$OUT")"
    add zed@example.com 'correct horse'
    sg user list --json --config "$CONF"
    assertEquals "one document, an array" "array 2" \
        "$(jq -r 'type + " " + (length | tostring)' <<<"$OUT")"
    assertEquals "sorted" "json@example.com zed@example.com" \
        "$(jq -r '[.[].email] | join(" ")' <<<"$OUT")"
    assertEquals "no hash" "" "$(jq -r '.[] | .password // empty' <<<"$OUT")"
    assertFalse "no hash anywhere" "grep -q pbkdf2 '$DIR/out'"
    sg user show json@example.com --json --config "$CONF"
    assertEquals "$uid" "$(jq -r .id <<<"$OUT")"
    assertTrue "RFC 3339" "jq -r .created_at <<<'$OUT' |
        grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'"
    sg user list --config "$CONF"
    assertEquals "without --json, lines as before" 2 "$(echo "$OUT" | wc -l)"
}

test_json_output_of_session_commands() {
    add s@example.com 'correct horse'
    signin s@example.com 'correct horse' 'agent one' >/dev/null
    signin s@example.com 'correct horse' 'agent two' >/dev/null
    sg sessions list s@example.com --json --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals 2 "$(jq length <<<"$OUT")"
    assertEquals "127.0.0.1" "$(jq -r '.[0].ip_address' <<<"$OUT")"
    assertEquals "agent one,agent two" \
        "$(jq -r '[.[].user_agent] | sort | join(",")' <<<"$OUT")"
    assertEquals "no \"current\" here" "null" "$(jq -r '.[0].current' <<<"$OUT")"
    local sid
    sid=$(jq -r '.[0].id' <<<"$OUT")
    sg sessions revoke s@example.com "$sid" --json --config "$CONF"
    assertEquals '{"sessions_ended":1}' "$OUT"
    sgin $'new password\n' user passwd s@example.com --json --config "$CONF"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals 1 "$(jq .sessions_ended <<<"$OUT")"
    sgin $'newer password\n' user passwd s@example.com --keep-sessions \
        --json --config "$CONF"
    assertEquals '{"sessions_ended":0}' "$OUT"
    sg sessions list s@example.com --json --config "$CONF"
    assertEquals "an empty list is []" "[]" "$OUT"
}

test_json_errors_go_to_stderr() {
    sg user show nobody@example.com --json --config "$CONF"
    assertEquals 1 "$RC"
    assertEquals "nothing on stdout" "" "$OUT"
    assertContains "$ERR" "no user"
    sg user list --json --config "$DIR/down.conf"
    assertEquals 1 "$RC"
    assertEquals "" "$OUT"
    assertContains "$ERR" "cannot connect to Redis"
}

test_json_escapes_what_a_terminal_would_obey() {
    add rlo@example.com 'correct horse' --name "$(printf 'x\342\200\256y\342\201\246z"')"
    assertEquals "exit status ($ERR)" 0 "$RC"
    sg user list --json --config "$CONF"
    assertContains "escaped in the document" "$OUT" '"x\u202ey\u2066z\""'
    assertFalse "never raw" "grep -q \$'\\342\\200\\256' '$DIR/out'"
    assertEquals "the same string for a JSON reader" \
        "$(printf 'x\342\200\256y\342\201\246z"')" "$(jq -r '.[0].name' <<<"$OUT")"
}

# ---- bans ------------------------------------------------------------------

# The sign-in limits on (the suite's config has them off): 3 attempts an
# hour per address, 4 failures an hour per account; IPv6 per /64.
limits_conf() {
    sed '/^ratelimit_signin/d' "$CONF" >"$DIR/limits.conf"
    printf '%s\n' 'ratelimit_signin = 3/1h ip' \
        'ratelimit_signin_failure = 4/1h account' >>"$DIR/limits.conf"
}

# signin_from ADDRESS EMAIL PASSWORD: signin from ADDRESS with the
# limits' config; prints the status.
signin_from() {
    cgi_signin "$DIR/limits.conf" "$1" cli-test "$2" "$3"
}

test_bans_list_an_account_and_an_ipv6_block() {
    limits_conf
    add victim@example.com 'correct horse'
    local i
    for i in 1 2 3 4; do
        assertEquals "failure $i" 401 \
            "$(signin_from "198.51.100.$i" Victim@Example.com 'wrong guess')"
    done
    assertEquals "the account is locked" 429 \
        "$(signin_from 198.51.100.9 victim@example.com 'correct horse')"
    for i in 1 2 3; do
        signin_from "2001:db8:1:2::$i" ghost@example.com 'wrong guess' >/dev/null
    done
    assertEquals "the /64 is full" 429 \
        "$(signin_from 2001:db8:1:2::ffff nobody@example.com 'x')"
    sg bans list --config "$DIR/limits.conf"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "seven fields each" "7" \
        "$(echo "$OUT" | awk -F'\t' '{print NF}' | sort -u | xargs)"
    local row
    row=$(echo "$OUT" | grep -P '^signin_failure\taccount\tvictim@example.com\t')
    assertEquals "the account by its email, locked: $OUT" \
        "4 4 locked" "$(echo "$row" | awk -F'\t' '{print $4, $5, ($6 != "-" ? "locked" : "open")}')"
    row=$(echo "$OUT" | grep -P '^signin\taddress\t2001:db8:1:2::/64\t')
    assertEquals "the IPv6 block: $OUT" "3 3" "$(echo "$row" | cut -f4,5 | tr '\t' ' ')"
    assertTrue "a guess for no account is a hash: $OUT" \
        "echo '$OUT' | grep -Pq '^signin_failure\taccount\tsha256:[0-9a-f]{64}\t3\t4\t-\t'"
    assertTrue "an IPv4 address as it is" \
        "echo '$OUT' | grep -Pq '^signin\taddress\t198.51.100.1\t1\t3\t-\t'"
    assertFalse "no password" "grep -q 'wrong guess\\|correct horse' '$DIR/out' '$DIR/err'"

    sg bans clear 2001:db8:1:2::abcd --config "$DIR/limits.conf"
    assertEquals "any address of the block clears it ($ERR)" "0 1" "$RC $OUT"
    assertEquals "the block signs in again" 401 \
        "$(signin_from 2001:db8:1:2::5 nobody@example.com 'x')"
    sg bans clear VICTIM@example.com --config "$DIR/limits.conf"
    assertEquals "cleared by email ($ERR)" "0 1" "$RC $OUT"
    assertEquals "signs in at once" 200 \
        "$(signin_from 198.51.100.9 victim@example.com 'correct horse')"
    sg bans clear victim@example.com --config "$DIR/limits.conf"
    assertEquals "nothing left to clear" 1 "$RC"
    assertContains "$ERR" "no sign-in window to clear"
}

test_bans_clear_by_hash_and_all() {
    limits_conf
    signin_from 192.0.2.1 ghost@example.com 'wrong guess' >/dev/null
    signin_from 192.0.2.2 other@example.com 'wrong guess' >/dev/null
    sg bans list --json --config "$DIR/limits.conf"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "4 windows: $OUT" 4 "$(jq length <<<"$OUT")"
    local hash
    hash=$(jq -r '[.[] | select(.kind == "account")][0].subject' <<<"$OUT")
    assertEquals "an unknown email has no name" null \
        "$(jq -r '[.[] | select(.kind == "account")][0].email' <<<"$OUT")"
    assertEquals "an address's fields" '["signin",1,3,3600,false,null]' \
        "$(jq -c '.[] | select(.subject == "192.0.2.1") |
            [.policy, .count, .limit, .window_seconds, .locked, .locked_until]' <<<"$OUT")"
    sg bans clear "$hash" --json --config "$DIR/limits.conf"
    assertEquals "by sha256:HASH ($ERR)" '{"cleared":1}' "$OUT"
    sg bans clear not-an-address --config "$DIR/limits.conf"
    assertEquals 1 "$RC"
    assertContains "$ERR" "not an IP address, an email or sha256:HASH"
    assert_usage_error bans clear --config "$DIR/limits.conf"
    assert_usage_error bans clear 192.0.2.1 --all --config "$DIR/limits.conf"
    sg bans clear --all --config "$DIR/limits.conf"
    assertEquals "the other three ($ERR)" "0 3" "$RC $OUT"
    sg bans list --json --config "$DIR/limits.conf"
    assertEquals "[]" "$OUT"
    assertEquals "nothing else touched" 0 "$(rcli --scan --pattern 'sg:rl:*' | wc -l)"
}

# Thousands of other keys: the scan takes several steps, with SCAN (never
# KEYS) and its MATCH; an odd key_prefix is matched literally.
test_bans_list_scans_in_steps() {
    limits_conf
    sed -i '/^key_prefix/d' "$DIR/limits.conf"
    echo 'key_prefix = a*[b]?:' >>"$DIR/limits.conf"
    local i
    for i in $(seq 1 3000); do printf 'SET other:%d x\n' "$i"; done | rcli >/dev/null
    rcli ZADD 'abb:rl:signin:ip:192.0.2.9' "$(date +%s)000" decoy >/dev/null
    for i in 1 2 3 4 5; do
        signin_from "192.0.2.$i" someone@example.com 'wrong guess' >/dev/null
    done
    rcli CONFIG RESETSTAT >/dev/null
    sg bans list --config "$DIR/limits.conf"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "five addresses, one account" "5 1" \
        "$(echo "$OUT" | grep -c address) $(echo "$OUT" | grep -c account)"
    assertFalse "the decoy of another prefix is not listed" "grep -q 192.0.2.9 '$DIR/out'"
    local stats
    stats=$(rcli INFO commandstats | tr -d '\r')
    assertFalse "no KEYS" "grep -q '^cmdstat_keys:' <<<'$stats'"
    assertTrue "SCAN in several steps: $(grep scan <<<"$stats")" \
        "grep -Eq '^cmdstat_scan:calls=([3-9]|[1-9][0-9]+),' <<<'$stats'"
}

test_bans_of_a_redis_cluster() {
    CL_DIR=$(mktemp -d) || return 1
    local n ports=() addrs=() conf=$CL_DIR/cluster.conf
    for n in 1 2 3; do
        cluster_node "$n" || { fail "redis node $n did not start"; return; }
        ports+=("$CL_PORT")
        addrs+=("127.0.0.1:$CL_PORT")
    done
    redis-cli --cluster create "${addrs[@]}" --cluster-yes >"$CL_DIR/create.log" 2>&1 ||
        { fail "cluster create: $(tail -3 "$CL_DIR/create.log")"; return; }
    sg_poll 120 cluster_ok "${ports[@]}" || { fail "the cluster never became ok"; return; }
    sed "/^redis = /d; /^ratelimit_signin/d" "$CONF" >"$conf"
    printf 'redis_cluster = %s\nratelimit_signin = 3/1h ip\n' \
        "$(IFS=,; echo "${addrs[*]}")" >>"$conf"
    # sixty addresses: every master holds some (2^-59 odds of one empty)
    local now
    now=$(date +%s)000
    for n in $(seq 1 60); do
        printf 'ZADD sg:rl:signin:ip:10.1.0.%d %s e\n' "$n" "$now"
    done | redis-cli -c -p "${ports[0]}" >/dev/null
    for n in "${ports[@]}"; do
        assertNotEquals "master $n holds some" 0 "$(redis-cli -p "$n" DBSIZE)"
    done
    sg bans list --config "$conf"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "every master's windows" 60 "$(echo "$OUT" | grep -c '^signin	address	10.1.0.')"
    sg bans clear 10.1.0.7 --config "$conf"
    assertEquals "one ($ERR)" "0 1" "$RC $OUT"
    sg bans clear --all --config "$conf"
    assertEquals "all the others ($ERR)" "0 59" "$RC $OUT"
    for n in "${ports[@]}"; do
        assertEquals "master $n emptied" 0 "$(redis-cli -p "$n" DBSIZE)"
    done
    stop_cluster
}

CL_DIR=
CL_PIDS=()
CL_PORT=

# cluster_node N: a cluster-enabled redis-server on free loopback ports
# (its bus port too); CL_PORT is its port.
cluster_node() {
    local try bus
    for try in 1 2 3 4 5; do
        CL_PORT=$(sg_pick_port) && bus=$(sg_pick_port) || return 1
        mkdir -p "$CL_DIR/$1"
        redis-server --port "$CL_PORT" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-port "$bus" --cluster-config-file "$CL_DIR/$1/nodes.conf" \
            --save '' --appendonly no --dir "$CL_DIR/$1" \
            --logfile "$CL_DIR/$1.log" </dev/null &
        CL_PIDS+=($!)
        sg_poll 60 node_up "$CL_PORT" $! && node_up "$CL_PORT" && return 0
        echo "# node $1 did not start on $CL_PORT (try $try)"
    done
    return 1
}

# node_up PORT PID: it answers PING, or it has died (stop polling).
node_up() {
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] ||
        { [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; }
}

cluster_ok() {
    local p
    for p in "$@"; do
        redis-cli -p "$p" CLUSTER INFO 2>/dev/null | tr -d '\r' |
            grep -qx 'cluster_state:ok' || return 1
    done
}

stop_cluster() {
    local p
    for p in "${CL_PIDS[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    CL_PIDS=()
    [ -n "$CL_DIR" ] && rm -rf "$CL_DIR"
    CL_DIR=
}

# The whole path through a web server: sign-ins refused with 429 by the
# failure limiter, listed, cleared, and the right password is 200 at once.
test_bans_clear_lets_the_client_in_through_a_stack() {
    if ! command -v lighttpd >/dev/null 2>&1 && [ ! -x /usr/sbin/lighttpd ]; then
        startSkipping
        return
    fi
    PATH=$PATH:/usr/sbin
    sg_stack_start lighttpd || { fail "the stack did not start"; return; }
    local conf=$SG_DIR/sessiongate.conf body i
    sgin $'correct horse\n' user add stack@example.com --config "$conf"
    assertEquals "exit status ($ERR)" 0 "$RC"
    body='{"email":"stack@example.com","password":"wrong guess"}'
    for i in 1 2 3 4 5; do
        sg_req POST /auth/signin -H 'Content-Type: application/json' --data-binary "$body"
        assertEquals "failure $i" 401 "$SG_STATUS"
    done
    sg_req POST /auth/signin -H 'Content-Type: application/json' --data-binary "$body"
    assertEquals "the failure limiter refuses" 429 "$SG_STATUS"
    body='{"email":"stack@example.com","password":"correct horse"}'
    sg_req POST /auth/signin -H 'Content-Type: application/json' --data-binary "$body"
    assertEquals "even the right password, from a new address" 429 "$SG_STATUS"
    sg bans list --json --config "$conf"
    assertEquals "exit status ($ERR)" 0 "$RC"
    assertEquals "listed, locked: $OUT" "5 true" "$(jq -r '.[] |
        select(.email == "stack@example.com") | "\(.count) \(.locked)"' <<<"$OUT")"
    sg bans clear stack@example.com --config "$conf"
    assertEquals "cleared ($ERR)" "0 1" "$RC $OUT"
    sg_req POST /auth/signin -H 'Content-Type: application/json' --data-binary "$body"
    assertEquals "signs in at once" 200 "$SG_STATUS"
    sg_stack_stop
}

# shellcheck disable=SC1091
. /usr/share/shunit2/shunit2
