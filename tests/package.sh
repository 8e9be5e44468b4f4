#!/bin/bash
# tests/package.sh -- the Debian package end to end (issue 16): build it
# with `dpkg-buildpackage -us -uc -b` from a copy of the committed tree
# (git archive HEAD: uncommitted changes are not in it, and the work tree
# is left as it was), run lintian on the .changes (any E: or W: fails),
# install the .deb with apt-get, run the autopkgtests of debian/tests on
# it (autopkgtest's null runner: on this machine), and purge it, after
# which no user sessiongate and no /etc/sessiongate may be left.
#
# For disposable root machines (CI, a developer's test box): it installs
# what it needs with apt-get (the build dependencies, debhelper, lintian,
# autopkgtest), and purges a sessiongate package it finds installed before
# it starts. Not part of `make check`; .ci/run runs it as a phase of its
# own. About 3 to 5 minutes on a loaded 2-core machine, most of it the
# build and its unit tests. The last line is "package.sh: PASS ..." or
# "package.sh: FAIL: ..." (exit status 0 or 1).
#
# Environment: SG_PACKAGE_KEEP=1 keeps the build directory (it is kept
# anyway when a step fails, and its path printed).
set -u

TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=
INSTALLED=
START=$SECONDS

say() { echo "package.sh: $*"; }

fail() {
    say "FAIL: $*"
    [ -n "$WORK" ] && say "logs and build in $WORK"
    WORK_KEEP=1
    exit 1
}

cleanup() {
    # A failed run still leaves the machine without the package.
    if [ -n "$INSTALLED" ]; then
        purge >/dev/null 2>&1
    fi
    if [ -n "$WORK" ] && [ -z "${WORK_KEEP:-}" ] && [ -z "${SG_PACKAGE_KEEP:-}" ]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# step NAME LOG CMD...: run CMD with its output in WORK/LOG; on failure
# print the log's tail and fail.
step() {
    local name=$1 log=$WORK/$2
    shift 2
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        fail "$name (log: $log)"
    fi
}

purge() {
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q sessiongate
}

# The package's state for dpkg: installed, config-files, not-installed...
pkg_status() {
    dpkg-query -W -f='${Status}' sessiongate 2>/dev/null | awk '{print $3}'
}

# apt_install PACKAGE...: those not installed yet (apt's lists updated
# first, once).
APT_UPDATED=
apt_install() {
    local p missing=
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed$' ||
            missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    say "installing:$missing"
    if [ -z "$APT_UPDATED" ]; then
        apt-get update -qq || return 1
        APT_UPDATED=1
    fi
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

[ "$(id -u)" = 0 ] || fail "run as root (it installs and purges packages)"
command -v git >/dev/null || fail "git is not installed"
git -C "$TOP" rev-parse --verify -q HEAD >/dev/null || fail "$TOP is not a git checkout"

WORK=$(mktemp -d /tmp/sg-package.XXXXXX) || fail "mktemp"
version=$(git -C "$TOP" show HEAD:debian/changelog | sed -n '1s/.*(\(.*\)).*/\1/p')
[ -n "$version" ] || fail "no version in debian/changelog of HEAD"
SRC=$WORK/sessiongate-$version
mkdir "$SRC" || fail "mkdir $SRC"
git -C "$TOP" archive HEAD | tar -x -C "$SRC" || fail "git archive HEAD"
say "building sessiongate $version from $(git -C "$TOP" rev-parse --short HEAD) in $SRC"

# ---- tools and build dependencies -------------------------------------------
step "installing the packaging tools" apt.log \
    apt_install dpkg-dev build-essential debhelper lintian autopkgtest
if ! (cd "$SRC" && dpkg-checkbuilddeps) >"$WORK/builddeps.log" 2>&1; then
    [ -n "$APT_UPDATED" ] || { apt-get update -qq; APT_UPDATED=1; }
    step "installing the build dependencies" builddeps.log \
        env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q "$SRC"
fi

# ---- build ------------------------------------------------------------------
(
    cd "$SRC" &&
        DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" \
            dpkg-buildpackage -us -uc -b
) >"$WORK/build.log" 2>&1 || {
    tail -n 60 "$WORK/build.log"
    fail "dpkg-buildpackage (log: $WORK/build.log)"
}
changes=$WORK/sessiongate_${version}_$(dpkg --print-architecture).changes
deb=$WORK/sessiongate_${version}_$(dpkg --print-architecture).deb
if [ ! -f "$changes" ] || [ ! -f "$deb" ]; then
    fail "no $changes or $deb after the build"
fi
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$WORK/build.log" | sed 's/^/  unit tests /'
say "built in $((SECONDS - START)) s"

# ---- lintian ----------------------------------------------------------------
lintian --fail-on error,warning --display-info "$changes" >"$WORK/lintian.log" 2>&1
rc=$?
grep -v 'running with root privileges' "$WORK/lintian.log" | sed 's/^/  /'
[ $rc = 0 ] || fail "lintian reports errors or warnings (above)"
say "lintian: no error or warning"

# ---- install ----------------------------------------------------------------
case $(pkg_status) in
installed | config-files | half-installed | unpacked | half-configured)
    say "purging the sessiongate package installed before"
    step "purging the earlier sessiongate" purge-before.log purge
    ;;
esac
INSTALLED=1
step "apt-get install $deb" install.log \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb"
[ "$(pkg_status)" = installed ] || fail "sessiongate is not installed after apt-get install"
say "installed"

# ---- autopkgtest ------------------------------------------------------------
# -B: the binaries are those just installed, nothing is built; null: the
# tests run here, their Depends installed with apt-get.
timeout 900 autopkgtest -B "$SRC" -- null >"$WORK/autopkgtest.log" 2>&1
rc=$?
sed -n '/^autopkgtest \[[0-9:]*\]: @@@@@@@@* summary/,$p' "$WORK/autopkgtest.log" | sed 's/^/  /'
# 2: a skippable test skipped (debian/tests/snippets without web servers)
case $rc in
0) say "autopkgtests passed" ;;
2) say "autopkgtests passed, some skipped (see the summary)" ;;
*)
    grep -E '^(ok|FAIL|PASS|skip)' "$WORK/autopkgtest.log" | sed 's/^/  /'
    fail "autopkgtest exit status $rc (log: $WORK/autopkgtest.log)"
    ;;
esac

# ---- purge ------------------------------------------------------------------
step "apt-get purge sessiongate" purge.log purge
INSTALLED=
left=
[ "$(pkg_status)" = not-installed ] || [ -z "$(pkg_status)" ] ||
    left="$left dpkg-status:$(pkg_status)"
getent passwd sessiongate >/dev/null && left="$left user"
getent group sessiongate >/dev/null && left="$left group"
for f in /etc/sessiongate /var/lib/sessiongate /usr/sbin/sessiongate \
    /etc/apache2/conf-available/sessiongate.conf \
    /etc/lighttpd/conf-available/50-sessiongate.conf; do
    [ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] || fail "left after purge:$left"
say "purged: no user, group, /etc/sessiongate or file of the package left"

say "PASS (built, lintian clean, installed, autopkgtests passed, purged) in $((SECONDS - START)) s"
