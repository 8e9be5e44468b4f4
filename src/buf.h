/* buf.h -- a growable byte buffer, always NUL-terminated.
 *
 * Used for response bodies and headers. Appends never truncate: they grow
 * the buffer or fail with SG_ENOMEM, after which the buffer stays valid and
 * the caller answers 500. Memory is kept between requests by sg_buf_reset
 * so a warm worker does not allocate for a typical response.
 */
#ifndef SG_BUF_H
#define SG_BUF_H

#include "sg.h"

struct sg_buf {
    char *data; /* NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
};

int sg_buf_append(struct sg_buf *b, const char *s, size_t len);
int sg_buf_puts(struct sg_buf *b, const char *s);
int sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sg_buf_reset(struct sg_buf *b);

/* v in decimal into out (SG_I64_STR_MAX bytes), NUL-terminated; returns
 * the length. For hot paths, where snprintf's format parsing shows. */
#define SG_I64_STR_MAX 21
size_t sg_i64_str(char *out, long long v);
void sg_buf_free(struct sg_buf *b);

#endif
