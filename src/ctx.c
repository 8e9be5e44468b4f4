/* ctx.c -- building and freeing the per-worker context. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app.h"
#include "ctx.h"

struct sg_ctx *sg_ctx_new(const struct sg_config *cfg, char *err,
                          size_t errlen)
{
    struct sg_ctx *ctx = calloc(1, sizeof(*ctx));

    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctx->cfg = cfg;
    if (!(ctx->store = sg_store_new(cfg, err, errlen)))
        goto fail;
    if (!(ctx->router = sg_router_new(sg_app_routes, sg_app_routes_len))) {
        snprintf(err, errlen, "cannot compile the route table");
        goto fail;
    }
    return ctx;
fail:
    sg_ctx_free(ctx);
    return NULL;
}

void sg_ctx_free(struct sg_ctx *ctx)
{
    if (!ctx)
        return;
    sg_store_free(ctx->store);
    sg_router_free(ctx->router);
    free(ctx);
}

int64_t sg_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
