/* buf.c -- growable buffer; see buf.h.
 *
 * Buffers carry secrets (bodies with passwords, commands with password
 * hashes, answers with tokens): memory a buffer gives back, on growth or
 * on free, is wiped first, and sg_buf_wipe clears what a kept buffer
 * holds between requests.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

static int reserve(struct sg_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX / 2 - b->len)
        return SG_ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return SG_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    /* not realloc: the old block may hold a password or a token, and
     * realloc would free it unwiped */
    if (!(p = malloc(cap)))
        return SG_ENOMEM;
    if (b->data) {
        memcpy(p, b->data, b->len + 1);
        sg_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return SG_OK;
}

int sg_buf_append(struct sg_buf *b, const char *s, size_t len)
{
    if (reserve(b, len) != SG_OK)
        return SG_ENOMEM;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
    return SG_OK;
}

char *sg_buf_room(struct sg_buf *b, size_t n)
{
    return reserve(b, n) == SG_OK ? b->data + b->len : NULL;
}

void sg_buf_added(struct sg_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

int sg_buf_puts(struct sg_buf *b, const char *s)
{
    return sg_buf_append(b, s, strlen(s));
}

int sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (reserve(b, 64) != SG_OK)
        return SG_ENOMEM;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SG_EINVAL;
    if ((size_t)n >= b->cap - b->len) {
        if (reserve(b, (size_t)n) != SG_OK)
            return SG_ENOMEM;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return SG_OK;
}

void sg_buf_reset(struct sg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sg_buf_wipe(struct sg_buf *b)
{
    if (b->data)
        sg_wipe(b->data, b->len + 1);
    b->len = 0;
}

void sg_buf_free(struct sg_buf *b)
{
    if (b->data)
        sg_wipe(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t sg_i64_str(char *out, long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n;

    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}
