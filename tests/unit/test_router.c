/* Unit tests for router.c: the route path from REQUEST_URI and the mount
 * (never another route), literal and parameterised routes, 404/405 and
 * Allow. */
#include <string.h>

#include "router.h"
#include "tap.h"

static int h(struct sg_ctx *c, struct sg_request *q, struct sg_response *r,
             struct sg_auth_call *call)
{
    return 0;
}

static const struct sg_route routes[] = {
    {"GET", "/health", 0, SG_OPEN, 0, SG_RL_NONE, h},
    {"POST", "/auth/signin", SG_ROUTE_JSON, SG_OPEN, 0, SG_RL_SIGNIN, h},
    {"GET", "/sessions", 0, SG_BEARER, 0, SG_RL_USER, h},
    {"DELETE", "/sessions", 0, SG_BEARER, 0, SG_RL_USER, h},
    {"DELETE", "/sessions/{id}", 0, SG_BEARER, 0, SG_RL_USER, h},
    {"GET", "/admin/users/{user_id}/sessions", 0, SG_ADMIN, 0, SG_RL_USER, h},
};

/* Route REQUEST_URI uri under the mount /api/v1, as sg_app_handle does;
 * uri NULL: path_info alone. */
static enum sg_match run_at(struct sg_router *r, const char *method,
                            const char *uri, const char *path_info,
                            const struct sg_route **route, char *allow,
                            struct sg_request *req)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
    *route = NULL;
    if (!sg_router_path(uri, "/api/v1", path_info, &req->path, &req->path_len))
        return SG_MATCH_NOT_FOUND;
    return sg_router_match(r, req, route, allow, 64);
}

static enum sg_match run(struct sg_router *r, const char *method,
                         const char *path, bool via_path_info,
                         const struct sg_route **route, char *allow,
                         struct sg_request *req)
{
    if (via_path_info)
        return run_at(r, method, NULL, path, route, allow, req);
    return run_at(r, method, path, NULL, route, allow, req);
}

static bool path_of(const char *uri, const char *mount, const char *pi,
                    const char *want)
{
    const char *p = NULL;
    size_t len = 0;
    bool ok = sg_router_path(uri, mount, pi, &p, &len);

    if (!want)
        return !ok;
    return ok && len == strlen(want) && memcmp(p, want, len) == 0;
}

/* The route is what the client wrote, less the mount: never a path the
 * server decoded or normalised, never a suffix of an unknown prefix. */
static void test_route_path(void)
{
    TAP_OK(path_of("/api/v1/health", "/api/v1", "/x", "/health"),
           "REQUEST_URI less the mount");
    TAP_OK(path_of("/api/v1/health?a=b/../c", "/api/v1", NULL, "/health"),
           "query cut off");
    TAP_OK(path_of("/api/v1/health", "/api/v1/", NULL, "/health"),
           "mount with a trailing slash");
    TAP_OK(path_of("/health", NULL, NULL, "/health"), "no mount");
    TAP_OK(path_of("/health", "", NULL, "/health"), "empty mount");
    TAP_OK(path_of(NULL, "/api/v1", "/health", "/health"),
           "no REQUEST_URI: PATH_INFO");
    TAP_OK(path_of("", "/api/v1", "/health", "/health"),
           "empty REQUEST_URI: PATH_INFO");
    TAP_OK(path_of(NULL, "/api/v1", NULL, NULL), "no path at all");
    TAP_OK(path_of("http://h:8/api/v1/health", "/api/v1", NULL, "/health"),
           "absolute-form request target");
    TAP_OK(path_of("http://h:8", "/api/v1", NULL, NULL),
           "absolute-form without a path");
    TAP_OK(path_of("api/v1/health", "/api/v1", NULL, NULL),
           "neither origin- nor absolute-form");
    TAP_OK(path_of("/api/v1/sessions/..%2Fsessions", "/api/v1", "/sessions",
                   NULL),
           "escaped dot segment: 404, not DELETE /sessions");
    TAP_OK(path_of("/api/v1/admin/users/ab%20cd/sessions", "/api/v1", NULL,
                   NULL),
           "percent-escape in a segment");
    TAP_OK(path_of("/api/v1/%68ealth", "/api/v1", NULL, NULL),
           "escaped unreserved character");
    TAP_OK(path_of("/api/v1/foo/health", "/api/v1", NULL, "/foo/health"),
           "unknown prefix stays in the path (and matches nothing)");
    TAP_OK(path_of("/api/x/../v1/health", "/api/v1", "/health", NULL),
           "outside the mount as written");
    TAP_OK(path_of("/api/v1health", "/api/v1", NULL, NULL),
           "mount must end at a segment");
    TAP_OK(path_of("/api/v1", "/api/v1", NULL, NULL), "the mount alone");
    TAP_OK(path_of("/API/v1/health", "/api/v1", NULL, NULL),
           "mount is case-sensitive");
    TAP_OK(path_of("/api/v1/./health", "/api/v1", NULL, NULL), "dot segment");
    TAP_OK(path_of("/api/v1/x/../health", "/api/v1", NULL, NULL),
           "dot-dot segment");
    TAP_OK(path_of("/api/v1/sessions/..", "/api/v1", NULL, NULL),
           "final dot-dot segment");
    TAP_OK(path_of("/api/v1//health", "/api/v1", NULL, NULL), "empty segment");
    TAP_OK(path_of("/api/v1/health/", "/api/v1", NULL, "/health/"),
           "one trailing slash kept for the matcher");
    TAP_OK(path_of("/api/v1/health//", "/api/v1", NULL, NULL),
           "two trailing slashes");
    TAP_OK(path_of("/api/v1/he\\alth", "/api/v1", NULL, NULL), "backslash");
    TAP_OK(path_of("/api/v1/he\talth", "/api/v1", NULL, NULL), "control byte");
    TAP_OK(path_of("/api/v1/sessions/.hidden", "/api/v1", NULL,
                   "/sessions/.hidden"),
           "a dot inside a segment is just a character");
    TAP_OK(path_of(NULL, NULL, "/x/../health", NULL),
           "PATH_INFO is held to the same rules");
    TAP_OK(path_of(NULL, NULL, "/health#x", NULL),
           "a '#' in PATH_INFO was an escape");
    TAP_OK(path_of(NULL, NULL, "/health?x", NULL),
           "a '?' in PATH_INFO was an escape");
}

