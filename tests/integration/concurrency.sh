#!/bin/bash
# tests/integration/concurrency.sh -- the Redis invariants under real
# concurrency (issue 13), through one real deployment:
# SG_SERVER=lighttpd|apache|nginx.
#
#   SG_SERVER=nginx SG_BIN=$PWD/src/sessiongate bash tests/integration/concurrency.sh
#   ... concurrency.sh -- test_register_one_email   (only this test)
#
# Each scenario runs CONC_ROUNDS rounds (default 100) of CONC_PAR clients
# (default 12) at once, against a stack with max_sessions_per_user = 4
# and 4 sessiongate workers (lighttpd, nginx; Apache's mod_fcgid starts
# its own):
#
#   test_signins_at_max          sign-ins of one user already at the
#                                maximum
#   test_end_all_races_signins   DELETE /sessions from each of the user's
#                                sessions while others sign in, in a new
#                                order each round
#   test_register_one_email      one address registered by every client
#                                (in two cases, each its own password)
#
# A round is one curl process with a transfer per client, all started
# together on connections of their own (curl --parallel), waited for by
# its PID: a process per client would cost a busy machine more than the
# requests. Every answer must be a documented status with the JSON
# envelope and its headers (the rate limits are raised out of the way: a
# 429 is a failure); they are read by one jq run at the end of each test.
#
# After every round one script (AUDIT_LUA, atomic) reads the whole
# keyspace: no user's session zset above the maximum, a session hash for
# every zset entry and a zset entry for every session hash, one account
# per email (index, record and user set agreeing), every key either
# permanent and accounted for (record, email index, user set) or expiring
# by itself, and no key of any other kind. While the session scenarios
# run, a sampler counts the user's sessions every 10 ms, so "never above
# the maximum" is checked during the rounds too. At the end of each
# scenario `redis-cli --scan` is compared with the keys that must exist,
# and the sessions are accounted for: every one created is alive, ended
# by a DELETE (its "terminated" count) or evicted (the "oldest
# session(s) ended" log line).
#
# test_signin_keeps_its_own_session makes certain one interleaving the
# rounds meet by chance: a sign-in at the maximum that started before the
# others finished (session_create.lua must not end its own session).
#
# The concurrency-<server>.sh wrappers set SG_SERVER.

SG_SERVER=${SG_SERVER:-}
case ${SG_SKIP_INTEGRATION:-} in '' | 0 | no) ;; *) echo "SKIP: SG_SKIP_INTEGRATION is set" >&2; exit 77 ;; esac
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_suite_server concurrency.sh lighttpd apache nginx

CONC_ROUNDS=${CONC_ROUNDS:-100}
CONC_PAR=${CONC_PAR:-12}
MAX=4
# More workers than cores, so that requests interleave inside Redis.
export SG_STACK_WORKERS=${SG_STACK_WORKERS:-4}
# Limits out of the way (API_BASE_CONF raises the per-IP ones): nothing
# here is about them.
CONC_CONF="max_sessions_per_user = $MAX
ratelimit_signin_failure = 100000/15m account
ratelimit_user = 100000/1m user"

P=$API_REDIS_PREFIX
# Every user this suite created: id -> lowercased email.
declare -A USERS=()

