/* app.c -- the route table and the request pipeline.
 *
 * Order of checks, so that a client always learns the most fundamental
 * problem first: route (404), method (405, with Allow), body framing
 * (400 for an unparsable Content-Length, 413 over max_body_bytes), media
 * type (415), JSON syntax (400), and only then the handler. Each route's
 * needs are flags in the table below, not code in the handlers.
 */
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "app.h"
#include "auth.h"
#include "cookie.h"
#include "crypto.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"

#define JSON     SG_ROUTE_JSON
#define OPTIONAL SG_ROUTE_BODY_OPTIONAL

/* clang-format off */
const struct sg_route sg_app_routes[] = {
    {"GET", "/health", 0, SG_OPEN, 0, SG_RL_NONE, sg_handle_health},
    {"GET", "/ready", 0, SG_OPEN, 0, SG_RL_NONE, sg_handle_ready},
    {"POST", "/auth/register", JSON, SG_OPEN, 0, SG_RL_REGISTER,
     sg_handle_register},
    {"POST", "/auth/signin", JSON, SG_OPEN, 0, SG_RL_SIGNIN, sg_handle_signin},
    {"POST", "/auth/refresh", JSON | OPTIONAL, SG_OPEN, 0, SG_RL_REFRESH,
     sg_handle_refresh},
    {"POST", "/auth/signout", 0, SG_BEARER, SG_OP_SIGNOUT, SG_RL_USER,
     sg_handle_signout},
    {"GET", "/auth/verify", 0, SG_BEARER_ROLE, SG_OP_VERIFY, SG_RL_USER,
     sg_handle_verify},
    {"GET", "/auth/me", 0, SG_BEARER, SG_OP_ME, SG_RL_USER, sg_handle_me},
    {"GET", "/sessions", 0, SG_BEARER, SG_OP_SESSIONS_LIST, SG_RL_USER,
     sg_handle_sessions_list},
    {"DELETE", "/sessions", 0, SG_BEARER, SG_OP_SESSIONS_END, SG_RL_USER,
     sg_handle_sessions_end},
    {"DELETE", "/sessions/{id}", 0, SG_BEARER, SG_OP_SESSION_END, SG_RL_USER,
     sg_handle_session_end},
    {"GET", "/admin/users/{user_id}/sessions", 0, SG_ADMIN,
     SG_OP_SESSIONS_LIST, SG_RL_USER, sg_handle_sessions_list},
    {"DELETE", "/admin/users/{user_id}/sessions", 0, SG_ADMIN,
     SG_OP_SESSIONS_END, SG_RL_USER, sg_handle_sessions_end},
    {"GET", "/.well-known/jwks.json", 0, SG_OPEN, 0, SG_RL_NONE,
     sg_handle_jwks},
    {"GET", "/metrics", 0, SG_OPEN, 0, SG_RL_NONE, sg_handle_metrics},
};
/* clang-format on */
const size_t sg_app_routes_len = SG_ARRAY_LEN(sg_app_routes);

/* The authorizer's row: the request it protects gets what GET
 * /auth/verify does, from the same row (found once). */
static const struct sg_route *verify_route(void)
{
    static const struct sg_route *row;

    for (size_t i = 0; !row && i < sg_app_routes_len; i++)
        if (sg_app_routes[i].handler == sg_handle_verify)
            row = &sg_app_routes[i];
    return row;
}

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

/* Copy path parameter i into out if it is exactly len lowercase hex,
 * else "-", which names nothing: a malformed id is answered as someone
 * else's (404), after authentication (401 first). */
static void hex_param(const struct sg_request *req, int i, size_t len,
                      char *out)
{
    if (req->param_lens[i] == len && sg_is_hex(req->params[i], len)) {
        memcpy(out, req->params[i], len);
        out[len] = '\0';
    } else {
        memcpy(out, "-", 2); /* no row's id: matches nothing */
    }
}

struct call_buf {
    struct sg_auth_call c;
    char target[SG_SESSION_ID_LEN + SG_USER_ID_LEN + 2];
};

/* Authentication as the row says: the token (signature and claims, CSRF
 * for a cookie, X-Session-ID), the role, then the row's store operation,
 * which checks revocation and the session and counts the row's limit in
 * one round trip. true with the call done; false with the answer
 * written (401, 403, 404, 429, 503). */
static bool authenticate(struct sg_ctx *ctx, const struct sg_route *route,
                         struct sg_request *req, struct sg_response *res,
                         struct call_buf *b)
{
    struct sg_auth_call *c = &b->c;
    const struct sg_rate_policy *limit =
        route->limit == SG_RL_USER ? &ctx->cfg->ratelimit_user : NULL;

