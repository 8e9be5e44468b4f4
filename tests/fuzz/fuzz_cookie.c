/* fuzz_cookie.c -- cookie.c: the Cookie header and the CSRF check.
 *
 * Input: newline-separated fields, each copied into a buffer of its exact
 * size; a field past the end of the input is absent (NULL):
 *
 *     Cookie header
 *     Origin
 *     Referer
 *     Host
 *     REQUEST_SCHEME ("http" when empty, as sg_request_init defaults)
 *     allowed_origins
 *     X-Sessiongate-CSRF
 *
 * An empty header is absent (NULL), as sg_request_init and the config
 * parser make it.
 * Every cookie name sessiongate uses is looked up. Checked: a found value
 * lies inside the header and holds no ';', and the CSRF check never
 * passes without its header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"

enum { COOKIE, ORIGIN, REFERER, HOST, SCHEME, ALLOWED, CSRF, NFIELDS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *or_null(const char *s)
{
    return s && *s ? s : NULL;
}

static void find_cookies(const char *header)
{
    static const char *const names[] = {
        "sg_access", "sg_refresh", "__Host-sg_access", "__Host-sg_refresh"};
    const char *value;
    size_t len, hlen = strlen(header);

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (sg_cookie_find(header, names[i], &value, &len) != SG_OK)
            continue;
        if (value < header || value + len > header + hlen ||
            memchr(value, ';', len))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *field[NFIELDS] = {NULL};
    const char *s = (const char *)data, *end = s + size;
    struct sg_config cfg;
    struct sg_request req;
    size_t i;

    for (i = 0; i < NFIELDS && s <= end && size > 0; i++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)((nl ? nl : end) - s);
        if (!(field[i] = malloc(len + 1)))
            abort();
        memcpy(field[i], s, len);
        field[i][len] = '\0';
        if (!nl)
            break;
        s = nl + 1;
    }

    if (field[COOKIE])
        find_cookies(field[COOKIE]);

    memset(&cfg, 0, sizeof(cfg));
    cfg.allowed_origins = or_null(field[ALLOWED]) ? field[ALLOWED] : NULL;
    memset(&req, 0, sizeof(req));
    req.origin = or_null(field[ORIGIN]);
    req.referer = or_null(field[REFERER]);
    req.host = or_null(field[HOST]);
    req.scheme = or_null(field[SCHEME]) ? field[SCHEME] : "http";
    req.csrf_header = or_null(field[CSRF]);
    if (sg_csrf_ok(&cfg, &req) && !req.csrf_header)
        abort();

    for (i = 0; i < NFIELDS; i++)
        free(field[i]);
    return 0;
}
