/* keys.c -- formatting of the keys documented in keys.h. */
#include <string.h>

#include "keys.h"

/* Join the NULL-terminated parts into out[SG_KEY_MAX]: memcpy, no format
 * string to parse (keys are built on every authenticated request). */
static int join(char *out, const char *const *parts)
{
    size_t n = 0;

    for (; *parts; parts++) {
        size_t len = strlen(*parts);
        if (len >= SG_KEY_MAX - n)
            return SG_ETOOBIG;
        memcpy(out + n, *parts, len);
        n += len;
    }
    out[n] = '\0';
    return SG_OK;
}

#define KEY(out, ...) join(out, (const char *const[]){__VA_ARGS__, NULL})

int sg_key_user(char *out, const char *prefix, const char *uid)
{
    return KEY(out, prefix, "{u:", uid, "}:user");
}

int sg_key_user_sessions(char *out, const char *prefix, const char *uid)
{
    return KEY(out, prefix, "{u:", uid, "}:sessions");
}

int sg_key_session(char *out, const char *prefix, const char *uid,
                   const char *sid)
{
    return KEY(out, prefix, "{u:", uid, "}:s:", sid);
}

int sg_key_session_prefix(char *out, const char *prefix, const char *uid)
{
    return KEY(out, prefix, "{u:", uid, "}:s:");
}

int sg_key_rotated(char *out, const char *prefix, const char *uid,
                   const char *sid)
{
    return KEY(out, prefix, "{u:", uid, "}:s:", sid, ":rt");
}

int sg_key_revoked(char *out, const char *prefix, const char *uid,
                   const char *jti)
{
    return KEY(out, prefix, "{u:", uid, "}:rv:", jti);
}

int sg_key_email(char *out, const char *prefix, const char *email_lower)
{
    return KEY(out, prefix, "email:", email_lower);
}

int sg_key_email_hashed(char *out, const char *prefix, const char *hash)
{
    return KEY(out, prefix, "email:{e:", hash, "}");
}

int sg_key_no_revocations(char *out, const char *prefix, const char *uid)
{
    return KEY(out, prefix, "{u:", uid, "}:no-revocations");
}

int sg_key_users(char *out, const char *prefix)
{
    return KEY(out, prefix, "users");
}

int sg_key_revocations(char *out, const char *prefix)
{
    return KEY(out, prefix, "revocations");
}

int sg_key_revocations_epoch(char *out, const char *prefix)
{
    return KEY(out, prefix, "revocations:epoch");
}

int sg_key_known_addrs(char *out, const char *prefix, const char *uid)
{
    return KEY(out, prefix, "{u:", uid, "}:addrs");
}

int sg_key_user_head(char *out, const char *prefix)
{
    return KEY(out, prefix, "{u:");
}

int sg_key_limit_ip(char *out, const char *prefix, const char *policy,
                    const char *bucket)
{
    return KEY(out, prefix, "rl:", policy, ":ip:", bucket);
}

int sg_key_limit_account(char *out, const char *prefix, const char *policy,
                         const char *account_hash)
{
    return KEY(out, prefix, "rl:", policy, ":acct:", account_hash);
}

int sg_key_limit_session(char *out, const char *prefix, const char *policy,
                         const char *sid)
{
    return KEY(out, prefix, "rl:", policy, ":sid:", sid);
}

int sg_key_limit_user_session(char *out, const char *prefix, const char *uid,
                              const char *policy, const char *sid)
{
    return KEY(out, prefix, "{u:", uid, "}:rl:", policy, ":sid:", sid);
}

int sg_key_limit_user(char *out, const char *prefix, const char *uid,
                      const char *policy)
{
    return KEY(out, prefix, "{u:", uid, "}:rl:", policy);
}

int sg_key_ready_at(char *out, const char *prefix, const char *tag,
                    const char *token)
{
    return KEY(out, prefix, "ready:{", tag, "}:", token);
}

int sg_key_ready(char *out, const char *prefix, const char *token)
{
    return KEY(out, prefix, "ready:", token);
}
