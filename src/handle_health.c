/* handle_health.c -- GET /health and GET /ready.
 *
 * /health is liveness: it touches nothing, so a load balancer can tell a
 * live worker from a dead one even while Redis is down. /ready is
 * readiness: one pipelined round trip to Redis that pings, writes, reads
 * back and deletes a probe key, so it fails for a read-only replica or a
 * full memory as well as for a dead server.
 */
#include "handlers.h"
#include "revoke.h"

int sg_handle_health(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, struct sg_auth_call *call)
{
    /* a fixed answer, written as it is: a load balancer asks often */
    int rc = sg_response_ok_begin(res, 200);

    if (rc == SG_OK)
        rc = sg_buf_puts(&res->body, "{\"status\":\"ok\"}");
    return sg_response_ok_end(res, rc);
}

static json_object *ready_data(struct sg_ctx *ctx, struct sg_request *req,
                               const char *status, const char *redis)
{
    json_object *data = json_object_new_object();
    json_object *checks = json_object_new_object();

    if (!data || !checks) {
        json_object_put(data);
        json_object_put(checks);
        return NULL;
    }
    json_object_object_add(checks, "redis", json_object_new_string(redis));
    /* verify_mode = local: whether this host's table of ended sessions
     * is proven current (else verify asks Redis, as in roundtrip mode) */
    if (ctx->revoke)
        json_object_object_add(
            checks, "revocations",
            json_object_new_string(
                sg_revoke_trusted(ctx->revoke, req->now_ms,
                                  ctx->cfg->revocation_max_lag_ms)
                    ? "current"
                    : "behind"));
    json_object_object_add(data, "status", json_object_new_string(status));
    json_object_object_add(data, "checks", checks);
    return data;
}

int sg_handle_ready(struct sg_ctx *ctx, struct sg_request *req,
                    struct sg_response *res, struct sg_auth_call *call)
{
    const char *detail;
    json_object *data;

    if (sg_store_probe(ctx->store, &detail) == SG_OK) {
        if (!(data = ready_data(ctx, req, "ok", "ok")))
            return SG_ENOMEM;
        return sg_response_ok(res, 200, data);
    }
    if (!(data = ready_data(ctx, req, "unavailable", detail)))
        return SG_ENOMEM;
    return sg_response_error(res, SG_API_STORE_UNAVAILABLE, NULL, data);
}
