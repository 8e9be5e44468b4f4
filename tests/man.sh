#!/bin/sh
# tests/man.sh -- the manual pages make builds (man/sessiongate.8 and
# man/sessiongate.conf.5, issue 16): clean under `mandoc -Tlint` at the
# warning level, every key the config parser knows documented in
# sessiongate.conf(5), every CLI command of `sessiongate user --help` in
# sessiongate(8). Skipped (77) without mandoc.
top=$(cd "$(dirname "${SG_BIN:?}")/.." && pwd)
src=${SG_SRCDIR:?}
command -v mandoc >/dev/null 2>&1 || { echo "SKIP: mandoc is not installed"; exit 77; }
fail=0
for page in "$top/man/sessiongate.8" "$top/man/sessiongate.conf.5"; do
    if [ ! -s "$page" ]; then
        echo "FAIL: $page was not built"; fail=1; continue
    fi
    if ! out=$(mandoc -Tlint -Wwarning "$page" 2>&1); then
        echo "FAIL: mandoc -Tlint $page:"; echo "$out"; fail=1
    fi
done
keys=$(grep -oE '^[[:space:]]+[A-Z_]+\("[a-z_0-9]+"' "$src/src/config.c" |
    sed 's/.*("//; s/"$//')
[ "$(echo "$keys" | wc -w)" -ge 50 ] || { echo "FAIL: found only: $keys"; fail=1; }
for k in $keys; do
    grep -q "^\.It Ic $k No =" "$top/man/sessiongate.conf.5" ||
        { echo "FAIL: sessiongate.conf(5) does not document $k"; fail=1; }
done
"$SG_BIN" user --help 2>&1 | sed -n 's/^ *\(usage: \)\{0,1\}sessiongate \([a-z]*\) \([a-z]*\) .*/\2 \3/p' |
    sort -u | while read -r group cmd; do
        grep -q "^\.It Nm Cm $group $cmd" "$top/man/sessiongate.8" ||
            { echo "FAIL: sessiongate(8) does not describe '$group $cmd'"; exit 1; }
    done || fail=1
[ $fail = 0 ] && echo "PASS: manual pages"
exit $fail
