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
#include "cookie.h"
#include "handlers.h"
#include "log.h"

#define JSON SG_ROUTE_JSON
#define AUTH SG_ROUTE_AUTH

const struct sg_route sg_app_routes[] = {
    {"GET", "/health", 0, NULL, sg_handle_health},
    {"GET", "/ready", 0, NULL, sg_handle_ready},
    {"POST", "/auth/register", JSON, "register", sg_handle_register},
    {"POST", "/auth/signin", JSON, "signin", sg_handle_signin},
    {"POST", "/auth/refresh", JSON | SG_ROUTE_BODY_OPTIONAL, "refresh",
     sg_handle_refresh},
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
    if (req->body_len == 0 && (route->flags & SG_ROUTE_BODY_OPTIONAL))
        return 0;
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
    if (req->token_from_cookie && !req->authorizer &&
        strcmp(req->method, "GET") && strcmp(req->method, "HEAD") &&
        !sg_csrf_ok(ctx->cfg, req)) {
        sg_response_error(res, SG_API_FORBIDDEN,
                          "Cookie-authenticated changes need the "
                          "X-Sessiongate-CSRF header and a same-site origin.",
                          NULL);
        return false;
    }
    req->claims = &req->token;
    if (req->session_header && strcmp(req->session_header, req->token.sid)) {
        /* checked and counted like any request of the route, so that the
         * answer is 401 for a dead session and carries the same headers */
        struct sg_auth_call c = {0};
        if (sg_auth_run(ctx, req, res, SG_OP_VERIFY, &c))
            sg_response_error(res, SG_API_SESSION_MISMATCH, NULL, NULL);
        return false;
    }
    return true;
}

/* A browser (it accepts HTML) denied by the authorizer goes to the
 * sign-in page, with the URL it wanted, when signin_url is set. */
static void redirect_to_signin(struct sg_ctx *ctx, struct sg_request *req,
                               struct sg_response *res)
{
    const char *url = ctx->cfg->signin_url, *uri = req->request_uri;
    struct sg_buf loc = {0};

    if (!url || res->status != 401 || !req->accept ||
        !strstr(req->accept, "text/html"))
        return;
    sg_buf_puts(&loc, url);
    sg_buf_puts(&loc, strchr(url, '?') ? "&next=" : "?next=");
    for (; uri && *uri; uri++) {
        unsigned char c = (unsigned char)*uri;
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-._~/",
                   c) &&
            c)
            sg_buf_append(&loc, uri, 1);
        else
            sg_buf_printf(&loc, "%%%02X", c);
    }
    sg_response_reset(res);
    if (loc.data && sg_response_header(res, "Location", loc.data) == SG_OK) {
        sg_response_error(res, SG_API_UNAUTHORIZED, NULL, NULL);
        res->status = 302;
    }
    sg_buf_free(&loc);
}

/* The FastCGI Authorizer role (lighttpd "mode" => "authorizer", Apache
 * FcgidAccessChecker): the request is the one to protect, whatever its
 * path; it gets the checks of GET /auth/verify. */
static void authorize(struct sg_ctx *ctx, struct sg_request *req,
                      struct sg_response *res)
{
    int rc;

    if (authenticate(ctx, req, res)) {
        rc = sg_handle_verify(ctx, req, res);
        if (rc != SG_OK)
            sg_response_fail(res, rc);
    }
    redirect_to_signin(ctx, req, res);
}

void sg_app_handle(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res)
{
    const struct sg_route *route = NULL;
    char allow[64];
    int rc;

    if (req->authorizer) {
        authorize(ctx, req, res);
        return;
    }
    req->mount = ctx->cfg->mount ? ctx->cfg->mount : req->script_name;
    if (!sg_router_path(req->request_uri, req->mount, req->path_info,
                        &req->path, &req->path_len)) {
        sg_response_error(res, SG_API_NOT_FOUND, "No such route.", NULL);
        return;
    }
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
