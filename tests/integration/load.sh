# shellcheck shell=bash
# tests/integration/load.sh -- one client verifying a token in a loop while
# a suite breaks Redis (sentinel.sh, cluster.sh), and the judgement of its
# answers. Source it after api.sh; set LOAD_DIR (where the answers go, one
# line each: "MS STATUS RETRY_AFTER") and SETTLE_MS before use.
#
#   load_start TOKEN           GET /auth/verify in a loop until load_stop
#                              (at most 2000 requests or 180 s)
#   load_stop
#   judge_load WHAT T [EVENT]  only 200 and 503 (with Retry-After), 200 again
#                              after T (ms, when EVENT happened), and 200
#                              only from SETTLE_MS after that; figures printed
#   settled T                  enough answers from SETTLE_MS after the first
#                              200 since T to judge them
#   enough_after MS            20 answers or more later than MS

LOAD_PID=

load_start() {
    local url=$SG_URL/auth/verify token=$1 out=$LOAD_DIR/load.out
    : >"$out"
    rm -f "$LOAD_DIR/load.stop"
    (
        end=$((SECONDS + 180))
        for ((i = 0; i < 2000 && SECONDS < end; i++)); do
            [ -e "$LOAD_DIR/load.stop" ] && break
            r=$(curl -s -o /dev/null --max-time 20 -H "Authorization: Bearer $token" \
                -w '%{http_code} %header{retry-after}' "$url")
            echo "$(date +%s%3N) ${r:-000} -" >>"$out"
        done
    ) &
    LOAD_PID=$!
}

load_stop() {
    [ -n "$LOAD_PID" ] || return 0
    touch "$LOAD_DIR/load.stop"
    wait "$LOAD_PID" 2>/dev/null
    LOAD_PID=
}

# answers_after MS: how many lines of the load's output are later than MS
answers_after() { awk -v t="$1" '$1 > t { n++ } END { print n + 0 }' "$LOAD_DIR/load.out"; }
# first_200_after MS: the time of the first 200 later than MS, or nothing
first_200_after() { awk -v t="$1" '$1 > t && $2 == 200 { print $1; exit }' "$LOAD_DIR/load.out"; }
enough_after() { [ "$(answers_after "$1")" -ge 20 ]; }

judge_load() {
    local what=$1 tp=$2 event=${3:-the promotion} f=$LOAD_DIR/load.out first
    awk '{ n[$2]++ } END { printf "# %s: answers by status:", what; for (s in n) printf " %s=%d", s, n[s]; print "" }' what="$what" "$f"
    assertEquals "$what: answers other than 200 and 503" "" \
        "$(awk '$2 != 200 && $2 != 503 { printf "%s ", $2 }' "$f")"
    assertEquals "$what: a 503 without Retry-After" "" \
        "$(awk '$2 == 503 && $3 == "" { printf "%s ", $1 }' "$f")"
    first=$(first_200_after "$tp")
    assertNotNull "$what: a 200 after $event" "$first"
    [ -n "$first" ] || return
    echo "# $what: first 200 $((first - tp)) ms after $event;" \
        "last other answer $(awk -v t="$tp" '$2 != 200 { l = $1 } END { print (l ? l - t " ms" : "none") }' "$f") after it"
    # each worker finds the new master on its next request after its
    # backoff (250 ms at most): SETTLE_MS is room for a loaded machine
    assertEquals "$what: answers but 200 from $SETTLE_MS ms after the first 200 since $event" "" \
        "$(awk -v t="$((first + SETTLE_MS))" '$1 > t && $2 != 200 { printf "%s@%s ", $2, $1 }' "$f")"
}

settled() {
    local first
    first=$(first_200_after "$1")
    [ -n "$first" ] && enough_after $((first + SETTLE_MS))
}
