/* ratelimit.c -- see ratelimit.h. */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "keys.h"
#include "ratelimit.h"

int sg_ratelimit_key(struct sg_ctx *ctx, struct sg_request *req,
                     const char *name, const struct sg_rate_policy *p,
                     const char *account, const char *sid, const char *uid,
                     char *out)
{
    const char *prefix = ctx->cfg->key_prefix;
    char hash[65];

    /* a request that lacks what the policy counts per counts per IP */
    switch ((p->key == SG_LIMIT_ACCOUNT && !account) ||
                    (p->key == SG_LIMIT_SESSION && !sid) ||
                    (p->key == SG_LIMIT_USER && !uid)
                ? SG_LIMIT_IP
                : p->key) {
    case SG_LIMIT_IP:
        return sg_key_limit_ip(out, prefix, name, sg_client_bucket(ctx, req));
    case SG_LIMIT_ACCOUNT:
        if (sg_sha256_hex(account, strlen(account), hash))
            return SG_EINVAL;
        return sg_key_limit_account(out, prefix, name, hash);
    case SG_LIMIT_SESSION:
        /* in the user's slot where the user is known, so that a cluster
         * runs the route's script on one node */
        return uid ? sg_key_limit_user_session(out, prefix, uid, name, sid)
                   : sg_key_limit_session(out, prefix, name, sid);
    default:
        return sg_key_limit_user(out, prefix, uid, name);
    }
}

void sg_ratelimit_check(struct sg_limit_check *c,
                        const struct sg_rate_policy *p, const char *key,
                        enum sg_limit_mode mode)
{
    memset(c, 0, sizeof(*c));
    c->key = key;
    c->limit = p->limit;
    c->window_ms = p->window_ms;
    c->mode = mode;
}

void sg_ratelimit_headers(struct sg_response *res, int limit,
                          long long remaining, int64_t reset_ms)
{
    sg_response_header_num(res, "X-RateLimit-Limit", limit);
    sg_response_header_num(res, "X-RateLimit-Remaining", remaining);
    sg_response_header_num(res, "X-RateLimit-Reset",
                           (long long)((reset_ms + 999) / 1000));
}

int sg_ratelimit_refuse(struct sg_response *res, int64_t now_ms,
                        int64_t reset_ms)
{
    int64_t retry = (reset_ms - now_ms + 999) / 1000;

    sg_response_header_num(res, "Retry-After",
                           (long long)(retry > 0 ? retry : 1));
    return sg_response_error(res, SG_API_RATE_LIMITED, NULL, NULL);
}
