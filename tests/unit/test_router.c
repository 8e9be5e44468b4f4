/* Unit tests for router.c: literal and parameterised routes, suffix
 * matching for REQUEST_URI-only servers, 404/405 and Allow. */
#include <string.h>

#include "router.h"
#include "tap.h"

static int h(struct sg_ctx *c, struct sg_request *q, struct sg_response *r)
{
    return 0;
}

static const struct sg_route routes[] = {
    {"GET", "/health", 0, NULL, h},
    {"POST", "/auth/signin", SG_ROUTE_JSON, NULL, h},
    {"GET", "/sessions", SG_ROUTE_AUTH, NULL, h},
    {"DELETE", "/sessions", SG_ROUTE_AUTH, NULL, h},
    {"DELETE", "/sessions/{id}", SG_ROUTE_AUTH, NULL, h},
    {"GET", "/admin/users/{user_id}/sessions", SG_ROUTE_AUTH, NULL, h},
};

static enum sg_match run(struct sg_router *r, const char *method,
                         const char *path, bool relative,
                         const struct sg_route **route, char *allow,
                         struct sg_request *req)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
    req->path = path;
    req->path_len = strcspn(path, "?");
    req->path_is_relative = relative;
    *route = NULL;
    return sg_router_match(r, req, route, allow, 64);
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
               SG_MATCH_OK, "suffix of REQUEST_URI");
    TAP_IS_INT(run(r, "GET", "/health/", true, &route, allow, &req),
               SG_MATCH_OK, "one trailing slash tolerated");
    TAP_IS_INT(
        run(r, "GET", "/api/v1/health/extra", false, &route, allow, &req),
        SG_MATCH_NOT_FOUND, "extra segment is 404");
    TAP_IS_INT(run(r, "GET", "/api/v1/healthz", false, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "suffix only at a slash");
    TAP_IS_INT(run(r, "GET", "/x/health", true, &route, allow, &req),
               SG_MATCH_NOT_FOUND, "relative paths are not searched");
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
               SG_MATCH_OK, "admin route through suffix search");
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
    test_router(true);
    test_router(false);
    return tap_done();
}
