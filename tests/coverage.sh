#!/usr/bin/env bash
# tests/coverage.sh -- line coverage of src/ by make check (`make coverage`).
#
#   tests/coverage.sh [BUILD_DIR]        (default: build-coverage)
#
# Copies the tracked tree into BUILD_DIR/tree (the source tree may be
# configured already, which rules out a VPATH build) and builds it there
# with gcov instrumentation (-O0 --coverage),
# runs make check in it (TESTS=... in the environment narrows it, e.g. to
# the unit tests), then prints the line coverage of every src/*.c file and
# of src/ as a whole. With lcov and genhtml installed it also writes an
# HTML report to BUILD_DIR/coverage/index.html.
#
# Workers of the Apache deployments run as www-data: the object
# directories are made writable to all and the counters files created
# with umask 000, so every process adds its counts (gcov merges them
# under a file lock). The build dir is a private, throw-away tree.
set -uo pipefail
LC_ALL=C
export LC_ALL

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$TOP/build-coverage}

die() { echo "coverage.sh: $*" >&2; exit 2; }
command -v gcov >/dev/null || die "gcov is not installed (gcc)"
command -v git >/dev/null && [ -e "$TOP/.git" ] || die "needs a git checkout"

mkdir -p "$BUILD" || die "cannot create $BUILD"
BUILD=$(cd "$BUILD" && pwd)
TREE=$BUILD/tree
if [ ! -f "$TREE/Makefile" ]; then
    rm -rf "$TREE" && mkdir -p "$TREE" || die "cannot create $TREE"
    git -C "$TOP" ls-files -z | (cd "$TOP" && tar --null -T - -cf -) |
        tar -C "$TREE" -xf - || die "cannot copy the tree"
    (cd "$TREE" && ./autogen.sh && ./configure --enable-werror \
        CFLAGS='-O0 -g --coverage -DSG_COVERAGE' LDFLAGS='--coverage') \
        >"$BUILD/configure.log" 2>&1 ||
        die "configure failed: see $BUILD/configure.log"
fi
cd "$TREE" || exit 2
make -j2 >"$BUILD/make.log" 2>&1 || die "build failed: see $BUILD/make.log"
find . -name '*.gcda' -delete
chmod -R a+rwX src
umask 000
make -j2 check ${TESTS:+TESTS="$TESTS"} >"$BUILD/check.log" 2>&1
check=$?
umask 022

# One line per file: "path lines-covered lines-total", from gcov's summary.
report=$BUILD/coverage.txt
: >"$report"
for src in src/*.c; do
    name=$src
    [ -f "${src%.c}.o" ] || continue
    gcov -n -o src "$src" 2>/dev/null |
        awk -v name="$name" '
            /^File / { want = index($0, "'\''" name "'\''") > 0 }
            want && /^Lines executed:/ {
                split($2, a, ":"); pct = a[2] + 0; total = $4 + 0
                printf "%s %d %d\n", name, int(pct * total / 100 + 0.5), total
                want = 0
            }' >>"$report"
done
awk '{ c += $2; t += $3; printf "%-28s %5.1f %%  %5d of %5d lines\n", $1,
       $3 ? 100 * $2 / $3 : 100, $2, $3 }
     END { printf "%-28s %5.1f %%  %5d of %5d lines\n", "src/ (total)",
           t ? 100 * c / t : 0, c, t }' "$report"

if command -v lcov >/dev/null && command -v genhtml >/dev/null; then
    lcov -q -c -d src -b "$TREE" -o "$BUILD/coverage.info" --no-external \
        2>/dev/null &&
        genhtml -q -o "$BUILD/coverage" "$BUILD/coverage.info" 2>/dev/null &&
        echo "HTML report: $BUILD/coverage/index.html"
fi
[ "$check" -eq 0 ] || echo "coverage.sh: make check failed: see $BUILD/check.log" >&2
exit "$check"
