/* ctx.h -- the per-worker context passed down every call chain.
 *
 * Built once when a worker starts (and again after a reload): the
 * configuration, the Redis connection, the compiled routes. Nothing else
 * in the program holds mutable state across requests.
 */
#ifndef SG_CTX_H
#define SG_CTX_H

#include "client.h"
#include "clock.h"
#include "config.h"
#include "email.h"
#include "router.h"
#include "store.h"
#include "token.h"
#include "token_cache.h"

struct sg_request;

struct sg_ctx {
    const struct sg_config *cfg; /* borrowed */
    struct sg_store *store;
    struct sg_router *router;
    struct sg_token_keys *keys;
    struct sg_token_cache *tokens; /* tokens this worker verified */
    struct sg_email *email;
    struct sg_proxies *proxies; /* trusted_proxies, or NULL */
    bool degraded; /* answering verify from signatures alone (see auth.c) */
    const struct sg_revoke *revoke; /* verify_mode = local: the host's
                                     * table (server.c), else NULL */
    struct sg_activity *activity;   /* with revoke: written behind */
};

/* Build a context for cfg (borrowed, must outlive it). Does not connect
 * to Redis. NULL with a reason in err when something the config names
 * cannot be loaded. Also used by the master to vet a reloaded config. */
struct sg_ctx *sg_ctx_new(const struct sg_config *cfg, char *err,
                          size_t errlen);
/* The same for a process that serves one request (CGI): what only pays
 * off over many requests, JIT-compiled patterns and the token cache, is
 * left out. */
struct sg_ctx *sg_ctx_new_once(const struct sg_config *cfg, char *err,
                               size_t errlen);
void sg_ctx_free(struct sg_ctx *ctx);

/* The request's client IP (see client.h). */
const char *sg_client_ip(struct sg_ctx *ctx, struct sg_request *req);

/* The request's client IP as rate limits and known addresses count it:
 * an IPv6 address as its ipv6_prefix block (see client.h). */
const char *sg_client_bucket(struct sg_ctx *ctx, struct sg_request *req);

#endif