oneTimeSetUp() {
    api_suite_start "$SG_SERVER" "$CONC_CONF" || {
        echo "concurrency.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    audit_start || { echo "concurrency.sh: cannot start the audit" >&2; return 1; }
    local w="$SG_STACK_WORKERS workers"
    [ "$SG_SERVER" = apache ] && w="mod_fcgid's processes"
    echo "# $SG_SERVER stack at $SG_URL (dir $SG_DIR), $w, $CONC_ROUNDS rounds of $CONC_PAR"
}

oneTimeTearDown() {
    conc_reap
    sampler_stop
    audit_stop
    api_stop_all
}

setUp() { api_test_start; }
tearDown() {
    conc_reap
    sampler_stop
    api_test_end
}

rcli() { redis-cli -s "$SG_DIR/redis.sock" "$@"; }

# A failure, at most 20 per test: past that the test stops its rounds.
FAILS=0
bad() {
    FAILS=$((FAILS + 1))
    [ $FAILS -le 20 ] && fail "$*"
    [ $FAILS -eq 21 ] && fail "(more failures not shown)"
    return 0
}

# ---- parallel clients --------------------------------------------------------

# conc_begin R: round R begins. conc_add METHOD PATH [curl args]: one
# client. conc_go [MAX]: one curl process runs every client's request at
# once (--parallel --parallel-immediate: each on a connection of its own,
# opened together, closed after it; one process, because a process start
# costs a busy machine more than a whole round's requests), waited for by
# its PID. With MAX, at most MAX at a time, started in order as others
# end (still more than the stack's workers). Then CONC_ST[I] is client
# I's status (also ST[R.I]); its body is in $CONC_OUT/R.I.b, its headers
# in R.I.h. The answers are read at the end of the test, all at once
# (conc_answers).
CONC_OUT=
CONC_R=
CONC_ARGS=()
CONC_N=0
CONC_PID=
CONC_ST=()
declare -A ST=()
conc_begin() {
    CONC_R=$1
    if [ "$CONC_OUT" != "$SG_DIR/conc" ]; then
        CONC_OUT=$SG_DIR/conc
        mkdir -p "$CONC_OUT"
    fi
    CONC_ARGS=() CONC_N=0 CONC_ST=()
}

conc_add() {
    local i=$CONC_N method=$1 path=$2 f=$CONC_OUT/$CONC_R.$CONC_N
    shift 2
    [ "$i" -gt 0 ] && CONC_ARGS+=(--next)
    : >"$f.b"
    : >"$f.h"
    CONC_ARGS+=(--max-time "$SG_CURL_TIMEOUT" -H 'Expect:' -H 'Connection: close' -X "$method"
        -o "$f.b" -D "$f.h" -w "$i %{http_code} %{exitcode} %{num_connects}\n" "$@" "$SG_URL$path")
    CONC_N=$((CONC_N + 1))
}

conc_go() {
    local i st rc nc w=$CONC_OUT/$CONC_R.w
    curl -sS --parallel --parallel-immediate --parallel-max "${1:-$CONC_N}" "${CONC_ARGS[@]}" \
        >"$w" 2>"$CONC_OUT/$CONC_R.err" &
    CONC_PID=$!
    wait "$CONC_PID"
    CONC_PID=
    for ((i = 0; i < CONC_N; i++)); do CONC_ST[i]=none; done
    while read -r i st rc nc; do
        if [ "$rc" = 0 ]; then
            CONC_ST[i]=$st
        else
            bad "round $CONC_R, client $i: transfer failed (curl exit $rc):" \
                "$(grep -v '^$' "$CONC_OUT/$CONC_R.err" | head -3 | tr '\n' ' ')"
        fi
        # each on a connection of its own, not queued behind another
        [ "$nc" = 1 ] || bad "round $CONC_R, client $i: $nc new connections, not 1"
    done <"$w"
    for ((i = 0; i < CONC_N; i++)); do ST[$CONC_R.$i]=${CONC_ST[i]}; done
}

# The curl of a test that failed half-way.
conc_reap() {
    [ -n "$CONC_PID" ] || return 0
    kill "$CONC_PID" 2>/dev/null
    wait "$CONC_PID" 2>/dev/null
    CONC_PID=
}

# body_field I NAME: the string member NAME of round CONC_R's client I's
# body into REPLY, or "" (bash alone: a round needs a few before
# conc_answers has read them; conc_answers checks them against jq's).
body_field() {
    local body=
    REPLY=
    IFS= read -r -d '' body <"$CONC_OUT/$CONC_R.$1.b"
    [[ $body =~ \"$2\":\"([^\"]*)\" ]] && REPLY=${BASH_REMATCH[1]}
    return 0
}

# conc_answers: every answer of the test, read by one jq run (a process
# per answer, or per round, would cost more than the requests): for
# client I of round R, A_OK[R.I] is the envelope's success (- when the
# body is not a JSON object), A_CODE[R.I] its error code, A_1..A_4[R.I]
# the fields CONC_PICK picks (- when absent), A_SID[R.I] its X-Session-ID
# and A_WWW[R.I] 1 if it has WWW-Authenticate: Bearer
# error="invalid_token". The headers every answer carries are checked
# here.
CONC_PICK='[.data.session_id, .data.user.id, .data.terminated, .data.access_token]'
# shellcheck disable=SC2016
CONC_JQ='
def headers: split("\n") | map(sub("\r$"; ""))
  | reduce .[] as $l ({};
      if $l | startswith("HTTP/") then {}
      else ($l | index(":")) as $c
        | if $c then . + {($l[:$c] | ascii_downcase): ($l[$c + 1:] | sub("^[ \t]+"; ""))}
          else . end
      end);
(input_filename | capture("(?<k>[0-9]+[.][0-9]+)[.]b$").k) as $k
| ($ARGS.named["h" + $k] | headers) as $h
| [$k]
  + (if type == "object" then
       [(.success | tostring), (.error.code // "-")] + (PICK | map(. // "-" | tostring))
     else ["-", "-", "-", "-", "-", "-"] end)
  + [([(if $h["content-type"] == "application/json; charset=utf-8" then empty else "Content-Type" end),
       (if $h["cache-control"] == "no-store" then empty else "Cache-Control" end),
       (if $h["x-content-type-options"] == "nosniff" then empty else "X-Content-Type-Options" end),
       (if ($h["x-request-id"] // "") | test("^[A-Za-z0-9._-]{1,128}$") then empty else "X-Request-ID" end)]
      | if length == 0 then "ok" else join(",") end),
     ($h["x-session-id"] // "-"),
     (if $h["www-authenticate"] == "Bearer error=\"invalid_token\"" then "1" else "0" end)]
| join(" ")'
declare -A A_OK=() A_CODE=() A_1=() A_2=() A_3=() A_4=() A_SID=() A_WWW=()
conc_answers() {
    local k files=() hargs=() ok code f1 f2 f3 f4 hdr sid www n=0
    A_OK=() A_CODE=() A_1=() A_2=() A_3=() A_4=() A_SID=() A_WWW=()
    for k in "${!ST[@]}"; do
        A_OK[$k]=- A_CODE[$k]=- A_1[$k]=- A_2[$k]=- A_3[$k]=- A_4[$k]=- A_SID[$k]=- A_WWW[$k]=0
        [ "${ST[$k]}" != none ] || continue
        files+=("$CONC_OUT/$k.b")
        hargs+=(--rawfile "h$k" "$CONC_OUT/$k.h")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    while read -r k ok code f1 f2 f3 f4 hdr sid www; do
        A_OK[$k]=$ok A_CODE[$k]=$code A_1[$k]=$f1 A_2[$k]=$f2 A_3[$k]=$f3 A_4[$k]=$f4
        A_SID[$k]=$sid A_WWW[$k]=$www
        n=$((n + 1))
        [ "$hdr" = ok ] || bad "answer $k (${ST[$k]}): header(s) missing or wrong: $hdr"
    done < <(jq -r "${hargs[@]}" "${CONC_JQ/PICK/$CONC_PICK}" "${files[@]}" 2>"$CONC_OUT/jq.err")
    [ -s "$CONC_OUT/jq.err" ] && bad "jq: $(head -c 300 "$CONC_OUT/jq.err")"
    echo "#   $n answers read"
    for k in "${!ST[@]}"; do
        [ "${ST[$k]}" != none ] && [ "${A_OK[$k]}" = - ] &&
            bad "answer $k (${ST[$k]}): not the JSON envelope: $(body_of "$k")"
    done
    return 0
}

# ---- what Redis must hold ------------------------------------------------------

# The whole keyspace against what must hold, in one script (atomic: no
# request runs while it reads). ARGV: the prefix, the maximum, a user id
# to report on (or ""), then id, email of every user the suite created.
# Returns one line: that user's sessions (the zset's members, sorted),
# "|", then the problems found (at most 20), separated by " ; ".
AUDIT_LUA='
local P, max = ARGV[1], tonumber(ARGV[2])
local known, nknown = {}, 0
for i = 4, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1]; nknown = nknown + 1 end
local watched = redis.call("ZRANGE", P .. "{u:" .. ARGV[3] .. "}:sessions", 0, -1)
table.sort(watched)
local bad = {}
local live, published = {}, {}
local function say(s) if #bad < 20 then bad[#bad + 1] = s end end
local function is(k, t)
  local got = redis.call("TYPE", k)["ok"]
  if got ~= t then say(k .. " is a " .. got .. ", not a " .. t) end
  return got == t
end
local function expires(k)
  if redis.call("PTTL", k) <= 0 then say("never expires: " .. k) end
end
local function permanent(k)
  if redis.call("PTTL", k) ~= -1 then say("permanent key expires: " .. k) end
end
for _, k in ipairs(redis.call("KEYS", P .. "*")) do
  local r = string.sub(k, #P + 1)
  local uid, rest = string.match(r, "^{u:([^}]*)}:(.*)$")
  if r == "users" then
    if is(k, "set") then
      permanent(k)
      for _, m in ipairs(redis.call("SMEMBERS", k)) do
        if not known[m] then say("user set names an unknown id " .. m) end
      end
      if redis.call("SCARD", k) ~= nknown then
        say("user set has " .. redis.call("SCARD", k) .. " ids, not " .. nknown)
      end
    end
  elseif string.sub(r, 1, 6) == "email:" then
    if is(k, "string") then
      permanent(k)
      local id = redis.call("GET", k)
      if known[id] ~= string.sub(r, 7) then say(k .. " -> " .. id .. ", no account of that email") end
    end
  elseif uid then
    local pre = P .. "{u:" .. uid .. "}:"
    if not known[uid] then
      say("key of no account: " .. k)
    elseif rest == "user" then
      if is(k, "hash") then
        permanent(k)
        local f = redis.call("HMGET", k, "id", "email", "password", "created_at", "roles")
        if f[1] ~= uid or f[2] ~= known[uid] or not f[3] or not f[4] or not f[5] then
          say(k .. ": id, email, password, created_at, roles not all as registered")
        end
      end
    elseif rest == "sessions" then
      if is(k, "zset") then
        expires(k)
        local n = redis.call("ZCARD", k)
        if n > max then say(k .. ": " .. n .. " sessions, more than " .. max) end
        for _, sid in ipairs(redis.call("ZRANGE", k, 0, -1)) do
          if redis.call("EXISTS", pre .. "s:" .. sid) == 0 then
            say(k .. " lists " .. sid .. ", which has no session hash")
          end
        end
      end
    elseif rest == "addrs" then
      if is(k, "zset") then expires(k) end
    elseif rest == "rl:user" then
      if is(k, "string") then
        expires(k)
        if not string.match(redis.call("GET", k), "^%d+ %d+ %d+$") then
          say(k .. " is no START PREV CUR counter")
        end
      end
    else
      local sid = string.match(rest, "^s:(%x+)$")
      local rsid = string.match(rest, "^s:(%x+):rt$")
      if sid and #sid == 64 then
        live[sid] = true
        if is(k, "hash") then
          expires(k)
          if not redis.call("ZSCORE", pre .. "sessions", sid) then
            say("session hash " .. k .. " is not in its user zset")
          end
          local f = redis.call("HMGET", k, "uid", "expires_at", "created_at", "refresh_hash")
          if f[1] ~= uid or not f[2] or not f[3] or not f[4] then
            say(k .. ": uid, expires_at, created_at, refresh_hash not all set")
          end
        end
      elseif rsid and #rsid == 64 then
        if is(k, "set") then expires(k) end
        if redis.call("EXISTS", pre .. "s:" .. rsid) == 0 then say(k .. " outlived its session") end
      else
        say("unknown key of a user: " .. k)
      end
    end
  elseif string.sub(r, 1, 3) == "rl:" then
    if is(k, "zset") then expires(k) end
  elseif string.sub(r, 1, 6) == "ready:" then
    expires(k)
  elseif r == "revocations:epoch" then
    -- the epoch of the stream: one small string that must outlive every
    -- restart that keeps data (docs/REDIS.md), so no TTL
    is(k, "string")
  elseif r == "revocations" then
    if is(k, "stream") then
      expires(k)
      for _, e in ipairs(redis.call("XRANGE", k, "-", "+")) do
        local f = e[2]
        if f[1] ~= "s" or not string.match(f[2] or "", "^%x+$") or #f[2] ~= 64 or
           f[3] ~= "u" or not tonumber(f[4]) then
          say("revocation entry " .. e[1] .. " is not {s: SID, u: MS}")
        else
          published[#published + 1] = f[2]
        end
      end
    end
  else
    say("orphan: " .. k)
  end
end
-- an end is published only when the session ended: none still lives
for _, sid in ipairs(published) do
  if live[sid] then say("session " .. sid .. " published as ended but alive") end
end
for uid, email in pairs(known) do
  if redis.call("GET", P .. "email:" .. email) ~= uid then say("email index of " .. email .. " is not " .. uid) end
  if redis.call("EXISTS", P .. "{u:" .. uid .. "}:user") == 0 then say("no record of user " .. uid) end
  if redis.call("SISMEMBER", P .. "users", uid) == 0 then say("user set lacks " .. uid) end
end
return table.concat(watched, " ") .. "|" .. table.concat(bad, " ; ")'

# The audit runs in one redis-cli kept open (a coprocess: a process start
# per round would cost more than the round's requests), by its SHA1.
AUDIT_SHA=
audit_start() {
    AUDIT_SHA=$(rcli SCRIPT LOAD "$AUDIT_LUA") || return 1
    [[ $AUDIT_SHA =~ ^[0-9a-f]{40}$ ]] || { echo "SCRIPT LOAD: $AUDIT_SHA" >&2; return 1; }
    coproc AUDIT { exec redis-cli -s "$SG_DIR/redis.sock"; }
}
audit_stop() {
    [ -n "${AUDIT_PID:-}" ] || return 0
    kill "$AUDIT_PID" 2>/dev/null
    wait "$AUDIT_PID" 2>/dev/null
    AUDIT_PID=
}

# audit WHAT [UID]: run it; UID's sessions into MEMBERS (space separated).
# Ids and emails hold no space or quote: one line of redis-cli's syntax.
MEMBERS=
audit() {
    local what=$1 args=() id line
    for id in "${!USERS[@]}"; do args+=("$id" "${USERS[$id]}"); done
    MEMBERS=
    [ -n "${AUDIT_PID:-}" ] || { bad "$what: no audit process"; return; }
    echo "EVALSHA $AUDIT_SHA 0 $P $MAX \"${2:-}\" ${args[*]}" >&"${AUDIT[1]}"
    IFS= read -r -t 60 line <&"${AUDIT[0]}" || { bad "$what: the audit did not answer"; return; }
    if [[ $line != *"|"* ]] || ! [[ ${line%%|*} =~ ^([0-9a-f]{64}( [0-9a-f]{64})*)?$ ]]; then
        bad "$what: the audit failed: $line"
        return
    fi
    MEMBERS=${line%%|*}
    line=${line#*|}
    [ -z "$line" ] || bad "$what: ${line:0:600}"
}

# The session counts of one user, sampled every 10 ms while a scenario
# runs: "zset-entries session-hashes consistent(1/0)" per sample.
SAMPLE_LUA='
local z = redis.call("ZRANGE", KEYS[1], 0, -1)
local n, ok = 0, 1
for _, k in ipairs(redis.call("KEYS", ARGV[1] .. "*")) do
  if string.sub(k, -3) ~= ":rt" then
    n = n + 1
    if not redis.call("ZSCORE", KEYS[1], string.sub(k, #ARGV[1] + 1)) then ok = 0 end
  end
end
for _, m in ipairs(z) do
  if redis.call("EXISTS", ARGV[1] .. m) == 0 then ok = 0 end
end
return #z .. " " .. n .. " " .. ok'
SAMPLER_PID=
SAMPLES=
sampler_start() {
    local uid=$1
    SAMPLES=$SG_DIR/samples.$uid
    # at most 100000 samples (17 minutes): bounded even if never stopped
    rcli -r 100000 -i 0.01 EVAL "$SAMPLE_LUA" 1 "$P{u:$uid}:sessions" "$P{u:$uid}:s:" \
        >"$SAMPLES" 2>&1 &
    SAMPLER_PID=$!
}
sampler_stop() {
    [ -n "$SAMPLER_PID" ] || return 0
    kill "$SAMPLER_PID" 2>/dev/null
    wait "$SAMPLER_PID" 2>/dev/null
    SAMPLER_PID=
}
# sampler_check: stop the sampler and judge its samples.
sampler_check() {
    local n maxz maxh incons
    sampler_stop
    read -r n maxz maxh incons < <(awk 'NF == 3 { n++; if ($1 > z) z = $1; if ($2 > h) h = $2; if ($3 != 1) c++ }
        END { print n + 0, z + 0, h + 0, c + 0 }' "$SAMPLES")
    echo "#   sampler: $n samples, at most $maxz zset entries and $maxh session hashes, $incons inconsistent"
    assertTrue "sampler: at least one sample ($(head -c 200 "$SAMPLES"))" "[ $n -gt 0 ]"
    assertTrue "sampler: zset never above $MAX (saw $maxz)" "[ $maxz -le $MAX ]"
    assertTrue "sampler: session hashes never above $MAX (saw $maxh)" "[ $maxh -le $MAX ]"
    assertEquals "sampler: samples where zset and hashes disagree" 0 "$incons"
}


# evicted_total UID: the sessions ended past the maximum, from the log
# line each sign-in that ended some writes (log_level = info).
evicted_total() {
    cat "$SG_DIR"/*.log 2>/dev/null |
        sed -n "s/.*user $1: \([0-9][0-9]*\) oldest session(s) ended.*/\1/p" |
        awk '{ s += $1 } END { print s + 0 }'
}

# scan_compare WHAT BEFORE: `redis-cli --scan` now against what must
# exist: every key that was there before and is permanent, plus the
# records, email indexes and live sessions of every user. Keys beyond
# that may only be ones that expire by themselves (the audit checks their
# TTLs), the revocation stream among them; a must-exist key missing is a
# failure.
scan_compare() {
    local what=$1 before=$2 now must id missing extra
    now=$SG_DIR/scan.after
    must=$SG_DIR/scan.must
    rcli --scan | sort >"$now"
    {
        grep -E "^${P}(users|email:.*|\{u:[0-9a-f]+\}:user)\$" "$before"
        [ ${#USERS[@]} -gt 0 ] && echo "${P}users"
        for id in "${!USERS[@]}"; do
            echo "${P}email:${USERS[$id]}"
            echo "${P}{u:$id}:user"
        done
        # the session of every zset entry
        rcli EVAL 'local out = {}
            for i = 2, #ARGV do
              local pre = ARGV[1] .. "{u:" .. ARGV[i] .. "}:"
              for _, sid in ipairs(redis.call("ZRANGE", pre .. "sessions", 0, -1)) do
                out[#out + 1] = pre .. "s:" .. sid
              end
            end
            return out' 0 "$P" "${!USERS[@]}"
    } | sort -u >"$must"
    missing=$(comm -23 "$must" "$now" | head -5)
    assertEquals "$what: keys that must exist but do not" "" "$missing"
    # what else there is: by kind, ids replaced
    extra=$(comm -13 "$must" "$now" | sed -E 's/(acct:)[0-9a-f]+/\1HASH/; s/[0-9a-f]{64}/SID/g;
        s/\{u:[0-9a-f]+\}/{u:ID}/g; s/^(sg:ready:).*/\1X/' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    echo "#   keys beyond the ones that must exist:$extra"
    if grep -vqE '^sg:(\{u:ID\}:(sessions|addrs|rl:user)|rl:[a-z_]+:(ip|acct|sid|user):[^ ]+|revocations|revocations:epoch)$' \
        < <(comm -13 "$must" "$now" | sed -E 's/[0-9a-f]{64}/SID/g; s/\{u:[0-9a-f]+\}/{u:ID}/g'); then
        fail "$what: unexpected kinds of keys: $extra"
    fi
}

# ---- answers -------------------------------------------------------------------

# body_of R.I: that answer's body for a failure message, unless it may
# hold tokens (a 200 or 201).
body_of() {
    case ${ST[$1]} in
    2*) echo "(body not shown)" ;;
    *) head -c 200 "$CONC_OUT/$1.b" 2>/dev/null ;;
    esac
}

# check_signin R.I UID: a sign-in's answer, 200 with a session of UID
# (after conc_answers).
check_signin() {
    local k=$1 uid=$2
    if [ "${ST[$k]}" != 200 ] || [ "${A_OK[$k]}" != true ] || ! [[ ${A_1[$k]} =~ $SID_RE ]] ||
        [ "${A_2[$k]}" != "$uid" ] || [ "${#A_4[$k]}" -lt 20 ]; then
        bad "sign-in $k: ${ST[$k]} ${A_OK[$k]} ${A_CODE[$k]} session ${A_1[$k]} user ${A_2[$k]}: $(body_of "$k")"
        return 1
    fi
    [ "${A_SID[$k]}" = "${A_1[$k]}" ] || bad "sign-in $k: X-Session-ID '${A_SID[$k]}' is not ${A_1[$k]}"
}

# ---- scenarios -----------------------------------------------------------------

signin_body() { creds_json "$1" "$API_PASSWORD"; }

# A new user with MAX sessions (their ids in SEEN, tokens in TOKEN).
declare -A SEEN=() TOKEN=()
user_at_max() {
    local i
    SEEN=() TOKEN=()
    api_register "$(api_email "$1")" || return 1
    UID_=$API_UID EMAIL_=$(sg_json .data.user.email)
    USERS[$UID_]=$EMAIL_
    for ((i = 0; i < MAX; i++)); do
        api_signin "$EMAIL_" || return 1
        SEEN[$API_SID]=setup TOKEN[$API_SID]=$API_TOKEN
    done
}

# N sign-ins of one user at once, the user already at the maximum.
test_signins_at_max() {
    local e uid r i k body before created=$MAX survivors evicted sid n_ok members=() all=()
    FAILS=0 ST=()
    user_at_max atmax || fail "setup"
    uid=$UID_ e=$EMAIL_
    rcli --scan | sort >"$SG_DIR/scan.before"
    before=$SG_DIR/scan.before
    body=$(signin_body "$e")
    sampler_start "$uid"
    for ((r = 0; r < CONC_ROUNDS && !(FAILS > 20); r++)); do
        conc_begin "$r"
        for ((i = 0; i < CONC_PAR; i++)); do
            conc_add POST /auth/signin -H 'Content-Type: application/json' --data-binary "$body"
        done
        conc_go
        audit "round $r" "$uid"
        members[r]=$MEMBERS
    done
    sampler_check
    conc_answers
    # each round creates more than the maximum: the user is at it, with
    # sessions of that round only (the older ones have the lowest scores,
    # and each sign-in ends the oldest other)
    for ((r = 0; r < ${#members[@]}; r++)); do
        n_ok=0
        for ((i = 0; i < CONC_PAR; i++)); do
            check_signin "$r.$i" "$uid" || continue
            SEEN[${A_1[$r.$i]}]=$r
            n_ok=$((n_ok + 1))
        done
        created=$((created + n_ok))
        read -ra all <<<"${members[r]}"
        survivors=${#all[@]}
        [ "$survivors" = "$MAX" ] || bad "round $r: $survivors sessions, not $MAX: ${members[r]}"
        for sid in ${members[r]}; do
            [ -n "${SEEN[$sid]:-}" ] || bad "round $r: session $sid was never handed out"
            [ "${SEEN[$sid]:-}" = "$r" ] || [ "$n_ok" -lt "$MAX" ] ||
                bad "round $r: session $sid of round ${SEEN[$sid]:-?} outlived $n_ok sign-ins"
        done
    done
    evicted=$(evicted_total "$uid")
    echo "#   $created sessions created, $survivors alive, $evicted evicted"
    assertEquals "every session created is alive or was evicted" "$created" $((survivors + evicted))
    scan_compare "after the sign-ins" "$before"
    audit "at the end"
}

# DELETE /sessions from the user's sessions while others sign in.
test_end_all_races_signins() {
    local e uid r i k body before created=$MAX terminated=0 survivors evicted sid
    local st ok code t j ended=0 all=() role=() members=()
    declare -A who=()
    FAILS=0 ST=()
    user_at_max endall || fail "setup"
    uid=$UID_ e=$EMAIL_
    rcli --scan | sort >"$SG_DIR/scan.before"
    before=$SG_DIR/scan.before
    body=$(signin_body "$e")
    audit "before" "$uid"
    sampler_start "$uid"
    for ((r = 0; r < CONC_ROUNDS && !(FAILS > 20); r++)); do
        conc_begin "$r"
        # every live session asks to end the others, the rest sign in,
        # in an order of their own each round; half of them at a time,
        # so that a DELETE late in the order meets this round's sessions
        read -ra all <<<"$MEMBERS"
        role=("${all[@]}")
        for ((i = ${#all[@]}; i < CONC_PAR; i++)); do role[i]=signin; done
        for ((i = CONC_PAR - 1; i > 0; i--)); do
            j=$((RANDOM % (i + 1)))
            sid=${role[i]} role[i]=${role[j]} role[j]=$sid
        done
        for ((i = 0; i < CONC_PAR; i++)); do
            who[$r.$i]=${role[i]}
            if [ "${role[i]}" = signin ]; then
                conc_add POST /auth/signin -H 'Content-Type: application/json' --data-binary "$body"
            else
                conc_add DELETE /sessions -H "Authorization: Bearer ${TOKEN[${role[i]}]}"
            fi
        done
        conc_go $((CONC_PAR / 2))
        audit "round $r" "$uid"
        members[r]=$MEMBERS
        # the next round's DELETEs need the tokens of the survivors
        for ((i = 0; i < CONC_PAR; i++)); do
            if [ "${role[i]}" != signin ] || [ "${CONC_ST[i]}" != 200 ]; then continue; fi
            body_field "$i" session_id
            [[ " $MEMBERS " == *" $REPLY "* ]] || continue
            sid=$REPLY
            body_field "$i" access_token
            TOKEN[$sid]=$REPLY
        done
    done
    sampler_check
    conc_answers
    for ((r = 0; r < ${#members[@]}; r++)); do
        for ((i = 0; i < CONC_PAR; i++)); do
            k=$r.$i sid=${who[$r.$i]}
            if [ "$sid" = signin ]; then
                check_signin "$k" "$uid" || continue
                SEEN[${A_1[$k]}]=$r
                [ -z "${TOKEN[${A_1[$k]}]:-}" ] || [ "${TOKEN[${A_1[$k]}]}" = "${A_4[$k]}" ] ||
                    bad "sign-in $k: bash and jq read different tokens"
                created=$((created + 1))
                continue
            fi
            st=${ST[$k]} ok=${A_OK[$k]} code=${A_CODE[$k]} t=${A_3[$k]}
            if [ "$st" = 200 ] && [ "$ok" = true ] && [[ $t =~ ^[0-9]+$ ]]; then
                terminated=$((terminated + t))
                [ "$t" -le $((MAX - 1)) ] ||
                    bad "$k: DELETE /sessions ended $t sessions, more than the $((MAX - 1)) others there can be"
                [ "${A_SID[$k]}" = "$sid" ] || bad "$k: X-Session-ID '${A_SID[$k]}' is not $sid"
            elif [ "$st" = 401 ] && [ "$ok" = false ] && [ "$code" = UNAUTHORIZED ]; then
                # its session was ended first (by another DELETE, or evicted)
                ended=$((ended + 1))
                [[ " ${members[r]} " == *" $sid "* ]] &&
                    bad "$k: DELETE /sessions from $sid answered 401, but the session is alive"
                [ "${A_WWW[$k]}" = 1 ] || bad "$k: 401 without the Bearer challenge"
            else
                bad "$k: DELETE /sessions: $st $ok $code: $(body_of "$k")"
            fi
        done
        read -ra all <<<"${members[r]}"
        survivors=${#all[@]}
        if [ "$survivors" -lt 1 ] || [ "$survivors" -gt "$MAX" ]; then
            bad "round $r: $survivors sessions after the round, not 1 to $MAX"
        fi
        for sid in ${members[r]}; do
            [ -n "${SEEN[$sid]:-}" ] || bad "round $r: session $sid was never handed out"
        done
    done
    evicted=$(evicted_total "$uid")
    echo "#   $created sessions created, $survivors alive, $terminated ended by DELETE /sessions," \
        "$evicted evicted; $ended DELETEs came too late (401)"
    assertEquals "every session created is alive, ended by a DELETE or evicted" \
        "$created" $((survivors + terminated + evicted))
    scan_compare "after DELETE /sessions and sign-ins" "$before"
    audit "at the end"
}

# Every client registers the same address (in its own case, with its own
# password) at once: one account, the others 409 EMAIL_TAKEN.
test_register_one_email() {
    local r i k e e_i local_part st ok code email id wins before winner n_users0 n_users
    local pw=() emails=() uids=()
    FAILS=0 ST=()
    rcli --scan | sort >"$SG_DIR/scan.before"
    before=$SG_DIR/scan.before
    n_users0=$(rcli SCARD "${P}users")
    for ((r = 0; r < CONC_ROUNDS && !(FAILS > 20); r++)); do
        e=reg-$$-$r-$RANDOM@example.com
        emails[r]=$e
        local_part=${e%@*}
        conc_begin "$r"
        for ((i = 0; i < CONC_PAR; i++)); do
            # one address, written in another case by every other client
            if ((i % 2)); then e_i="${local_part^^}@EXAMPLE.com"; else e_i=$e; fi
            pw[i]="pw-$r-$i-$RANDOM$RANDOM"
            conc_add POST /auth/register -H 'Content-Type: application/json' \
                --data-binary "{\"email\":\"$e_i\",\"password\":\"${pw[i]}\"}"
        done
        conc_go
        # the account, as the email index names it
        echo "GET ${P}email:$e" >&"${AUDIT[1]}"
        IFS= read -r -t 60 id <&"${AUDIT[0]}"
        uids[r]=$id
        [[ $id =~ ^[0-9a-f]{32}$ ]] || { bad "round $r: no account of $e in the email index ($id)"; continue; }
        USERS[$id]=$e
        audit "round $r"
        # and it is the winner's: its password signs in, a loser's does
        # not (every tenth round: each costs two processes)
        if ((r % 10 == 0)); then
            winner=
            for ((i = 0; i < CONC_PAR; i++)); do [ "${CONC_ST[i]}" = 201 ] && winner=$i; done
            [ -n "$winner" ] || { bad "round $r: no 201"; continue; }
            api_signin "$e" "${pw[winner]}" >/dev/null 2>&1 ||
                bad "round $r: the winner's password does not sign in: $SG_STATUS"
            [ "$API_UID" = "$id" ] || bad "round $r: sign-in as user $API_UID, not $id"
            i=$(((winner + 1) % CONC_PAR))
            api_post /auth/signin "$(creds_json "$e" "${pw[i]}")"
            assert_error "round $r: a losing password" 401 INVALID_CREDENTIALS
        fi
    done
    CONC_PICK='[.data.user.email, .data.user.id, null, null]'
    conc_answers
    CONC_PICK='[.data.session_id, .data.user.id, .data.terminated, .data.access_token]'
    for ((r = 0; r < ${#uids[@]}; r++)); do
        wins=0
        for ((i = 0; i < CONC_PAR; i++)); do
            k=$r.$i
            st=${ST[$k]} ok=${A_OK[$k]} code=${A_CODE[$k]} email=${A_1[$k]} id=${A_2[$k]}
            if [ "$st" = 201 ] && [ "$ok" = true ]; then
                wins=$((wins + 1))
                [ "$email" = "${emails[r]}" ] || bad "$k: registered as '$email', not ${emails[r]}"
                [ "$id" = "${uids[r]}" ] || bad "$k: the 201 names user $id, the email index ${uids[r]}"
            elif [ "$st" != 409 ] || [ "$ok" != false ] || [ "$code" != EMAIL_TAKEN ]; then
                bad "$k: register: $st $ok $code: $(body_of "$k")"
            fi
        done
        [ "$wins" = 1 ] || bad "round $r: $wins registrations of ${emails[r]} succeeded, not 1"
    done
    n_users=$(rcli SCARD "${P}users")
    assertEquals "the user set grew by one a round" $((n_users0 + CONC_ROUNDS)) "$n_users"
    assertEquals "user records: one per account" "${#USERS[@]}" "$(rcli --scan --pattern "${P}{u:*}:user" | wc -l)"
    scan_compare "after the registrations" "$before"
    audit "at the end"
}

# A sign-in's created_at (its zset score) is when its request started;
# parallel sign-ins that started later can finish first. When the user is
# at the maximum and all of them are newer than this one, the oldest
# session is this one's own: the sign-in must not end it and answer 200
# with tokens of a session that never lived. The interleaving, made
# certain: the user's sessions moved a minute into the future, as if
# their sign-ins had started after the next one.
test_signin_keeps_its_own_session() {
    local e uid i sids=() toks=() sid tok now
    FAILS=0 ST=()
    api_register "$(api_email own)" || fail "register"
    uid=$API_UID e=$(sg_json .data.user.email)
    USERS[$uid]=$e
    for ((i = 0; i < MAX; i++)); do
        api_signin "$e" || fail "sign-in $i"
        sids[i]=$API_SID toks[i]=$API_TOKEN
    done
    now=$(($(date +%s%3N) + 60000))
    for ((i = 0; i < MAX; i++)); do
        rcli ZADD "$P{u:$uid}:sessions" XX $((now + i)) "${sids[i]}" >/dev/null
    done
    api_signin "$e" || fail "the sign-in past the maximum"
    sid=$API_SID tok=$API_TOKEN
    api_auth "$tok" GET /auth/verify
    assert_ok "the new session's token"
    # the oldest of the others made room
    api_auth "${toks[0]}" GET /auth/verify
    assert_unauthorized "the oldest of the others"
    audit "after the sign-in" "$uid"
    assertEquals "the sessions: the new one and the newer others" \
        "$(printf '%s\n' "$sid" "${sids[@]:1}" | sort | tr '\n' ' ')" "$MEMBERS "
}

test_no_sanitizer_reports() { sg_assert_no_sanitizer_reports "$SG_DIR"; }

suite() {
    local t
    for t in test_signin_keeps_its_own_session test_signins_at_max \
        test_end_all_races_signins test_register_one_email test_no_sanitizer_reports; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
