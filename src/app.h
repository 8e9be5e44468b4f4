/* app.h -- one request in, one response out.
 *
 * The transports call sg_app_handle() and nothing else: it routes, checks
 * the body against the route's flags, runs the handler and turns any
 * failure into its API error. It never fails: every outcome is a
 * response.
 */
#ifndef SG_APP_H
#define SG_APP_H

#include "ctx.h"
#include "request.h"
#include "response.h"

/* Work a worker does between requests (verify_mode = local: the activity
 * written behind), when it is due; and how long until it is (-1: none
 * pending). */
void sg_app_tick(struct sg_ctx *ctx, int64_t now_ms);
int64_t sg_app_next_tick(const struct sg_ctx *ctx, int64_t now_ms);

void sg_app_handle(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res);

/* The route table, for the router and for tests. */
extern const struct sg_route sg_app_routes[];
extern const size_t sg_app_routes_len;

#endif
