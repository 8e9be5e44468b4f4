/* cookie.c -- see cookie.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cookie.h"

const char *sg_cookie_name(const struct sg_config *cfg, enum sg_cookie which)
{
    /* __Host- requires Path=/ (RFC 6265bis 4.1.3.2); the refresh cookie is
     * scoped to its route, so it takes __Secure- */
    static const char *const names[2][2] = {
        {"sg_access", "sg_refresh"},
        {"__Host-sg_access", "__Secure-sg_refresh"},
    };

    return names[cfg->cookie_secure ? 1 : 0][which];
}

const char *sg_cookie_legacy_refresh(const struct sg_config *cfg)
{
    return cfg->cookie_secure ? "__Host-sg_refresh" : NULL;
}

/* The Path of a token cookie: / for the access token, which protected
 * locations anywhere on the site read; the refresh route alone for the
 * refresh token, so no other application on the site ever receives it.
 * false when the mount could not stand in the attribute (';', controls):
 * the refresh cookie is then not set at all, rather than at a path
 * outside the mount. */
static bool cookie_path(char *out, size_t outlen, const char *mount,
                        enum sg_cookie which)
{
    static const char refresh_route[] = "/auth/refresh";
    size_t len = mount ? strlen(mount) : 0;

    if (which == SG_COOKIE_ACCESS) {
        snprintf(out, outlen, "/");
        return true;
    }
    if (len && (len > 256 ||
                strspn(mount, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-._~!$&'()*+,=:@/") != len))
        return false;
    while (len && mount[len - 1] == '/')
        len--;
    snprintf(out, outlen, "%.*s%s", (int)len, len ? mount : "", refresh_route);
    return true;
}

bool sg_cookie_repeated(const char *header, const char *name)
{
    const char *v;
    size_t n;

    return header && sg_cookie_find(header, name, &v, &n) == SG_OK &&
           sg_cookie_find(v + n, name, &v, &n) == SG_OK;
}

int sg_cookie_find(const char *header, const char *name, const char **value,
                   size_t *len)
{
    size_t nlen = strlen(name);
    const char *p = header;

    /* RFC 6265 5.4: "name=value" pairs separated by "; " */
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (!strncmp(p, name, nlen) && p[nlen] == '=') {
            *value = p + nlen + 1;
            *len = strcspn(*value, ";");
            while (*len && (*value)[*len - 1] == ' ')
                (*len)--;
            return SG_OK;
        }
        p = strchr(p, ';');
    }
    return SG_ENOTFOUND;
}

void sg_cookie_set(struct sg_response *res, const struct sg_config *cfg,
                   const char *mount, enum sg_cookie which, const char *value,
                   int64_t max_age)
{
    char path[300];

    if (!cookie_path(path, sizeof(path), mount, which))
        return;
    sg_response_headerf(res, "Set-Cookie",
                        "%s=%s; Path=%s; Max-Age=%lld; HttpOnly;%s SameSite=Lax",
                        sg_cookie_name(cfg, which), value, path,
                        (long long)(max_age > 0 ? max_age : 0),
                        cfg->cookie_secure ? " Secure;" : "");
}

void sg_cookie_clear_legacy(struct sg_response *res,
                            const struct sg_config *cfg,
                            const struct sg_request *req)
{
    const char *name = sg_cookie_legacy_refresh(cfg), *v;
    size_t n;

    if (name && req->cookie && sg_cookie_find(req->cookie, name, &v, &n) == 0)
        sg_response_headerf(res, "Set-Cookie",
                            "%s=; Path=/; Max-Age=0; HttpOnly; Secure; "
                            "SameSite=Lax",
                            name);
}

/* The scheme://host[:port] part of a URL, or of this request's site. */
static size_t origin_of(const char *url, const char **start)
{
    const char *p = strstr(url, "://");

    *start = url;
    if (!p)
        return 0;
    return (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
}

static bool listed(const char *list, const char *origin, size_t len)
{
    const char *p = list;

    while (p && *p) {
        size_t n;
        p += strspn(p, ", \t");
        n = strcspn(p, ", \t");
        if (n && n == len && !strncasecmp(p, origin, len))
            return true;
        p += n;
    }
    return false;
}

bool sg_csrf_ok(const struct sg_config *cfg, const struct sg_request *req)
{
    const char *claimed = req->origin ? req->origin : req->referer;
    const char *start;
    char self[320];
    size_t len;
    int n;

    if (!req->csrf_header)
        return false;
    if (!claimed)
        return true; /* the custom header alone proves a same-site script */
    if (!(len = origin_of(claimed, &start)))
        return false; /* "null" or garbage */
    n = snprintf(self, sizeof(self), "%s://%s", req->scheme,
                 req->host ? req->host : "");
    if (n > 0 && (size_t)n == len && !strncasecmp(self, start, len))
        return true;
    return listed(cfg->allowed_origins, start, len);
}
