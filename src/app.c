/* app.c -- the route table and the request pipeline.
 *
 * Order of checks, so that a client always learns the most fundamental
 * problem first: route (404), method (405, with Allow), body framing
 * (400 for an unparsable Content-Length, 413 over max_body_bytes), media
 * type (415), JSON syntax (400), and only then the handler. Each route's
 * needs are flags in the table below, not code in the handlers.
 */
#include <string.h>

#include "app.h"
#include "auth.h"
#include "handlers.h"
#include "log.h"

#define JSON SG_ROUTE_JSON
#define AUTH SG_ROUTE_AUTH

const struct sg_route sg_app_routes[] = {
    {"GET", "/health", 0, NULL, sg_handle_health},
    {"GET", "/ready", 0, NULL, sg_handle_ready},
    {"POST", "/auth/register", JSON, "register", sg_handle_register},
    {"POST", "/auth/signin", JSON, "signin", sg_handle_signin},
    {"POST", "/auth/refresh", JSON, "refresh", sg_handle_refresh},
    {"POST", "/auth/signout", AUTH, "user", sg_handle_signout},
    {"GET", "/auth/verify", AUTH, "user", sg_handle_verify},
    {"GET", "/auth/me", AUTH, "user", sg_handle_me},
    {"GET", "/sessions", AUTH, "user", sg_handle_sessions_list},
    {"DELETE", "/sessions", AUTH, "user", sg_handle_sessions_end},
    {"DELETE", "/sessions/{id}", AUTH, "user", sg_handle_session_end},
    {"GET", "/admin/users/{user_id}/sessions", AUTH, "user",
     sg_handle_admin_sessions_list},
    {"DELETE", "/admin/users/{user_id}/sessions", AUTH, "user",
     sg_handle_admin_sessions_end},
    {"GET", "/.well-known/jwks.json", 0, NULL, sg_handle_jwks},
};
const size_t sg_app_routes_len = SG_ARRAY_LEN(sg_app_routes);

/* 0 when the body suits the route, else the error already written. */
static int check_body(const struct sg_route *route, struct sg_request *req,
                      struct sg_response *res)
{
    const char *why = NULL;

    if (req->body_invalid)
        return sg_response_error(res, SG_API_BAD_REQUEST,
                                 "Content-Length is not a number.", NULL),
               -1;
    if (!(route->flags & SG_ROUTE_JSON))
        return 0;
    if (req->body_too_large)
        return sg_response_error(res, SG_API_PAYLOAD_TOO_LARGE, NULL, NULL), -1;
    if (req->body_len == 0)
        return sg_response_error(res, SG_API_BAD_REQUEST,
                                 "A JSON body is required.", NULL),
               -1;
    if (!sg_request_is_json(req))
        return sg_response_error(res, SG_API_UNSUPPORTED_MEDIA_TYPE, NULL,
                                 NULL),
               -1;
    if (sg_request_parse_json(req, &why) != SG_OK)
        return sg_response_error(res, SG_API_BAD_REQUEST, why, NULL), -1;
    return 0;
}

/* The token part of authentication, before any Redis work: a valid
 * signature and claims, and an X-Session-ID, if sent, that matches. */
static bool authenticate(struct sg_ctx *ctx, struct sg_request *req,
                         struct sg_response *res)
{
    if (sg_auth_verify_token(ctx, req, &req->token) != SG_OK) {
        sg_response_error(res, SG_API_UNAUTHORIZED, NULL, NULL);
        return false;
    }
    if (req->session_header && strcmp(req->session_header, req->token.sid)) {
        sg_response_error(res, SG_API_SESSION_MISMATCH, NULL, NULL);
        return false;
    }
    req->claims = &req->token;
    return true;
}

void sg_app_handle(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res)
{
    const struct sg_route *route = NULL;
    char allow[64];
    int rc;

    switch (sg_router_match(ctx->router, req, &route, allow, sizeof(allow))) {
    case SG_MATCH_NOT_FOUND:
        sg_response_error(res, SG_API_NOT_FOUND, "No such route.", NULL);
        return;
    case SG_MATCH_BAD_METHOD:
        sg_response_header(res, "Allow", allow);
        sg_response_error(res, SG_API_METHOD_NOT_ALLOWED, NULL, NULL);
        return;
    case SG_MATCH_OK:
        break;
    }
    if (check_body(route, req, res) != 0)
        return;
    if ((route->flags & SG_ROUTE_AUTH) && !authenticate(ctx, req, res))
        return;
    rc = route->handler(ctx, req, res);
    if (rc != SG_OK) {
        if (rc != SG_ESTORE && rc != SG_EAUTH && rc != SG_EINVAL)
            sg_log_error("%s %s: internal error %d (request %s)", route->method,
                         route->path, rc, req->request_id);
        sg_response_fail(res, rc);
    }
}
