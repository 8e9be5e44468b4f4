/* fuzz_client.c -- client.c: trusted_proxies and X-Forwarded-For.
 *
 * Input: three newline-separated fields, each copied into a buffer of
 * its exact size:
 *
 *     trusted_proxies (config text)
 *     REMOTE_ADDR
 *     X-Forwarded-For (absent, NULL, when the input has no second newline)
 *
 * Checked: a refused list says why; the client IP is a NUL-terminated
 * string that fits the 64 bytes struct sg_request gives it, and is
 * REMOTE_ADDR itself unless REMOTE_ADDR is a trusted proxy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *field(const char **s, const char *end, bool *last)
{
    const char *nl = memchr(*s, '\n', (size_t)(end - *s));
    size_t len = (size_t)((nl ? nl : end) - *s);
    char *copy = malloc(len + 1);

    if (!copy)
        abort();
    memcpy(copy, *s, len);
    copy[len] = '\0';
    *last = nl == NULL;
    *s = nl ? nl + 1 : end;
    return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    char *proxies_text, *remote = NULL, *forwarded = NULL, err[128], out[64];
    struct sg_proxies *proxies = NULL;
    bool last;
    int rc;

    proxies_text = field(&s, end, &last);
    if (!last)
        remote = field(&s, end, &last);
    if (!last)
        forwarded = field(&s, end, &last);

    err[0] = '\0';
    rc = sg_proxies_parse(proxies_text, &proxies, err, sizeof(err));
    if (rc == SG_EINVAL && (proxies || err[0] == '\0'))
        abort();
    if (rc == SG_OK) {
        /* sg_request_init makes a missing REMOTE_ADDR "". */
        const char *addr = remote ? remote : "";
        memset(out, 'x', sizeof(out));
        sg_client_ip_of(proxies, addr, forwarded, out, sizeof(out));
        if (!memchr(out, '\0', sizeof(out)))
            abort();
        if (!sg_proxies_contain(proxies, addr, strlen(addr)) &&
            strncmp(out, addr, sizeof(out) - 1) != 0)
            abort();
    }
    sg_proxies_free(proxies);
    free(proxies_text);
    free(remote);
    free(forwarded);
    return 0;
}
