/* handle_metrics.c -- GET /metrics, and the request counts by route.
 *
 * metrics.c counts by route index and knows no routes; this file maps
 * app.c's table onto those indexes (a row's position) and labels (its
 * path pattern, never the raw path: a label per path would let clients
 * grow the series without bound), and answers the scrape. The answer is
 * the unknown route's 404 whenever the scrape is not allowed, so the
 * route's existence is not revealed.
 */
#include "app.h"
#include "client.h"
#include "handlers.h"
#include "metrics.h"

void sg_metrics_request(const struct sg_route *route, bool authorizer,
                        int status, int64_t start_ns)
{
    unsigned r = SG_METRICS_ROUTE_NONE;

    if (authorizer)
        r = SG_METRICS_ROUTE_AUTHZ;
    else if (route && route >= sg_app_routes &&
             route < sg_app_routes + sg_app_routes_len &&
             route - sg_app_routes < SG_METRICS_ROUTE_NONE)
        r = (unsigned)(route - sg_app_routes);
    sg_metrics_observe(r, status, start_ns);
}

/* Whether the client may see the metrics: metrics_allow parsed for the
 * scrape (rare: no state kept across requests, and a reload applies). */
static bool allowed(struct sg_ctx *ctx, struct sg_request *req)
{
    const char *ip = sg_client_ip(ctx, req);
    struct sg_proxies *allow = NULL;
    char err[160];
    bool ok;

    if (sg_proxies_parse(ctx->cfg->metrics_allow, &allow, err, sizeof(err)))
        return false; /* config.c refused it already: not reached */
    ok = sg_proxies_contain(allow, ip, strlen(ip));
    sg_proxies_free(allow);
    return ok;
}

int sg_handle_metrics(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, struct sg_auth_call *call)
{
    const char *labels[SG_METRICS_ROUTE_NONE] = {0};
    int rc;

    if (!ctx->cfg->metrics || !sg_metrics_on() || !allowed(ctx, req))
        return sg_response_error(res, SG_API_NOT_FOUND, "No such route.", NULL);
    for (size_t i = 0; i < sg_app_routes_len && i < SG_ARRAY_LEN(labels); i++)
        labels[i] = sg_app_routes[i].path;
    sg_response_reset(res);
    if ((rc = sg_metrics_render(&res->body, labels)) != SG_OK) {
        sg_buf_reset(&res->body);
        return rc;
    }
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return SG_OK;
}
