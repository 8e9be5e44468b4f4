/* sg.h -- things every sessiongate file shares: error codes and limits.
 *
 * A function that can fail returns 0 on success or one of the negative
 * SG_E* codes below; a function returning a pointer returns NULL. The
 * mapping of these codes to HTTP statuses and API error codes lives in one
 * place, response.c, never at call sites.
 */
#ifndef SG_SG_H
#define SG_SG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

enum {
    SG_OK = 0,
    SG_ENOMEM = -1,    /* allocation failed */
    SG_EINVAL = -2,    /* malformed input (client's or file's) */
    SG_EAUTH = -3,     /* credentials or token rejected */
    SG_ESTORE = -4,    /* Redis unreachable or answered an error */
    SG_ENOTFOUND = -5, /* a lookup found nothing (a result, not a fault) */
    SG_EEXIST = -6,    /* uniqueness violated */
    SG_ETOOBIG = -7,   /* over a size limit */
    SG_EIO = -8,       /* a system call or file failed */
    SG_ECRYPTO = -9,   /* OpenSSL or libjwt failed internally */
    SG_EREUSED = -10,  /* a rotated refresh token was presented again */
    SG_ELIMIT = -11,   /* a rate limit was hit */
};

/* A result the caller must look at: ignoring it is a compile error under
 * --enable-werror. */
#define SG_MUST_CHECK __attribute__((warn_unused_result))

#define SG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Zero n bytes at p where a secret was, in a way the compiler may not
 * leave out. glibc's explicit_bzero is its memset behind a barrier:
 * OPENSSL_cleanse stores 8 bytes at a time, and the request path wipes a
 * few KiB per request (the peeked head, the body, the answer). */
static inline void sg_wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}

#endif
