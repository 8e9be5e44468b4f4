/* auth.c -- see auth.h. */
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "log.h"

int sg_auth_token(const struct sg_request *req, const char **token, size_t *len)
{
    const char *h = req->authorization;

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

int sg_auth_verify_token(struct sg_ctx *ctx, const struct sg_request *req,
                         struct sg_claims *out)
{
    const char *token;
    size_t len;

    if (sg_auth_token(req, &token, &len) != SG_OK)
        return SG_EAUTH;
    if (sg_token_verify(ctx->keys, ctx->cfg, token, len, req->now_ms / 1000,
                        out) != SG_OK)
        return SG_EAUTH;
    return SG_OK;
}

static void limit_headers(struct sg_response *res, const struct sg_auth_call *c)
{
    if (c->remaining < 0)
        return;
    sg_response_headerf(res, "X-RateLimit-Limit", "%d", c->limit);
    sg_response_headerf(res, "X-RateLimit-Remaining", "%lld", c->remaining);
    sg_response_headerf(res, "X-RateLimit-Reset", "%lld",
                        (long long)((c->reset_ms + 999) / 1000));
}

bool sg_auth_run(struct sg_ctx *ctx, struct sg_request *req,
                 struct sg_response *res, enum sg_auth_op op,
                 struct sg_auth_call *c)
{
    const struct sg_claims *cl = req->claims;
    int64_t retry;

    c->uid = cl->sub, c->sid = cl->sid, c->jti = cl->jti;
    c->now = req->now_ms;
    c->idle_ms = ctx->cfg->session_idle_timeout * 1000;
    if (sg_store_auth(ctx->store, op, c) != SG_OK) {
        sg_response_fail(res, SG_ESTORE);
        return false;
    }
    limit_headers(res, c);
    switch (c->status) {
    case SG_AUTH_OK:
        sg_response_header(res, "X-Session-ID", cl->sid);
        return true;
    case SG_AUTH_LIMITED:
        retry = (c->reset_ms - req->now_ms + 999) / 1000;
        sg_response_headerf(res, "Retry-After", "%lld",
                            (long long)(retry > 0 ? retry : 1));
        sg_response_error(res, SG_API_RATE_LIMITED, NULL, NULL);
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
