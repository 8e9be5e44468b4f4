/* fuzz_route_path.c -- sg_router_path: the route path of a request, from
 * REQUEST_URI less the mount point, or from PATH_INFO.
 *
 * Input: up to three fields separated by NUL bytes,
 *
 *     uri \0 mount \0 path_info
 *
 * A field the input does not reach is NULL (so "/api/v1/health" alone is
 * a REQUEST_URI with no mount and no PATH_INFO); each field is copied
 * into a buffer of exactly its length plus the NUL, so ASan sees a read
 * past it. An empty uri or mount is tried both as "" and as NULL, which
 * the header says mean the same. Checked on true (router.h, API.md
 * "Mounting", issue 12): *path lies inside uri (or path_info) and *len
 * within it; the path starts with '/' and holds no '%', '?', '#', NUL,
 * backslash or control byte, no empty segment but a trailing '/', and no
 * "." or ".." segment; from a uri, the path ends where the uri's query,
 * fragment or end does, and is preceded by the mount (less trailing
 * '/'), itself at the start of the uri or right after an absolute-form
 * "scheme://authority".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *why, const char *path, size_t len)
{
    fprintf(stderr, "sg_router_path: %s: \"%.*s\"\n", why, (int)len, path);
    abort();
}

/* The path's own bytes and segments. */
static void check_plain(const char *path, size_t len)
{
    size_t seg = 1;

    if (len == 0 || path[0] != '/')
        fail("does not start with '/'", path, len);
    for (size_t i = 1; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)path[i] : '/';
        size_t n = i - seg;

        if (c == '%' || c == '?' || c == '#' || c == '\0' || c == '\\' ||
            c < 0x20 || c == 0x7f)
            fail("forbidden byte", path, len);
        if (c != '/')
            continue;
        if (n == 0 && i < len)
            fail("empty segment", path, len);
        if ((n == 1 && path[seg] == '.') ||
            (n == 2 && path[seg] == '.' && path[seg + 1] == '.'))
            fail("dot segment", path, len);
        seg = i + 1;
    }
}

/* Where the path sits in the uri: after the mount, which is at the start
 * of the origin-form, and up to the query, fragment or end. */
static void check_in_uri(const char *uri, const char *mount, const char *path,
                         size_t len)
{
    size_t mlen = mount ? strlen(mount) : 0;
    const char *origin, *p;
    char end;

    while (mlen && mount[mlen - 1] == '/')
        mlen--;
    if ((size_t)(path - uri) < mlen)
        fail("no room for the mount", path, len);
    origin = path - mlen;
    if (mlen && memcmp(origin, mount, mlen) != 0)
        fail("not under the mount", path, len);
    if (origin != uri) {
        /* absolute-form: scheme "://" authority, then the origin-form */
        p = strstr(uri, "://");
        if (!p || p >= origin || p == uri)
            fail("text before the mount", path, len);
        for (const char *s = uri; s < p; s++)
            if (*s == '/' || *s == '?' || *s == '#' || *s == ':')
                fail("bad scheme", path, len);
        for (const char *s = p + 3; s < origin; s++)
            if (*s == '/' || *s == '?' || *s == '#')
                fail("authority holds a path", path, len);
    }
    end = path[len];
    if (end != '\0' && end != '?' && end != '#')
        fail("path cut short", path, len);
    if (memchr(uri, '?', (size_t)(path - uri)) ||
        memchr(uri, '#', (size_t)(path - uri)))
        fail("path taken from the query", path, len);
}

static bool route_path(const char *uri, const char *mount,
                       const char *path_info, const char **path, size_t *len)
{
    const char *base = uri && *uri ? uri : path_info;
    bool ok;

    *path = NULL, *len = 0;
    ok = sg_router_path(uri, mount, path_info, path, len);
    if (!ok)
        return false;
    if (!base || !*path || *path < base || *len > strlen(base) ||
        (size_t)(*path - base) > strlen(base) - *len)
        fail("path outside its source", "", 0);
    check_plain(*path, *len);
    if (base == uri)
        check_in_uri(uri, mount, *path, *len);
    else if (*path != path_info || *len != strlen(path_info))
        fail("not the whole PATH_INFO", *path, *len);
    return true;
}

/* Field i of the input as its own exact-size string, or NULL. */
static char *field(const uint8_t *data, size_t size, int i)
{
    const uint8_t *p = data, *end = data + size, *nul;
    size_t n;
    char *s;

    for (; i > 0; i--) {
        if (!(nul = memchr(p, '\0', (size_t)(end - p))))
            return NULL;
        p = nul + 1;
    }
    nul = memchr(p, '\0', (size_t)(end - p));
    n = nul ? (size_t)(nul - p) : (size_t)(end - p);
    if (!(s = malloc(n + 1)))
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = field(data, size, 0), *mount = field(data, size, 1);
    char *path_info = field(data, size, 2);
    const char *path, *path2;
    size_t len, len2;
    bool ok = route_path(uri, mount, path_info, &path, &len);

    /* "" and NULL are the same "none" for uri and for mount */
    if (uri && !*uri &&
        (route_path(NULL, mount, path_info, &path2, &len2) != ok ||
         (ok && (path2 != path || len2 != len))))
        fail("empty uri differs from none", "", 0);
    if (mount && !*mount &&
        (route_path(uri, NULL, path_info, &path2, &len2) != ok ||
         (ok && (path2 != path || len2 != len))))
        fail("empty mount differs from none", "", 0);
    free(uri);
    free(mount);
    free(path_info);
    return 0;
}
