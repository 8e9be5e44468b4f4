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

/* Append s[0..len) (sg_buf_puts: a C string; sg_buf_printf: formatted)
 * and keep the NUL after it. SG_OK, or SG_ENOMEM with b unchanged and
 * still valid. The buffer owns its memory; data is borrowed by callers
 * until the next append, reset, wipe or free. */
SG_MUST_CHECK int sg_buf_append(struct sg_buf *b, const char *s, size_t len);
SG_MUST_CHECK int sg_buf_puts(struct sg_buf *b, const char *s);
SG_MUST_CHECK int sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Room for n more bytes, for a caller that writes them itself: where to
 * write, then sg_buf_added with how many were (<= n). NULL: SG_ENOMEM,
 * b unchanged. One reserve for many small pieces (the RESP formatter). */
SG_MUST_CHECK char *sg_buf_room(struct sg_buf *b, size_t n);
void sg_buf_added(struct sg_buf *b, size_t n);
/* Empty the buffer, keeping its memory (and its old bytes: use
 * sg_buf_wipe when they were secret). */
void sg_buf_reset(struct sg_buf *b);
/* Zero what the buffer holds and empty it, keeping its memory: for a
 * kept buffer that held a secret. Cheap: only len bytes are written, so
 * wipe a kept buffer after every use. */
void sg_buf_wipe(struct sg_buf *b);

/* v in decimal into out (SG_I64_STR_MAX bytes), NUL-terminated; returns
 * the length. For hot paths, where snprintf's format parsing shows. */
#define SG_I64_STR_MAX 21
size_t sg_i64_str(char *out, long long v);
/* Wipe and release the memory (b may be reused: it is empty). */
void sg_buf_free(struct sg_buf *b);

#endif
