/* router.h -- method + path to a route, compiled once per worker.
 *
 * A route table is a static array of struct sg_route, each row carrying
 * what the route needs as cgit's command table does: body, who may call
 * it, the store operation that authenticates it, its rate-limit policy.
 * sg_app_handle() reads the row and does all of that before the handler
 * runs, so handlers hold only their own work and rendering, and a route
 * that needs a token cannot skip the revocation check. Paths are literal
 * ("/auth/verify") or have {name} segments ("/sessions/{id}") that are
 * compiled to PCRE2 patterns once, when the router is built.
 */
#ifndef SG_ROUTER_H
#define SG_ROUTER_H

#include "request.h"
#include "response.h"

struct sg_ctx;
struct sg_auth_call;

/* A handler does its route's work and renders the answer. call is the
 * authenticated route's store call, already run and successful (NULL
 * for SG_OPEN routes). It returns 0 with res filled, or an SG_E* code
 * that sg_app_handle() alone turns into an answer. */
typedef int (*sg_handler_fn)(struct sg_ctx *ctx, struct sg_request *req,
                             struct sg_response *res,
                             struct sg_auth_call *call);

enum sg_route_flags {
    SG_ROUTE_JSON = 1 << 0,          /* needs a JSON object body */
    SG_ROUTE_BODY_OPTIONAL = 1 << 1, /* JSON: an empty body is allowed */
};

/* Who may call a route. Every access but SG_OPEN means: a valid access
 * token (signature, claims, CSRF for cookies, X-Session-ID), then the
 * row's store operation, which checks revocation and the session and
 * counts the row's rate limit in the same round trip. */
enum sg_access {
    SG_OPEN,        /* anyone; the handler applies the row's limit */
    SG_BEARER,      /* a live session's access token */
    SG_BEARER_ROLE, /* and the role the server asks for (SG_REQUIRE_ROLE) */
    SG_ADMIN,       /* and role admin; {user_id} names the target user */
};

/* The rate-limit policy of a route (the config's ratelimit_* keys). */
enum sg_route_limit {
    SG_RL_NONE,
    SG_RL_USER,     /* ratelimit_user, in the authenticating store call */
    SG_RL_REGISTER, /* ratelimit_register, before the account is made */
    SG_RL_SIGNIN,   /* ratelimit_signin and _failure, inside signin.lua */
    SG_RL_REFRESH,  /* ratelimit_refresh and _failure, inside refresh.lua */
};

struct sg_route {
    const char *method;
    const char *path;
    unsigned flags;
    enum sg_access access;
    int op; /* access != SG_OPEN: the enum sg_auth_op (store.h) to run */
    enum sg_route_limit limit;
    sg_handler_fn handler;
};

enum sg_match {
    SG_MATCH_OK,
    SG_MATCH_NOT_FOUND,
    SG_MATCH_BAD_METHOD, /* path known, method not: see allow */
};

struct sg_router;

/* Compile routes[0..n), JIT-compiling the patterns if jit (a process that
 * routes one request, CGI, is faster without). NULL (with a log line) if
 * a pattern does not compile, which is a programming error. The table
 * must outlive the router. */
struct sg_router *sg_router_new(const struct sg_route *routes, size_t n,
                                bool jit);
void sg_router_free(struct sg_router *r);

/* The route path of a request (API.md "Mounting"): the path of uri
 * (REQUEST_URI as the client sent it, query cut off; an absolute-form
 * "http://host/..." is reduced to its path) less mount (the configured
 * mount, else SCRIPT_NAME; NULL or "" for none), or, when uri is NULL or
 * empty, path_info (a server that gives no REQUEST_URI has decoded it for
 * us). Servers decode and normalise the path before they split it into
 * SCRIPT_NAME and PATH_INFO, so "/sessions/..%2Fsessions" would arrive as
 * "/sessions": routing on what the client wrote is what keeps a request on
 * the route it names. false (answer 404) when uri is outside the mount, or
 * the route path does not start with '/' or holds a percent-escape, a
 * '?' or '#' (from PATH_INFO: decoded escapes), a control byte, a
 * backslash, an empty segment (a single trailing '/' is
 * allowed) or a "." or ".." segment. On true *path (borrowed from uri or
 * path_info) and *len are set. */
bool sg_router_path(const char *uri, const char *mount, const char *path_info,
                    const char **path, size_t *len);

/* Match the request's method and route path (req->path, from
 * sg_router_path). On SG_MATCH_OK *route is set and req->params hold the
 * {name} segments (borrowed from req->path). On SG_MATCH_BAD_METHOD allow
 * receives the "Allow" header value ("GET, HEAD" style). HEAD matches GET
 * routes. A single trailing '/' is ignored. */
enum sg_match sg_router_match(struct sg_router *r, struct sg_request *req,
                              const struct sg_route **route, char *allow,
                              size_t allowlen);

#endif
