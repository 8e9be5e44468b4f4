/* handlers.h -- one function per route; one file per group of routes
 * (handle_*.c), each with the same signature (sg_handler_fn, router.h).
 * By the time a handler runs, app.c has done what its row in the table
 * asks (body, token, role, the store call, its rate limit): a handler
 * validates its own input, does its work and renders; it returns 0, or
 * an SG_E* code that sg_app_handle() alone turns into an answer. */
#ifndef SG_HANDLERS_H
#define SG_HANDLERS_H

#include "auth.h"
#include "ctx.h"

int sg_handle_health(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, struct sg_auth_call *call);
int sg_handle_ready(struct sg_ctx *ctx, struct sg_request *req,
                    struct sg_response *res, struct sg_auth_call *call);

/* handle_account.c */
int sg_handle_register(struct sg_ctx *ctx, struct sg_request *req,
                       struct sg_response *res, struct sg_auth_call *call);
int sg_handle_signin(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, struct sg_auth_call *call);
int sg_handle_refresh(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, struct sg_auth_call *call);

/* handle_auth.c */
int sg_handle_signout(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res, struct sg_auth_call *call);
int sg_handle_verify(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res, struct sg_auth_call *call);
int sg_handle_me(struct sg_ctx *ctx, struct sg_request *req,
                 struct sg_response *res, struct sg_auth_call *call);
int sg_handle_jwks(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res, struct sg_auth_call *call);

/* handle_sessions.c */
int sg_handle_sessions_list(struct sg_ctx *ctx, struct sg_request *req,
                            struct sg_response *res, struct sg_auth_call *call);
int sg_handle_session_end(struct sg_ctx *ctx, struct sg_request *req,
                          struct sg_response *res, struct sg_auth_call *call);
int sg_handle_sessions_end(struct sg_ctx *ctx, struct sg_request *req,
                           struct sg_response *res, struct sg_auth_call *call);

#endif
