#!/usr/bin/env bash
# analyze.sh -- static analysis of src/: gcc -fanalyzer, clang's scan-build
# and cppcheck, each over every src/*.c with the build's include paths and
# defines. Prints each tool's findings and one summary line per tool, and
# exits 1 if any finding is not suppressed (2 if a tool could not run).
#
# It works on a copy of src/ in a temporary directory, with src/lua/scripts.h
# generated there by the build's own src/lua/embed.sh: the developer's tree
# and build are never touched, and a tree other people are editing is seen
# as one consistent snapshot.
#
# Suppressions live in tests/analyze/<tool>.supp, one per line:
#     src/file.c:function:checker   # why this is not a defect
# The function is the one the finding is in ("-" outside any function); a
# "*" in the file or function field widens the entry, and its reason must
# say why the whole checker does not apply. Every entry needs a reason; an
# entry that matched nothing is reported as stale (not an error: src/ moves).
#
# Environment: SG_ANALYZE_JOBS (default: number of CPUs).
set -uo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
supp_dir=$top/tests/analyze
njobs=${SG_ANALYZE_JOBS:-$(nproc 2>/dev/null || echo 2)}

# Internal mode, run by scan-build: compile every src/*.c with $CC (its
# analyzer wrapper), the flags given as arguments.
if [ "${1-}" = --compile-under-scan-build ]; then
    shift
    for f in src/*.c; do
        { "$CC" "$@" -c "$f" -o /dev/null || echo "$f" >>out/failed; } &
        while [ "$(jobs -rp | wc -l)" -ge "$njobs" ]; do wait -n; done
    done
    wait
    exit 0
fi

die() { echo "analyze: $*" >&2; exit 2; }

for tool in gcc clang scan-build cppcheck pkg-config python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

# The build's preprocessor flags (Makefile.am AM_CPPFLAGS and DEP_CFLAGS,
# configure's AC_USE_SYSTEM_EXTENSIONS).
deps=$(pkg-config --cflags fcgi hiredis libjwt openssl json-c libpcre2-8) ||
    die "pkg-config failed for the build's dependencies"
read -r -a dep_cflags <<<"$deps"
cppflags=(-Isrc -D_GNU_SOURCE=1 -DSG_SYSCONFDIR='"/usr/local/etc"' -DPACKAGE_VERSION='"0.1.0"')
cflags=("${cppflags[@]}" "${dep_cflags[@]}" -O2)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sg-analyze.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/lua" "$tmp/out"
cp "$top"/src/*.c "$top"/src/*.h "$tmp/src/" &&
    cp "$top"/src/lua/*.lua "$top"/src/lua/embed.sh "$tmp/src/lua/" ||
    die "cannot copy src/"
cd "$tmp" || die "cannot cd to $tmp"
sh src/lua/embed.sh src/lua/scripts.h src/lua || die "src/lua/embed.sh failed"

# ---- suppressions and findings ---------------------------------------------

# check_supp TOOL: every entry of tests/analyze/TOOL.supp has three fields
# and a reason.
check_supp() {
    local f=$supp_dir/$1.supp
    [ -f "$f" ] || return 0
    awk -v f="$f" '
        /^[ \t]*(#|$)/ { next }
        {
            entry = $0; sub(/[ \t]*#.*/, "", entry)
            reason = $0; sub(/^[^#]*#?[ \t]*/, "", reason)
            if (split(entry, p, ":") != 3 || reason == "") {
                printf "%s:%d: want \"file:function:checker  # reason\"\n", f, NR
                bad = 1
            }
        }
        END { exit bad }' "$f" >&2 || die "malformed suppressions in $f"
}

# function_at FILE LINE: the function whose body holds LINE, "-" if none.
# Relies on the house format (clang-format, BreakBeforeBraces: Linux): a
# definition starts at column 0 and its braces stand alone at column 0.
function_at() {
    awk -v want="$2" '
        /^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = $0 }
        /^\{/ {
            name = sig; sub(/\(.*/, "", name)
            n = split(name, w, /[ \t*]+/); name = w[n]; start = NR
        }
        /^\}/ {
            if (start && want >= start && want <= NR) { print name; found = 1; exit }
            start = 0
        }
        END { if (!found) print "-" }' "$1"
}

