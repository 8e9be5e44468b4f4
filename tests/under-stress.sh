#!/usr/bin/env bash
# The README's test command, N times in a row, on a fresh clone of HEAD,
# while `stress --cpu 4` keeps every core busy beside it: the proof that
# no test depends on how fast the machine is (issue 13, docs/RELIABILITY.md).
#
#   tests/under-stress.sh [runs] [workdir]     (defaults: 3, a temp dir)
#
# Stops at the first failing run. Prints one line per run (wall time, the
# automake totals) and the load average seen; exits 0 only if every run
# passed. stress is started with a --timeout of 4 h so it cannot outlive
# an interrupted script; it is stopped by PID when the runs end.
set -uo pipefail

runs=${1:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$(mktemp -d /tmp/sg-stress.XXXXXX)}
command -v stress >/dev/null || { echo "stress is not installed (apt-get install stress)" >&2; exit 2; }

# the README's command, verbatim, as CI takes it
cmd=$(sed -n '/^# BEGIN README TEST COMMAND/,/^# END README TEST COMMAND/p' "$top/.ci/run" | sed '1d;$d')
[ -n "$cmd" ] || { echo "no README test command in .ci/run" >&2; exit 2; }

stress --cpu 4 --timeout 14400 >/dev/null 2>&1 &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null' EXIT
echo "stress --cpu 4 (pid $stress_pid); $runs runs of: $cmd"

totals() { # automake's summary of one tree: passed failed skipped
    find "$1" -name '*.trs' -exec grep -h '^:test-result:' {} + 2>/dev/null |
        awk '{n[$2]++} END {printf "%d %d %d\n", n["PASS"]+n["XFAIL"],
             n["FAIL"]+n["XPASS"]+n["ERROR"], n["SKIP"]}'
}

status=0
for i in $(seq 1 "$runs"); do
    dir=$work/run$i
    rm -rf "$dir" && git clone -q "$top" "$dir" || exit 2
    start=$(date +%s)
    (cd "$dir" && bash -c "$cmd") >"$work/run$i.log" 2>&1
    rc=$?
    read -r p f s <<<"$(totals "$dir")"
    printf 'run %d: exit %d, %d passed, %d failed, %d skipped, %d s, load %s\n' \
        "$i" "$rc" "$p" "$f" "$s" $(($(date +%s) - start)) "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
        grep -l -E '^:test-result: (FAIL|ERROR|XPASS)' -r "$dir" --include='*.trs' | sed 's/^/  failed: /'
        status=1
        break
    fi
done
echo "logs in $work"
exit $status
