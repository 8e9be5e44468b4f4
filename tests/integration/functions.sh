#!/bin/bash
# tests/integration/functions.sh -- the scripts as a Redis 7 function
# library (issue 15): loaded once per data set, called by FCALL, loaded
# again when it is gone, and EVALSHA where the server has no functions for
# sessiongate (an ACL that refuses them, or Redis 6, played here by a Redis
# 7 whose FCALL and FUNCTION are renamed away). One lighttpd stack; the
# routes used (GET /sessions, GET /auth/me) go to Redis in both verify
# modes.
#
#   test_library_loaded       /ready loaded one library, sessiongate_<digest>,
#       with every script; requests go by FCALL and nothing by EVALSHA
#   test_library_deleted      another version's library beside ours (a
#       rolling upgrade) is left alone; ours deleted, then FUNCTION FLUSH:
#       the next request and /ready load it again, no error answer
#   test_acl_without_functions  the ACL refuses FCALL and FUNCTION: the
#       same requests answer by EVALSHA, and the log says why
#   test_redis_without_functions  Redis restarted with no FCALL: /ready
#       and every route work by EVALSHA
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/api.sh
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_require lighttpd

oneTimeSetUp() { api_suite_start lighttpd || return 1; }
oneTimeTearDown() {
    # whatever a failed test left: the default user allowed everything
    [ -S "${SG_DIR:-/nonexistent}/redis.sock" ] && rcli acl setuser default on +@all >/dev/null 2>&1
    api_stop_all
}

rcli() { redis-cli -s "$SG_DIR/redis.sock" "$@"; }

# our_library: the name of the library the stack loaded, if one (the
# other version's, which test_library_deleted loads, aside).
OTHER_LIB=sessiongate_0000000000000000
our_library() {
    rcli function list | grep -x 'sessiongate_[0-9a-f]\{16\}' | grep -vx "$OTHER_LIB" | head -1
}

# calls RE: how many times Redis ran the commands whose INFO commandstats
# names match the extended regular expression RE (whole name).
calls() {
    rcli info commandstats | tr -d '\r' |
        awk -F'[:=,]' -v re="^cmdstat_($1)\$" '$1 ~ re { n += $3 } END { print n + 0 }'
}

# routes_answer WHAT: a signed-in user's GET /sessions and GET /auth/me
# answer 200.
routes_answer() {
    api_auth "$API_TOKEN" GET /sessions
    assertEquals "$1: GET /sessions: $SG_BODY" 200 "$SG_STATUS"
    api_auth "$API_TOKEN" GET /auth/me
    assertEquals "$1: GET /auth/me: $SG_BODY" 200 "$SG_STATUS"
}

test_library_loaded() {
    local lib n fcall0 eval0
    assertEquals "/ready" 200 "$(sg_status GET /ready)"
    lib=$(our_library)
    assertNotNull "a library named sessiongate_<digest>: $(rcli function list | head -5)" "$lib"
    assertEquals "one library of ours" 1 "$(rcli function list | grep -c '^sessiongate_')"
    n=$(rcli function list libraryname "$lib" | grep -c "^sg_${lib#sessiongate_}_")
    assertEquals "every script is a function of it" 12 "$n"
    api_new_user loaded || fail "sign-in"
    fcall0=$(calls fcall) eval0=$(calls 'evalsha|eval')
    routes_answer "with the library"
    assertTrue "the routes ran by FCALL" "[ $(calls fcall) -ge $((fcall0 + 2)) ]"
    assertEquals "and nothing by EVALSHA" "$eval0" "$(calls 'evalsha|eval')"
}

test_library_deleted() {
    local lib other=$OTHER_LIB loads0
    api_new_user deleted || fail "sign-in"
    lib=$(our_library)
    rcli function load "#!lua name=$other
redis.register_function('sg_0000000000000000_verify', function() return 0 end)" >/dev/null
    loads0=$(calls 'function[|]load')
    rcli function delete "$lib" >/dev/null
    routes_answer "our library deleted"
    assertEquals "loaded again" "$lib" "$(our_library)"
    assertTrue "by this request" "[ $(calls 'function[|]load') -gt $loads0 ]"
    assertEquals "the other version's library is left alone" "$other" \
        "$(rcli function list libraryname "$other" | grep -x "$other")"
    rcli function flush >/dev/null
    assertEquals "/ready after FUNCTION FLUSH" 200 "$(sg_status GET /ready)"
    assertEquals "/ready loaded it again" "$lib" "$(our_library)"
    routes_answer "after FUNCTION FLUSH"
}

test_acl_without_functions() {
    local fcall0 eval0
    api_new_user acl || fail "sign-in"
    rcli function flush >/dev/null
    rcli acl setuser default -fcall -function >/dev/null
    fcall0=$(calls fcall) eval0=$(calls evalsha)
    routes_answer "FCALL and FUNCTION refused"
    assertEquals "/ready" 200 "$(sg_status GET /ready)"
    assertTrue "the routes ran by EVALSHA" "[ $(calls evalsha) -ge $((eval0 + 2)) ]"
    rcli acl setuser default on +@all >/dev/null
    assertTrue "the log says why" \
        "grep -q 'no functions here (NOPERM' '$SG_DIR'/*.log"
    # each worker tries FCALL again on its next connection, not before
    routes_answer "allowed again"
}

test_redis_without_functions() {
    local eval0
    # Redis 6 has no FCALL; a Redis 7 whose FCALL and FUNCTION are renamed
    # away answers as it does ("unknown command")
    printf 'rename-command FCALL ""\nrename-command FUNCTION ""\n' >>"$SG_DIR/redis.conf"
    sg_stack redis-stop >/dev/null 2>&1 || fail "redis-stop"
    sg_stack redis-start >/dev/null 2>&1 || fail "redis-start"
    sg_poll 60 ready_ok || fail "/ready never answered 200 after the restart"
    eval0=$(calls evalsha)
    api_new_user renamed || fail "sign-in"
    routes_answer "no FCALL"
    api_refresh "$API_REFRESH"
    assertEquals "refresh: $SG_BODY" 200 "$SG_STATUS"
    assertTrue "by EVALSHA" "[ $(calls evalsha) -ge $((eval0 + 3)) ]"
    assertTrue "the log says why" \
        "grep -q 'no functions here (ERR unknown command' '$SG_DIR'/*.log"
}

# shellcheck source=/dev/null
. /usr/share/shunit2/shunit2
