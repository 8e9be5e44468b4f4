#!/bin/sh
# debian/snippets.sh OUTDIR -- the web server configurations the package
# ships, made from the ones at the top of the source tree (apache/,
# lighttpd/, nginx/), which name the paths of a manual install (the README
# of each) and are what tests/stack.sh renders for the integration tests.
# Here they get the package's paths instead:
#
#   /usr/local/bin/sessiongate      -> /usr/sbin/sessiongate
#   /usr/local/share/sessiongate    -> /usr/share/sessiongate (www/ and
#                                      lighttpd/*.lua)
#   lighttpd's spawned sockets      -> /run/lighttpd/ (Debian's lighttpd
#                                      keeps that directory, owned by
#                                      www-data; /run/sessiongate is the
#                                      systemd socket's)
#
# /etc/sessiongate/sessiongate.conf and /run/sessiongate/sessiongate.sock
# (nginx, the systemd socket) are already the package's. The note that
# tests/stack.sh renders the file goes. Each file gets a
# header saying where it came from and how to enable it. Fails if a file
# still names /usr/local, so that a new path in the tree's files is noticed
# at build time rather than by a user.
set -eu

out=${1:?usage: debian/snippets.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)

# render SOURCE DEST HEADER: SOURCE of the tree, with the package's paths,
# under HEADER (comment lines).
render() {
    mkdir -p "$(dirname "$out/$2")"
    {
        printf '%s\n' "$3"
        echo "# (Made from $1 of the sessiongate source by debian/snippets.sh.)"
        echo "#"
        sed -e 's|/usr/local/bin/sessiongate|/usr/sbin/sessiongate|g' \
            -e 's|/usr/local/share/sessiongate|/usr/share/sessiongate|g' \
            -e 's|/run/sessiongate/lighttpd|/run/lighttpd/sessiongate|g' \
            -e 's|^\( *#\)   install -d -o www-data -g www-data -m 0750 /run/sessiongate$|\1   (Debian: /run/lighttpd, made by the lighttpd package)|' \
            -e '/^# tests\/stack.sh renders this very file/,/spelled as they are\.$/d' \
            -e '/^# tests\/stack.sh includes this very file/d' \
            "$top/$1"
    } >"$out/$2.tmp"
    if grep -n '/usr/local' "$out/$2.tmp" >&2; then
        echo "debian/snippets.sh: $1 still names /usr/local (above)" >&2
        exit 1
    fi
    mv "$out/$2.tmp" "$out/$2"
}

readme=/usr/share/doc/sessiongate/README.Debian

render apache/sessiongate.conf apache2/sessiongate.conf \
"# sessiongate for Apache 2.4 with mod_fcgid, installed by the Debian package
# sessiongate and NOT enabled: it makes a whole site (DocumentRoot, thread
# counts, error pages). Read $readme, then
#   apt-get install libapache2-mod-fcgid
#   a2enmod fcgid alias cgid setenvif dir mime authz_core headers unique_id
#   adduser www-data sessiongate    # mod_fcgid's processes read the secret
#   a2enconf sessiongate && systemctl reload apache2"

render apache/sessiongate-cgi.conf apache2/sessiongate-cgi.conf \
"# sessiongate for Apache 2.4 as plain CGI (mod_cgid), an example from the
# Debian package sessiongate: copy it to /etc/apache2/conf-available/ to use
# it (instead of sessiongate.conf there, not beside it). See $readme."

render lighttpd/sessiongate.conf lighttpd/50-sessiongate.conf \
"# sessiongate for lighttpd, installed by the Debian package sessiongate and
# NOT enabled: it makes a whole site (document root, /private/). lighttpd
# spawns sessiongate itself, as www-data, on sockets in /run/lighttpd. Read
# $readme, then
#   apt-get install lighttpd-modules-lua
#   adduser www-data sessiongate    # the spawned processes read the secret
#   lighty-enable-mod sessiongate && systemctl reload lighttpd"

render nginx/sessiongate.conf nginx/sessiongate.conf \
"# sessiongate for nginx: the server-block part, an example from the Debian
# package sessiongate. nginx talks to the sessiongate service (systemd units
# sessiongate.socket and sessiongate.service) on
# /run/sessiongate/sessiongate.sock. See $readme."

render nginx/sessiongate-http.conf nginx/sessiongate-http.conf \
"# sessiongate for nginx: the http-block part (maps), an example from the
# Debian package sessiongate; goes to /etc/nginx/conf.d/. See $readme."
