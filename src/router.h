/* router.h -- method + path to a route, compiled once per worker.
 *
 * A route table is a static array of struct sg_route, each carrying its
 * flags (body, authentication, role, rate-limit policy) as cgit's command
 * table does, so handlers hold only their own logic. Paths are literal
 * ("/auth/verify") or have {name} segments ("/sessions/{id}") that are
 * compiled to PCRE2 patterns once, when the router is built.
 */
#ifndef SG_ROUTER_H
#define SG_ROUTER_H

#include "request.h"
#include "response.h"

struct sg_ctx;

typedef int (*sg_handler_fn)(struct sg_ctx *ctx, struct sg_request *req,
                             struct sg_response *res);

enum sg_route_flags {
    SG_ROUTE_JSON = 1 << 0,          /* needs a JSON object body */
    SG_ROUTE_AUTH = 1 << 1,          /* needs a valid access token */
    SG_ROUTE_BODY_OPTIONAL = 1 << 2, /* JSON: an empty body is allowed */
};

struct sg_route {
    const char *method;
    const char *path;
    unsigned flags;
    const char *limit; /* rate-limit policy name, or NULL */
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