# triage TOOL: reads findings "file:line:function:checker:message" on stdin,
# sorts them, marks each suppressed or not, prints them, and writes
# "total suppressed" to out/TOOL.count.
triage() {
    local tool=$1 f=$supp_dir/$1.supp
    [ -f "$f" ] || f=/dev/null
    sort -t: -k1,1 -k2,2n -u | awk -v supp="$f" -v tool="$tool" -v count="out/$tool.count" '
        BEGIN {
            FS = ":"
            while ((getline line < supp) > 0) {
                if (line ~ /^[ \t]*(#|$)/) continue
                entry = line; sub(/[ \t]*#.*/, "", entry); gsub(/[ \t]/, "", entry)
                reason = line; sub(/^[^#]*#[ \t]*/, "", reason)
                n++; key[n] = entry; why[n] = reason; used[n] = 0
            }
        }
        function field_ok(pat, val) { return pat == "*" || pat == val }
        {
            file = $1; line = $2; fn = $3; checker = $4
            msg = $0; sub(/^[^:]*:[^:]*:[^:]*:[^:]*:/, "", msg)
            hit = 0
            for (i = 1; i <= n && !hit; i++) {
                split(key[i], p, ":")
                if (field_ok(p[1], file) && field_ok(p[2], fn) && p[3] == checker) {
                    hit = i; used[i]++
                }
            }
            total++
            if (hit) {
                suppressed++
                printf "  suppressed  %s:%s: in %s(): %s [%s]\n      reason: %s\n",
                    file, line, fn, msg, checker, why[hit]
            } else {
                printf "  FINDING     %s:%s: in %s(): %s [%s]\n", file, line, fn, msg, checker
            }
        }
        END {
            for (i = 1; i <= n; i++)
                if (!used[i])
                    printf "  stale suppression in tests/analyze/%s.supp: %s\n", tool, key[i]
            printf "%d %d\n", total, suppressed > count
        }'
}

summary=()
status=0
# report TOOL LABEL: the summary line, and the exit status.
report() {
    local total suppressed
    read -r total suppressed <"out/$1.count"
    summary+=("analyze: $2 $total findings ($suppressed suppressed)")
    [ "$total" -eq "$suppressed" ] || status=1
}

# ---- gcc -fanalyzer ---------------------------------------------------------

run_gcc() {
    local f
    for f in src/*.c; do
        { gcc "${cflags[@]}" -fanalyzer -fdiagnostics-plain-output \
            -c "$f" -o /dev/null || echo "$f" >>out/failed; } \
            >"out/gcc.${f#src/}.log" 2>&1 &
        while [ "$(jobs -rp | wc -l)" -ge "$njobs" ]; do wait -n; done
    done
    wait
}

echo "== gcc -fanalyzer ($(gcc -dumpfullversion))"
check_supp gcc-fanalyzer
run_gcc
[ -s out/failed ] && { cat out/gcc.*.log; die "gcc could not compile $(cat out/failed)"; }
awk '
    FNR == 1 || /: At top level:/ { fn = "" }
    /: In function / { fn = $0; sub(/.*: In function .?/, "", fn); sub(/[^A-Za-z0-9_].*/, "", fn) }
    /^[^ ].*: warning: .*\[-Wanalyzer-[a-z0-9-]+\]$/ {
        split($0, p, ":"); checker = $0
        sub(/.*\[/, "", checker); sub(/\]$/, "", checker)
        msg = $0; sub(/^[^:]*:[^:]*:[^:]*: warning: /, "", msg); sub(/ \[-Wanalyzer.*/, "", msg)
        gsub(/:/, ";", msg)
        print p[1] ":" p[2] ":" (fn == "" ? "-" : fn) ":" checker ":" msg
    }
' out/gcc.*.log | triage gcc-fanalyzer
report gcc-fanalyzer gcc-fanalyzer
# gcc's event paths, to read the unsuppressed findings by
read -r total suppressed <out/gcc-fanalyzer.count
if [ "$total" -ne "$suppressed" ]; then
    echo "  -- gcc's paths:"
    grep -l -- '-Wanalyzer-' out/gcc.*.log | xargs cat | sed 's/^/    /'
fi

# ---- clang scan-build -------------------------------------------------------

echo "== scan-build (clang $(clang -dumpversion))"
check_supp scan-build
# The default checkers, plus the strcpy/strcat check STYLE.md asks for.
scan-build -plist -o out/scan-build --use-cc=clang \
    -enable-checker security.insecureAPI.strcpy \
    bash "$top/tests/analyze.sh" --compile-under-scan-build "${cflags[@]}" \
    >out/scan-build.log 2>&1 && [ ! -s out/failed ] ||
    { cat out/scan-build.log; die "scan-build could not compile src/"; }
python3 - out/scan-build <<'EOF' | triage scan-build
import glob, os, plistlib, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*", "*.plist"))):
    with open(path, "rb") as fh:
        plist = plistlib.load(fh)
    for d in plist.get("diagnostics", []):
        loc = d["location"]
        print("%s:%d:%s:%s:%s" % (plist["files"][loc["file"]], loc["line"],
              d.get("issue_context") or "-", d.get("check_name", "?"),
              d.get("description", "").replace(":", ";")))
EOF
report scan-build scan-build

# ---- cppcheck ---------------------------------------------------------------

echo "== cppcheck ($(cppcheck --version))"
check_supp cppcheck
# Only the build's configuration (-D given), on Linux; project headers only
# (library knowledge comes from cppcheck's gnu/posix/openssl configs).
cppcheck -j"$njobs" --quiet --std=c11 --library=gnu --library=openssl \
    --enable=warning,style,performance,portability \
    --template='{file}:{line}:{id}:{message}' \
    -D__linux__=1 "${cppflags[@]}" src/*.c >out/cppcheck.log 2>&1 ||
    { cat out/cppcheck.log; die "cppcheck failed"; }
while IFS=: read -r file line id msg; do
    case $file in src/*) ;; *) echo "$file:$line:-:$id:$msg"; continue ;; esac
    echo "$file:$line:$(function_at "$file" "$line"):$id:${msg//:/;}"
done <out/cppcheck.log | triage cppcheck
report cppcheck cppcheck

echo
printf '%s\n' "${summary[@]}"
exit $status
