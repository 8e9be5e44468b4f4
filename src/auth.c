/* auth.c -- see auth.h. */
#include <string.h>
#include <strings.h>

#include "activity.h"
#include "auth.h"
#include "cookie.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"

int sg_auth_token(const struct sg_config *cfg, const struct sg_request *req,
                  const char **token, size_t *len, bool *from_cookie)
{
    const char *h = req->authorization;

    *from_cookie = false;
    if (!h && cfg->cookie_auth && req->cookie &&
        sg_cookie_find(req->cookie, sg_cookie_name(cfg, SG_COOKIE_ACCESS),
                       token, len) == SG_OK &&
        *len) {
        *from_cookie = true;
        return SG_OK;
    }
    /* RFC 6750 2.1: "Bearer" (case-insensitive per RFC 7235) 1*SP token */
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return SG_EAUTH;
    h += 7;
    while (*h == ' ')
        h++;
    *len = strcspn(h, " \t");
    if (*len == 0 || h[*len] != '\0')
        return SG_EAUTH;
    *token = h;
    return SG_OK;
}

int sg_auth_verify_token(struct sg_ctx *ctx, struct sg_request *req,
                         struct sg_claims *out)
{
    const char *token;
    size_t len;

    if (sg_auth_token(ctx->cfg, req, &token, &len, &req->token_from_cookie))
        return SG_EAUTH;
    if (sg_token_cache_get(ctx->tokens, token, len, req->now_ms / 1000,
                           ctx->cfg->clock_skew, out))
        return SG_OK;
    if (sg_token_verify(ctx->keys, ctx->cfg, token, len, req->now_ms / 1000,
                        out) != SG_OK)
        return SG_EAUTH;
    sg_token_cache_put(ctx->tokens, token, len, out);
    return SG_OK;
}

/* on_store_error = verify_signature_only: while Redis is unreachable,
 * verification answers from the token's signature and claims alone; a
 * revoked token or an ended session passes until the token expires. The
 * operator chose availability over that; it is logged once per outage and
 * marked on each answer. */
static bool signature_only(struct sg_ctx *ctx, const struct sg_request *req,
                           struct sg_response *res)
{
    if (ctx->cfg->on_store_error != SG_VERIFY_SIGNATURE_ONLY)
        return false;
    if (!ctx->degraded) {
        ctx->degraded = true;
        sg_log_warn("redis unreachable: verify_signature_only is on, "
                    "tokens are accepted on their signature alone "
                    "(revocation is not checked)");
    }
    sg_response_header(res, "X-Sessiongate-Degraded", "signature-only");
    return true;
}

/* verify_mode = local: the token's session against the host's table of
 * ended sessions, with no Redis call, while the table is provably
 * current; false (ask Redis) otherwise. The request's activity is
 * written behind, and the per-user limit is the worker's view of the
 * counter from its last flush (activity.h). */
static bool verify_locally(struct sg_ctx *ctx, const struct sg_request *req,
                           struct sg_auth_call *c)
{
    unsigned char key[SG_REVOKE_KEY_LEN];
    const char *sid = req->claims->sid, *uid = req->claims->sub;
    int64_t now = req->now_ms;
    long long left = -1;

    if (!ctx->revoke || !ctx->activity ||
        !sg_revoke_trusted(ctx->revoke, now, ctx->cfg->revocation_max_lag_ms) ||
        !sg_revoke_key(sid, strlen(sid), key))
        return false;
    c->remaining = -1;
    switch (sg_revoke_has(ctx->revoke, key, now)) {
    case 1:
        c->status = SG_AUTH_DENIED;
        return true;
    case -1:
        return false; /* a slot a dead writer left: Redis decides */
    default:
        break;
    }
    /* the limit as this worker knows it (activity.h): refused requests
     * are not counted, as in the script */
    if (c->limit_key) {
        sg_activity_quota(ctx->activity, c->limit_key, c->limit, c->window_ms,
                          now, &left, &c->reset_ms);
        if (left <= 0) {
            c->status = SG_AUTH_LIMITED, c->remaining = 0;
            return true;
        }
    }
    /* a full buffer is written first; if it cannot be, Redis decides */
    if (!sg_activity_record(ctx->activity, uid, sid, c->limit_key, now) &&
        (sg_activity_flush(ctx->activity, ctx->store, now) != SG_OK ||
         !sg_activity_record(ctx->activity, uid, sid, c->limit_key, now)))
        return false;
    c->status = SG_AUTH_OK;
    if (c->limit_key)
        c->remaining = left - 1;
    return true;
}

bool sg_auth_run(struct sg_ctx *ctx, struct sg_request *req,
                 struct sg_response *res, enum sg_auth_op op,
                 const struct sg_rate_policy *p, struct sg_auth_call *c)
{
    const struct sg_claims *cl = req->claims;
    char limit_key[SG_KEY_MAX];
    int rc;

    c->uid = cl->sub, c->sid = cl->sid, c->jti = cl->jti;
    c->now = req->now_ms;
    c->idle_ms = ctx->cfg->session_idle_timeout * 1000;
    if (p && p->limit &&
        sg_ratelimit_key(ctx, req, "user", p, NULL, cl->sid, cl->sub,
                         limit_key) == SG_OK) {
        c->limit = p->limit;
        c->window_ms = p->window_ms;
        c->limit_key = limit_key;
    }
    if (op == SG_OP_VERIFY && verify_locally(ctx, req, c))
        rc = SG_OK;
    else
        rc = sg_store_auth(ctx->store, op, c);
    c->limit_key = NULL; /* limit_key is this function's: not past it */
    if (rc != SG_OK) {
        if (op != SG_OP_VERIFY || !signature_only(ctx, req, res)) {
            sg_response_fail(res, SG_ESTORE);
            return false;
        }
        c->status = SG_AUTH_OK, c->remaining = -1;
    } else if (ctx->degraded) {
        ctx->degraded = false;
        sg_log_warn("redis is back: verification checks sessions again");
    }
    /* The role is the token's: its check must not depend on which path
     * answered (the script refuses too, so that an admin operation never
     * runs, but a store outage must not skip it). */
    if (c->status == SG_AUTH_OK && c->forbidden)
        c->status = SG_AUTH_FORBIDDEN;
    if (c->remaining >= 0)
        sg_ratelimit_headers(res, c->limit, c->remaining, c->reset_ms);
    switch (c->status) {
    case SG_AUTH_OK:
        sg_response_header(res, "X-Session-ID", cl->sid);
        return true;
    case SG_AUTH_LIMITED:
        sg_metrics_limited("user");
        sg_response_header(res, "X-Session-ID", cl->sid);
        sg_ratelimit_refuse(res, req->now_ms, c->reset_ms);
        return false;
    case SG_AUTH_FORBIDDEN:
        sg_response_header(res, "X-Session-ID", cl->sid);
        sg_response_error(res, SG_API_FORBIDDEN, NULL, NULL);
        return false;
    case SG_AUTH_NOT_FOUND:
        sg_response_header(res, "X-Session-ID", cl->sid);
        sg_response_error(res, SG_API_NOT_FOUND, NULL, NULL);
        return false;
    default:
        sg_response_error(res, SG_API_UNAUTHORIZED,
                          "The token has been revoked or its session has "
                          "ended.",
                          NULL);
        return false;
    }
}
