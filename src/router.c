/* router.c -- the route table compiled for matching.
 *
 * Literal routes are compared with memcmp; a route with {name} segments
 * becomes an anchored PCRE2 pattern in which each segment is
 * ([A-Za-z0-9_.-]{1,128}), so an id can never contain '/' or anything a
 * Redis key or a log line would mind. Patterns are JIT-compiled when PCRE2
 * offers it and share one match-data block: a worker serves one request
 * at a time.
 *
 * The path matched is the one the client wrote, less the mount point
 * (sg_router_path): never a suffix found by guessing, never a path the
 * server decoded, so a request reaches the route it names or none.
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
    int bad = sg_buf_puts(&re, "^"); /* any append out of memory */

    for (const char *p = path; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            bad |= sg_buf_puts(&re, "([A-Za-z0-9_.-]{1,128})");
            p = close ? close + 1 : p + strlen(p);
        } else {
            bad |= sg_buf_append(&re, p++, 1);
        }
    }
    bad |= sg_buf_puts(&re, "\\z"); /* not $: it allows a final \n */
    if (!bad) {
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

    allow[0] = '\0';
    if (!path || len == 0 || path[0] != '/')
        return SG_MATCH_NOT_FOUND;
    if (len > 1 && path[len - 1] == '/')
        len--;
    return match_path(r, req, path, len, route, allow, allowlen);
}

/* "scheme://authority/path" -> "/path" (RFC 9112 3.2.2, absolute-form);
 * NULL if uri is neither that nor origin-form. */
static const char *origin_form(const char *uri)
{
    const char *p = uri;

    if (*p == '/')
        return p;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return NULL;
    p += strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789+-.");
    if (strncmp(p, "://", 3) != 0)
        return NULL;
    p += 3 + strcspn(p + 3, "/?#");
    return *p == '/' ? p : NULL;
}

/* A route path needs no escapes and no normalising: refuse anything a
 * server or a client might read as another path. */
static bool path_is_plain(const char *p, size_t len)
{
    size_t seg = 1; /* where the current segment starts */

    if (len == 0 || p[0] != '/')
        return false;
    for (size_t i = 1; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)p[i] : '/';
        size_t n = i - seg;

        /* '?' and '#' can only be decoded escapes (PATH_INFO) */
        if (c == '%' || c == '?' || c == '#' || c == '\\' || c < 0x20 ||
            c == 0x7f)
            return false;
        if (c != '/')
            continue;
        if (n == 0 && i < len) /* "//": only a final '/' may end empty */
            return false;
        if ((n == 1 && p[seg] == '.') ||
            (n == 2 && p[seg] == '.' && p[seg + 1] == '.'))
            return false;
        seg = i + 1;
    }
    return true;
}

bool sg_router_path(const char *uri, const char *mount, const char *path_info,
                    const char **path, size_t *len)
{
    const char *p;
    size_t n, mlen = mount ? strlen(mount) : 0;

    if (uri && *uri) {
        if (!(p = origin_form(uri)))
            return false;
        n = strcspn(p, "?#");
        while (mlen && mount[mlen - 1] == '/')
            mlen--;
        if (n < mlen || (mlen && memcmp(p, mount, mlen) != 0))
            return false;
        p += mlen, n -= mlen;
    } else if (path_info && *path_info) {
        p = path_info, n = strlen(path_info);
    } else {
        return false;
    }
    if (!path_is_plain(p, n))
        return false;
    *path = p, *len = n;
    return true;
}
