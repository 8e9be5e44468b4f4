/* handlers.h -- one function per route; one file per group of routes
 * (handle_*.c), each with the same signature (see router.h). A handler
 * validates its input, calls the services and fills the response; it
 * returns 0, or an SG_E* code that sg_app_handle() maps to an answer. */
#ifndef SG_HANDLERS_H
#define SG_HANDLERS_H

#include "ctx.h"

int sg_handle_health(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res);
int sg_handle_ready(struct sg_ctx *ctx, struct sg_request *req,
                    struct sg_response *res);

#endif
