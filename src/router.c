/* router.c -- the route table compiled for matching.
 *
 * Literal routes are compared with memcmp; a route with {name} segments
 * becomes an anchored PCRE2 pattern in which each segment is
 * ([A-Za-z0-9_.-]{1,128}), so an id can never contain '/' or anything a
 * Redis key or a log line would mind. Patterns are JIT-compiled when PCRE2
 * offers it and share one match-data block: a worker serves one request
 * at a time.
 *
 * Matching tries the whole path first and then each shorter suffix that
 * starts at a '/', so the application needs no mount-point setting: it
 * routes "/api/v1/health" and "/health" alike.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "router.h"

struct compiled_route {
    const struct sg_route *route;
    pcre2_code *re; /* NULL for a literal path */
    size_t path_len;
};

struct sg_router {
    struct compiled_route *routes;
    size_t n;
    pcre2_match_data *md;
    int last_rc; /* pairs set by the last pcre2_match: only those are valid */
};

/* "/sessions/{id}" -> "^/sessions/([A-Za-z0-9_.-]{1,128})\\z" */
static pcre2_code *compile_pattern(const char *path, bool jit)
{
    struct sg_buf re = {0};
    pcre2_code *code = NULL;
    int errcode;
    PCRE2_SIZE erroff;

    sg_buf_puts(&re, "^");
    for (const char *p = path; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            sg_buf_puts(&re, "([A-Za-z0-9_.-]{1,128})");
            p = close ? close + 1 : p + strlen(p);
        } else {
            sg_buf_append(&re, p++, 1);
        }
    }
    if (sg_buf_puts(&re, "\\z") == SG_OK) { /* not $: it allows a final \n */
        code = pcre2_compile((PCRE2_SPTR)re.data, re.len, 0, &errcode, &erroff,
                             NULL);
        if (!code)
            sg_log_error("router: route %s does not compile", path);
        else if (jit)
            pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    }
    sg_buf_free(&re);
    return code;
}

struct sg_router *sg_router_new(const struct sg_route *routes, size_t n,
                                bool jit)
{
    struct sg_router *r = calloc(1, sizeof(*r));

    if (!r || !(r->routes = calloc(n, sizeof(*r->routes))))
        goto fail;
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        r->routes[i].route = &routes[i];
        r->routes[i].path_len = strlen(routes[i].path);
        if (strchr(routes[i].path, '{') &&
            !(r->routes[i].re = compile_pattern(routes[i].path, jit)))
            goto fail;
    }
    if (!(r->md = pcre2_match_data_create(1 + SG_ROUTE_PARAMS_MAX, NULL)))
        goto fail;
    return r;
fail:
    sg_router_free(r);
    return NULL;
}

void sg_router_free(struct sg_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->routes && i < r->n; i++)
        pcre2_code_free(r->routes[i].re);
    free(r->routes);
    pcre2_match_data_free(r->md);
    free(r);
}

static bool path_matches(struct sg_router *r, const struct compiled_route *c,
                         const char *path, size_t len)
{
    if (!c->re)
        return len == c->path_len && memcmp(path, c->route->path, len) == 0;
    r->last_rc = pcre2_match(c->re, (PCRE2_SPTR)path, len, 0, 0, r->md, NULL);
    return r->last_rc > 0;
}

static bool method_matches(const char *want, const char *got)
{
    return strcmp(want, got) == 0 ||
           (strcmp(got, "HEAD") == 0 && strcmp(want, "GET") == 0);
}

static void take_params(struct sg_router *r, struct sg_request *req,
                        const char *path)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);

    for (int i = 1; i < r->last_rc && i <= SG_ROUTE_PARAMS_MAX; i++) {
        if (ov[2 * i] == PCRE2_UNSET)
            continue;
        req->params[i - 1] = path + ov[2 * i];
        req->param_lens[i - 1] = ov[2 * i + 1] - ov[2 * i];
    }
}

static void add_allow(char *allow, size_t allowlen, const char *method)
{
    size_t used = strlen(allow);

    if (strstr(allow, method))
        return;
    snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", method);
}

/* Match one candidate path against every route. */
static enum sg_match match_path(struct sg_router *r, struct sg_request *req,
                                const char *path, size_t len,
                                const struct sg_route **route, char *allow,
                                size_t allowlen)
{
    enum sg_match result = SG_MATCH_NOT_FOUND;

    for (size_t i = 0; i < r->n; i++) {
        const struct compiled_route *c = &r->routes[i];
        if (!path_matches(r, c, path, len))
            continue;
        if (method_matches(c->route->method, req->method)) {
            if (c->re)
                take_params(r, req, path);
            *route = c->route;
            return SG_MATCH_OK;
        }
        add_allow(allow, allowlen, c->route->method);
        if (strcmp(c->route->method, "GET") == 0)
            add_allow(allow, allowlen, "HEAD");
        result = SG_MATCH_BAD_METHOD;
    }
    return result;
}

enum sg_match sg_router_match(struct sg_router *r, struct sg_request *req,
                              const struct sg_route **route, char *allow,
                              size_t allowlen)
{
    const char *path = req->path;
    size_t len = req->path_len;
    enum sg_match m;

    allow[0] = '\0';
    if (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || path[0] != '/')
        return SG_MATCH_NOT_FOUND;
    m = match_path(r, req, path, len, route, allow, allowlen);
    if (m != SG_MATCH_NOT_FOUND || req->path_is_relative)
        return m;
    for (size_t i = 1; i < len; i++) {
        if (path[i] != '/')
            continue;
        m = match_path(r, req, path + i, len - i, route, allow, allowlen);
        if (m != SG_MATCH_NOT_FOUND)
            return m;
    }
    return SG_MATCH_NOT_FOUND;
}
