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

/* handle_account.c */
int sg_handle_register(struct sg_ctx *ctx, struct sg_request *req,
                       struct sg_response *res);
int sg_handle_signin(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res);
int sg_handle_refresh(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res);

/* handle_auth.c */
int sg_handle_signout(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res);
int sg_handle_verify(struct sg_ctx *ctx, struct sg_request *req,
                     struct sg_response *res);
int sg_handle_me(struct sg_ctx *ctx, struct sg_request *req,
                 struct sg_response *res);
int sg_handle_jwks(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res);

/* handle_sessions.c */
int sg_handle_sessions_list(struct sg_ctx *ctx, struct sg_request *req,
                            struct sg_response *res);
int sg_handle_session_end(struct sg_ctx *ctx, struct sg_request *req,
                          struct sg_response *res);
int sg_handle_sessions_end(struct sg_ctx *ctx, struct sg_request *req,
                           struct sg_response *res);
int sg_handle_admin_sessions_list(struct sg_ctx *ctx, struct sg_request *req,
                                  struct sg_response *res);
int sg_handle_admin_sessions_end(struct sg_ctx *ctx, struct sg_request *req,
                                 struct sg_response *res);

#endif
