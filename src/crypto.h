/* crypto.h -- small cryptographic helpers on top of OpenSSL.
 *
 * Randomness comes from the OS CSPRNG (getrandom(2)); nothing here keeps
 * state. Every encoder writes a NUL-terminated string into a caller buffer
 * and fails with SG_ETOOBIG rather than truncating.
 */
#ifndef SG_CRYPTO_H
#define SG_CRYPTO_H

#include "sg.h"

/* Fill buf with len bytes from the OS CSPRNG. 0 or SG_EIO. */
SG_MUST_CHECK int sg_random_bytes(void *buf, size_t len);

/* Lowercase hex of len random bytes into out (needs 2*len+1 bytes): used
 * for session ids (32 bytes -> 64 hex chars) and request ids. */
SG_MUST_CHECK int sg_random_hex(char *out, size_t outlen, size_t len);

/* Lowercase hex encoding of in[0..len) into out (2*len+1 bytes). */
SG_MUST_CHECK int sg_hex_encode(const void *in, size_t len, char *out,
                                size_t outlen);

/* Lowercase hex, the one form of every id and hash here: c is a digit of
 * it; s[0..len) is all of it; hex[0..2n) decoded into n bytes of out
 * (false, out undefined, on any other character). */
static inline bool sg_is_hex_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool sg_is_hex(const char *s, size_t len);
bool sg_hex_decode(const char *hex, size_t n, unsigned char *out);

/* base64url without padding (RFC 4648 section 5) of in[0..len) into out.
 * Needs sg_base64url_len(len) + 1 bytes. */
size_t sg_base64url_len(size_t len);
SG_MUST_CHECK int sg_base64url_encode(const void *in, size_t len, char *out,
                                      size_t outlen);

/* Decode unpadded base64url from in[0..len) into out; *outlen gets the
 * decoded size. SG_EINVAL on any character outside the alphabet, on
 * padding, or on an impossible length; SG_ETOOBIG if out is too small. */
SG_MUST_CHECK int sg_base64url_decode(const char *in, size_t len,
                                      unsigned char *out, size_t outcap,
                                      size_t *outlen);

/* Constant-time comparison: true when a[0..alen) equals b[0..blen).
 * Time depends only on the lengths, never on the contents. */
bool sg_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* SHA-256 of in[0..len) as 64 lowercase hex chars into out[65]. Used to
 * store refresh tokens by hash only. */
SG_MUST_CHECK int sg_sha256_hex(const void *in, size_t len, char out[65]);

/* HMAC-SHA256 with a key prepared once (RFC 2104): new returns NULL when
 * out of memory; the MAC goes to out[32]; free wipes the key state. */
struct sg_hmac;
struct sg_hmac *sg_hmac_sha256_new(const void *key, size_t len);
void sg_hmac_sha256(const struct sg_hmac *h, const void *in, size_t len,
                    unsigned char out[32]);
void sg_hmac_free(struct sg_hmac *h);

#endif
