/* ctx.c -- building and freeing the per-worker context. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "request.h"
#include "ctx.h"

static struct sg_ctx *ctx_new(const struct sg_config *cfg, bool once,
                              char *err, size_t errlen)
{
    struct sg_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctx->cfg = cfg;
    if (!(ctx->store = sg_store_new(cfg, err, errlen)))
        goto fail;
    if (!(ctx->router =
              sg_router_new(sg_app_routes, sg_app_routes_len, !once)) ||
        !(ctx->email = sg_email_new(!once))) {
        snprintf(err, errlen, "cannot compile the route table");
        goto fail;
    }
    if (!once && !(ctx->tokens = sg_token_cache_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (sg_token_keys_load(cfg, &ctx->keys, err, errlen) != SG_OK ||
        sg_proxies_parse(cfg->trusted_proxies, &ctx->proxies, err, errlen))
        goto fail;
    return ctx;
fail:
    sg_ctx_free(ctx);
    return NULL;
}

struct sg_ctx *sg_ctx_new(const struct sg_config *cfg, char *err, size_t errlen)
{
    return ctx_new(cfg, false, err, errlen);
}

struct sg_ctx *sg_ctx_new_once(const struct sg_config *cfg, char *err,
                               size_t errlen)
{
    return ctx_new(cfg, true, err, errlen);
}

void sg_ctx_free(struct sg_ctx *ctx)
{
    if (!ctx)
        return;
    sg_store_free(ctx->store);
    sg_router_free(ctx->router);
    sg_token_keys_free(ctx->keys);
    sg_token_cache_free(ctx->tokens);
    sg_email_free(ctx->email);
    sg_proxies_free(ctx->proxies);
    free(ctx);
}

const char *sg_client_ip(struct sg_ctx *ctx, struct sg_request *req)
{
    if (!req->client_ip[0])
        sg_client_ip_of(ctx->proxies, req->remote_addr, req->forwarded_for,
                        req->client_ip, sizeof(req->client_ip));
    return req->client_ip;
}

const char *sg_client_bucket(struct sg_ctx *ctx, struct sg_request *req)
{
    if (!req->client_bucket[0])
        sg_client_bucket_of(sg_client_ip(ctx, req), ctx->cfg->ipv6_prefix,
                            req->client_bucket, sizeof(req->client_bucket));
    return req->client_bucket;
}
