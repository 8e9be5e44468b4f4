/* keys.c -- formatting of the keys documented in keys.h. */
#include <stdarg.h>
#include <stdio.h>

#include "keys.h"

static int fmt(char *out, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(out, SG_KEY_MAX, f, ap);
    va_end(ap);
    return n < 0 || n >= SG_KEY_MAX ? SG_ETOOBIG : SG_OK;
}

int sg_key_user(char *out, const char *prefix, const char *uid)
{
    return fmt(out, "%s{u:%s}:user", prefix, uid);
}

int sg_key_user_sessions(char *out, const char *prefix, const char *uid)
{
    return fmt(out, "%s{u:%s}:sessions", prefix, uid);
}

int sg_key_session(char *out, const char *prefix, const char *uid,
                   const char *sid)
{
    return fmt(out, "%s{u:%s}:s:%s", prefix, uid, sid);
}

int sg_key_session_prefix(char *out, const char *prefix, const char *uid)
{
    return fmt(out, "%s{u:%s}:s:", prefix, uid);
}

int sg_key_rotated(char *out, const char *prefix, const char *uid,
                   const char *sid)
{
    return fmt(out, "%s{u:%s}:s:%s:rt", prefix, uid, sid);
}

int sg_key_revoked(char *out, const char *prefix, const char *uid,
                   const char *jti)
{
    return fmt(out, "%s{u:%s}:rv:%s", prefix, uid, jti);
}

int sg_key_email(char *out, const char *prefix, const char *email_lower)
{
    return fmt(out, "%semail:%s", prefix, email_lower);
}

int sg_key_users(char *out, const char *prefix)
{
    return fmt(out, "%susers", prefix);
}

int sg_key_known_ips(char *out, const char *prefix, const char *uid)
{
    return fmt(out, "%s{u:%s}:ips", prefix, uid);
}
