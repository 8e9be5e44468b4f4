#!/bin/sh
# campaign.sh -- build the fuzz targets out of tree and run each in turn.
#
#   tests/fuzz/campaign.sh [-b BUILD] [-r RUNS] [-t SECONDS] [target...]
#
# From the top of a configured source tree (src/lua/scripts.h must exist).
# The library and the targets are compiled with clang, libFuzzer, ASan and
# UBSan into BUILD (default /tmp/sg-fuzz), from a copy of src/ taken at
# the start, so neither the in-tree build nor someone editing src/ is
# disturbed. Each target (default: every one in Makefile.am) runs alone,
# at nice 19, for RUNS executions (default 10^7) or SECONDS of wall clock
# (default 480), whichever comes first, starting from its seeds and
# growing BUILD/corpus/X. A run that stops on a finding is resumed with
# what is left of the budget (up to four times); the findings are in
# BUILD/artifacts/X/. Then the grown corpus is merged over the seeds and
# BUILD/new/X receives at most 30 new inputs, the ones adding the most
# coverage features first; copy those worth keeping to corpus/X/.
# BUILD/table.md gets one row of figures per target.
set -u
BUILD=/tmp/sg-fuzz RUNS=10000000 SECS=480
while getopts b:r:t: o; do
    case $o in
    b) BUILD=$OPTARG ;;
    r) RUNS=$OPTARG ;;
    t) SECS=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
TOP=$(pwd)
[ -f "$TOP/src/lua/scripts.h" ] || { echo "run from a configured tree" >&2; exit 2; }
TARGETS=${*:-$(sed -n '/^FUZZ_TARGETS/,/^[^\t]/s|^\ttests/fuzz/fuzz_\([a-z0-9_]*\).*|\1|p' \
                 Makefile.am)}
SAN=address,undefined
CF="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
    -I$BUILD/src -I/usr/include/json-c -I/usr/include/hiredis -D_GNU_SOURCE"
LIBS="-lfcgi -lhiredis -ljwt -lssl -lcrypto -ljson-c -lpcre2-8"

mkdir -p "$BUILD/obj" && rm -rf "$BUILD/src" && cp -r src "$BUILD/src" || exit 1
for s in $(sed -n '/^src_lib\(sessiongate\|sgredis\)_a_SOURCES/,/^$/p' Makefile.am |
           tr ' \\\t' '\n\n\n' | sed -n 's|^src/\(.*\)\.c$|\1|p'); do
    nice -n 19 clang $CF -fsanitize=fuzzer-no-link,$SAN -c "$BUILD/src/$s.c" \
        -o "$BUILD/obj/$s.o" || exit 1
done
for t in $TARGETS; do
    nice -n 19 clang $CF -fsanitize=fuzzer,$SAN -o "$BUILD/fuzz_$t" \
        "tests/fuzz/fuzz_$t.c" "$BUILD"/obj/*.o $LIBS || exit 1
done

echo "| target | executions | exec/s | wall | corpus before/after | cov | ft | findings |" >"$BUILD/table.md"
echo "|---|---|---|---|---|---|---|---|" >>"$BUILD/table.md"
for t in $TARGETS; do
    log=$BUILD/log/$t.log seeds=tests/fuzz/corpus/$t
    mkdir -p "$BUILD/log" "$BUILD/corpus/$t" "$BUILD/artifacts/$t"
    case $t in token | config) len=9000 ;; *) len=4096 ;; esac
    : >"$log"
    start=$(date +%s) left=$RUNS seg=0
    while [ $seg -lt 4 ] && [ "$left" -gt 0 ] &&
          [ $((SECS - ($(date +%s) - start))) -gt 5 ]; do
        seg=$((seg + 1))
        SG_SRCDIR=$TOP nice -n 19 "$BUILD/fuzz_$t" -runs="$left" \
            -max_total_time=$((SECS - ($(date +%s) - start))) \
            -max_len=$len -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t/" \
            "$BUILD/corpus/$t" "$seeds" >>"$log" 2>&1 && break
        done_runs=$(grep stat::number_of_executed_units "$log" | tail -1 |
                    awk '{print $2}')
        left=$((left - ${done_runs:-0}))
    done
    wall=$(($(date +%s) - start))
    runs=$(awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')

    # new inputs over the seeds, the biggest gains first
    rm -rf "$BUILD/merge/$t" "$BUILD/new/$t"
    mkdir -p "$BUILD/merge/$t" "$BUILD/new/$t"
    cp "$seeds"/* "$BUILD/merge/$t/"
    SG_SRCDIR=$TOP nice -n 19 "$BUILD/fuzz_$t" -merge=1 -max_len=$len \
        -merge_control_file="$BUILD/merge/$t.ctl" "$BUILD/merge/$t" \
        "$BUILD/corpus/$t" >"$BUILD/log/$t.merge.log" 2>&1
    python3 - "$BUILD/merge/$t.ctl" "$BUILD/new/$t" <<'EOF'
import shutil, sys
lines = open(sys.argv[1]).read().split('\n')
n, first = int(lines[0]), int(lines[1])
files, feats = lines[2:2 + n], {}
for l in lines[2 + n:]:
    w = l.split()
    if w and w[0] == 'FT':
        feats[int(w[1])] = set(w[2:])
have = set().union(*(feats.get(i, set()) for i in range(first)))
left = {i: f - have for i, f in feats.items() if i >= first}
for _ in range(30):
    best = max(left, key=lambda i: len(left[i] - have), default=None)
    if best is None or not left[best] - have:
        break
    have |= left.pop(best)
    shutil.copy(files[best], sys.argv[2])
EOF
    after=$(($(ls "$seeds" | wc -l) + $(ls "$BUILD/new/$t" | wc -l)))
    found=$(ls "$BUILD/artifacts/$t" | tr '\n' ' ')
    rate=$((runs / (wall ? wall : 1)))
    echo "| $t | $runs | $rate | ${wall}s | $(ls "$seeds" | wc -l)/$after | $cov | $ft | ${found:-none} |" >>"$BUILD/table.md"
done
cat "$BUILD/table.md"
