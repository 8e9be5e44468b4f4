#!/bin/sh
# The protected CGI of the shipped configs: prints, as text/plain NAME=VALUE
# lines, what the web server gave it after sessiongate let the request
# through. USER_ID, SESSION_ID and USER_ROLES come from sessiongate (the
# authorizer's Variable-* headers, or nginx's auth_request_set); the token
# itself is never printed, only whether the request carried one.
# POSIX sh, plus head -c, wc and tr.

# Read the request body, if any (a CGI that leaves it unread can make the
# server wait, and the client see a broken response).
body_bytes=0
case ${CONTENT_LENGTH-} in
'' | *[!0-9]*) ;;
*) body_bytes=$(head -c "$CONTENT_LENGTH" | wc -c | tr -d ' ') ;;
esac

printf 'Content-Type: text/plain; charset=utf-8\r\n'
printf 'Cache-Control: no-store\r\n\r\n'
for name in USER_ID SESSION_ID USER_ROLES REQUEST_METHOD REQUEST_URI \
    SCRIPT_NAME GATEWAY_INTERFACE; do
    eval "value=\${$name-}"
    # one line per variable, whatever the value holds
    value=$(printf '%s' "$value" | tr -d '\r\n')
    printf '%s=%s\n' "$name" "$value"
done
if [ -n "${HTTP_AUTHORIZATION-}" ]; then
    printf 'HTTP_AUTHORIZATION=present\n'
else
    printf 'HTTP_AUTHORIZATION=absent\n'
fi
printf 'BODY_BYTES=%s\n' "$body_bytes"
case ${HTTP_COOKIE-} in
*sg_access=*) printf 'ACCESS_COOKIE=present\n' ;;
*) printf 'ACCESS_COOKIE=absent\n' ;;
esac
# The Cookie header as received, with the value of every cookie whose
# name contains "sg_" (sessiongate's, which the shipped configs remove)
# replaced by "*": the tests see what reached the application, tokens are
# never printed. "HTTP_COOKIE=" when there was none.
cookie=$(printf '%s' "${HTTP_COOKIE-}" | tr -d '\r\n' |
    sed 's/\(\(^\|;[[:space:]]*\)[^=;]*sg_[^=;]*=\)[^;]*/\1*/g')
printf 'HTTP_COOKIE=%s\n' "$cookie"