    memset(b, 0, sizeof(*b));
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
        if (sg_auth_run(ctx, req, res, SG_OP_VERIFY, limit, c))
            sg_response_error(res, SG_API_SESSION_MISMATCH, NULL, NULL);
        return false;
    }
    switch (route->access) {
    case SG_ADMIN:
        c->forbidden = !sg_token_has_role(req->claims, "admin");
        hex_param(req, 0, SG_USER_ID_LEN, b->target);
        c->target_uid = b->target;
        break;
    case SG_BEARER_ROLE:
        c->forbidden = req->require_role &&
                       !sg_token_has_role(req->claims, req->require_role);
        break;
    default:
        if (req->params[0]) { /* /sessions/{id} */
            hex_param(req, 0, SG_SESSION_ID_LEN, b->target);
            c->target_sid = b->target;
        }
        break;
    }
    c->revoke_ms = req->claims->exp * 1000 - req->now_ms; /* signout */
    return sg_auth_run(ctx, req, res, (enum sg_auth_op)route->op, limit, c);
}

/* Run the row: authentication and limits as it says, then its handler;
 * the one place where a handler's error code becomes an answer. */
static void run_route(struct sg_ctx *ctx, const struct sg_route *route,
                      struct sg_request *req, struct sg_response *res)
{
    struct call_buf b;
    struct sg_auth_call *call = NULL;
    int rc;

    req->route = route;
    if (route->access != SG_OPEN) {
        bool ok = authenticate(ctx, route, req, res, &b);
        if (!ok) {
            free(b.c.sessions);
            return;
        }
        call = &b.c;
    }
    rc = route->handler(ctx, req, res, call);
    if (call)
        free(call->sessions); /* a list the handler rendered */
    if (rc != SG_OK) {
        if (rc != SG_ESTORE && rc != SG_EAUTH && rc != SG_EINVAL)
            sg_log_error("%s %s: internal error %d (request %s)", route->method,
                         route->path, rc, req->request_id);
        sg_response_fail(res, rc);
    }
}

/* A browser (it accepts HTML) denied by the authorizer goes to the
 * sign-in page, with the URL it wanted, when signin_url is set. */
static void redirect_to_signin(struct sg_ctx *ctx, struct sg_request *req,
                               struct sg_response *res)
{
    const char *url = ctx->cfg->signin_url, *uri = req->request_uri;
    struct sg_buf loc = {0};
    int bad = 0; /* out of memory: the 401 stands */

    if (!url || res->status != 401 || !req->accept ||
        !strstr(req->accept, "text/html"))
        return;
    bad |= sg_buf_puts(&loc, url);
    bad |= sg_buf_puts(&loc, strchr(url, '?') ? "&next=" : "?next=");
    for (; uri && *uri; uri++) {
        unsigned char c = (unsigned char)*uri;
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-._~/",
                   c) &&
            c)
            bad |= sg_buf_append(&loc, uri, 1);
        else
            bad |= sg_buf_printf(&loc, "%%%02X", c);
    }
    if (bad) {
        sg_buf_free(&loc);
        return;
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
    const struct sg_route *route = verify_route();

    if (!route) { /* a table without the verify row: a build error */
        sg_response_error(res, SG_API_INTERNAL, NULL, NULL);
        return;
    }
    run_route(ctx, route, req, res);
    redirect_to_signin(ctx, req, res);
}

int64_t sg_app_next_tick(const struct sg_ctx *ctx, int64_t now_ms)
{
    return sg_activity_due(ctx->activity, now_ms, ctx->cfg->activity_flush_ms);
}

void sg_app_tick(struct sg_ctx *ctx, int64_t now_ms)
{
    /* a failure is logged and kept by the buffer (activity.c) */
    if (sg_app_next_tick(ctx, now_ms) == 0)
        (void)sg_activity_flush(ctx->activity, ctx->store, now_ms);
}

static void handle(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res)
{
    const struct sg_route *route = NULL;
    char allow[64];

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
    req->route = route; /* the metrics' label, whatever the answer */
    if (check_body(route, req, res) != 0)
        return;
    run_route(ctx, route, req, res);
}

void sg_app_handle(struct sg_ctx *ctx, struct sg_request *req,
                   struct sg_response *res)
{
    int64_t start = sg_metrics_begin();

    handle(ctx, req, res);
    sg_metrics_request(req->route, req->authorizer, res->status, start);
}
