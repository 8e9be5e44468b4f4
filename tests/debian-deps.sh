#!/bin/sh
# Install everything sessiongate needs to build, test and run its demo on
# Debian 12 (bookworm). Uses sudo when not run as root. Idempotent.
set -eu

PACKAGES="build-essential autoconf automake pkg-config
  libfcgi-dev libfcgi-bin libhiredis-dev libjwt-dev libssl-dev
  libjson-c-dev libpcre2-dev
  redis-server lighttpd lighttpd-modules-lua apache2 libapache2-mod-fcgid nginx spawn-fcgi
  shunit2 curl jq wrk procps iproute2 openssl fcgiwrap chromium mandoc"
# promtool checks GET /metrics, fail2ban-regex the fail2ban filter
# (tests/integration/metrics.sh, audit.sh); neither daemon is needed.
PACKAGES="$PACKAGES prometheus fail2ban"
# tests/integration/systemd.sh: systemd-analyze and systemd-socket-activate
# (a container may lack systemd), and strace for the system call filter
PACKAGES="$PACKAGES systemd strace"
# The browser test needs node 20 or later with npm. Machines that already
# have one (the project's CI image does) keep it: Debian's npm package
# would conflict with it. Debian 12's own nodejs is 18.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
else
    echo "debian-deps.sh: run as root (or install sudo)" >&2
    exit 1
fi

missing=
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
# No daemon of these packages (web servers on port 80, Redis, Prometheus,
# fail2ban) is started by their install: the tests and the demo start
# private instances on loopback ports. invoke-rc.d asks policy-rc.d, which
# forbids every action (101) for the install alone, unless the machine has
# one of its own (container images do).
policy=/usr/sbin/policy-rc.d
if [ -n "$missing" ]; then
    echo "debian-deps.sh: installing:$missing"
    if [ ! -e "$policy" ]; then
        trap '$SUDO rm -f "$policy"' EXIT
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null
fi

# The browser test's one npm dependency, from the lockfile.
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$top/tests/browser/package-lock.json" ] &&
    [ ! -d "$top/tests/browser/node_modules/playwright-core" ]; then
    npm ci --prefix "$top/tests/browser" --no-audit --no-fund >/dev/null
fi
echo "debian-deps.sh: all dependencies present"