/* Everything holds with JIT-compiled patterns (workers) and without
 * (CGI). */
static void test_router(bool jit)
{
    struct sg_router *r = sg_router_new(routes, SG_ARRAY_LEN(routes), jit);
    const struct sg_route *route;
    struct sg_request req;
    char allow[64];

    TAP_OK(r != NULL, "router compiles");
    TAP_IS_INT(run(r, "GET", "/health", true, &route, allow, &req), SG_MATCH_OK,
               "literal relative");
    TAP_OK(route == &routes[0], "literal route found");
    TAP_IS_INT(run(r, "GET", "/api/v1/health?x=1", false, &route, allow, &req),
               SG_MATCH_OK, "REQUEST_URI under the mount");
    TAP_IS_INT(run(r, "GET", "/health/", true, &route, allow, &req),
               SG_MATCH_OK, "one trailing slash tolerated");
    TAP_IS_INT(
        run(r, "GET", "/api/v1/health/extra", false, &route, allow, &req),
        SG_MATCH_NOT_FOUND, "extra segment is 404");
    TAP_IS_INT(run(r, "GET", "/api/v1/healthz", false, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "no prefix match");
    TAP_IS_INT(run(r, "GET", "/api/v1/x/health", false, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "no suffix search");
    TAP_IS_INT(run(r, "DELETE", "/api/v1/admin/users/ab%20cd/sessions", false,
                   &route, allow, &req),
               SG_MATCH_NOT_FOUND, "escaped admin path is not DELETE /sessions");
    TAP_IS_INT(run(r, "GET", "", false, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "empty path");
    TAP_IS_INT(run(r, "GET", "health", false, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "path without slash");
    TAP_IS_INT(run(r, "HEAD", "/health", true, &route, allow, &req),
               SG_MATCH_OK, "HEAD matches GET");
    TAP_IS_INT(run(r, "POST", "/health", true, &route, allow, &req),
               SG_MATCH_BAD_METHOD, "POST on GET route is 405");
    TAP_IS_STR(allow, "GET, HEAD", "Allow for a GET route");
    TAP_IS_INT(run(r, "PUT", "/api/v1/sessions", false, &route, allow, &req),
               SG_MATCH_BAD_METHOD, "PUT on sessions is 405");
    TAP_IS_STR(allow, "GET, HEAD, DELETE", "Allow lists every method");
    TAP_IS_INT(run(r, "DELETE", "/api/v1/sessions", false, &route, allow, &req),
               SG_MATCH_OK, "DELETE /sessions");
    TAP_OK(route == &routes[3], "DELETE /sessions route");

    TAP_IS_INT(
        run(r, "DELETE", "/api/v1/sessions/abc123", false, &route, allow, &req),
        SG_MATCH_OK, "parameterised route");
    TAP_OK(route == &routes[4], "DELETE /sessions/{id} route");
    TAP_OK(req.param_lens[0] == 6 && !memcmp(req.params[0], "abc123", 6),
           "id parameter captured");
    TAP_IS_INT(run(r, "DELETE", "/sessions/a%2Fb", true, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "escaped id is not an id");
    TAP_IS_INT(run(r, "DELETE", "/sessions/abc\n", true, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "a trailing newline is not an id");
    TAP_IS_INT(run(r, "GET", "/api/v1/admin/users/u1/sessions", false, &route,
                   allow, &req),
               SG_MATCH_OK, "admin route");
    TAP_OK(route == &routes[5], "admin route found");
    TAP_OK(req.param_lens[0] == 2 && !memcmp(req.params[0], "u1", 2),
           "user_id captured");
    TAP_IS_INT(run(r, "GET", "/api/v1/auth/signin", false, &route, allow, &req),
               SG_MATCH_BAD_METHOD, "GET signin is 405");
    TAP_IS_STR(allow, "POST", "Allow POST");
    sg_router_free(r);
}

int main(void)
{
    test_route_path();
    test_router(true);
    test_router(false);
    return tap_done();
}
