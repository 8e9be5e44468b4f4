#!/bin/bash
# tests/integration/browser.sh -- the end-to-end test of the sign-in page
# (www/) in Debian's headless Chromium (tests/browser/e2e.test.mjs, driven
# by playwright-core), against a real stack: tests/stack.sh with lighttpd,
# which serves www/ at the site root and the API at /api/v1.
#
# Two passes, each on a fresh stack:
#   bearer  tokens in the page's memory; access_token_ttl = 30s so that the
#           page's silent refresh is exercised
#   cookie  cookie_auth = on (cookie_secure = off: plain HTTP on loopback),
#           access_token_ttl = 30s
#
# Installs nothing: the install step runs `npm ci --prefix tests/browser`
# and installs chromium (tests/browser/README.md). Without node >= 20,
# /usr/bin/chromium or tests/browser/node_modules the test is skipped
# (exit 77), or fails when CI=true, where a skip would hide a missing
# install step.
#
# Screenshots (and the page's text) of a failing step go to a temp dir
# whose path is printed; it is kept when a pass fails, removed otherwise.
#
# Environment: SG_BIN, SG_SKIP_INTEGRATION=1 (skip), SG_KEEP=1 (keep the
# stack dirs), SG_CHROMIUM (default /usr/bin/chromium),
# SG_BROWSER_TIMEOUT (seconds per pass, default 1200: a bound for a hung
# browser, far above what a pass takes on a loaded machine).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sg_require lighttpd

BROWSER_DIR=$SG_TOP/tests/browser
SG_CHROMIUM=${SG_CHROMIUM:-/usr/bin/chromium}
SG_BROWSER_TIMEOUT=${SG_BROWSER_TIMEOUT:-1200}
export SG_CHROMIUM

missing() {
    case ${CI:-} in
    true | 1 | yes)
        echo "FAIL: $* (CI=true: the install step must provide it)" >&2
        exit 1
        ;;
    esac
    sg_skip_suite "$*"
}

command -v node >/dev/null 2>&1 || missing "node is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
[ "${node_major:-0}" -ge 20 ] 2>/dev/null ||
    missing "node $(node --version 2>/dev/null) is too old (playwright-core needs 20 or later)"
[ -x "$SG_CHROMIUM" ] || missing "$SG_CHROMIUM is not installed (Debian package chromium)"
[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
    missing "playwright-core is not installed: run npm ci --prefix tests/browser"

OUT=$(mktemp -d "${TMPDIR:-/tmp}/sg-browser.XXXXXX") || exit 1
failed=0
trap 'sg_stack_stop' EXIT
trap 'echo "browser.sh: interrupted" >&2; exit 130' INT TERM

# run_pass NAME TRANSPORT EXTRA_CONF
run_pass() {
    local name=$1 transport=$2 site rc body
    export SG_STACK_EXTRA_CONF=$3
    echo "==== browser test, $name transport"
    if ! sg_stack_start lighttpd; then
        echo "FAIL: $name: the stack did not start" >&2
        sg_stack_stop
        return 1
    fi
    site=http://127.0.0.1:$SG_PORT/
    # The stack must serve www/ at the site root, as text/html.
    body=$(curl -s --max-time "$SG_CURL_TIMEOUT" -D "$SG_DIR/site.headers" "$site")
    if ! grep -qi '^content-type: text/html' "$SG_DIR/site.headers" ||
        ! grep -q 'name="sessiongate-api"' <<<"$body"; then
        echo "FAIL: $name: $site does not serve www/index.html as text/html" \
            "(tests/stack.sh must put www/ at the site root):" >&2
        head -n 5 "$SG_DIR/site.headers" >&2
        sg_stack logs >&2
        sg_stack_stop
        return 1
    fi
    mkdir -p "$OUT/$name"
    (
        cd "$BROWSER_DIR" &&
            SG_SITE=$site SG_OUT=$OUT/$name SG_TRANSPORT=$transport SG_ACCESS_TTL=30 \
                timeout -k 10 "$SG_BROWSER_TIMEOUT" \
                node --test --test-reporter=tap --test-timeout=$((SG_BROWSER_TIMEOUT * 1000)) e2e.test.mjs
    )
    rc=$?
    if [ $rc != 0 ]; then
        [ $rc = 124 ] && echo "FAIL: $name: the browser test ran over ${SG_BROWSER_TIMEOUT} s" >&2
        echo "FAIL: $name transport (exit $rc); screenshots and page text: $OUT/$name" >&2
        ls "$OUT/$name" >&2
        echo "---- logs of the stack in $SG_DIR" >&2
        sg_stack logs >&2
    else
        echo "PASS: $name transport"
    fi
    sg_stack_stop
    return $rc
}

run_pass bearer bearer 'access_token_ttl = 30s' || failed=$((failed + 1))
run_pass cookie cookie 'cookie_auth = on
cookie_secure = off
access_token_ttl = 30s' || failed=$((failed + 1))

if [ $failed = 0 ]; then
    rm -rf "$OUT"
    echo "browser.sh: 2 passed, 0 failed"
    exit 0
fi
echo "browser.sh: $((2 - failed)) passed, $failed failed; output kept in $OUT" >&2
exit 1
