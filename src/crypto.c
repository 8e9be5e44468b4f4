/* crypto.c -- randomness, encodings, constant-time compare, SHA-256.
 *
 * Everything here is stateless and allocation-free: callers pass buffers
 * and every encoder refuses (SG_ETOOBIG) instead of truncating.
 *
 * Randomness comes straight from getrandom(2) so that a forked worker can
 * never share a userspace RNG state with its siblings.
 *
 * The base64url decoder is strict on purpose (RFC 4648 section 5, no
 * padding): any character outside the alphabet, any '=' and any length
 * that cannot come out of the encoder are rejected, and so are non-zero
 * unused bits in the last character (RFC 4648 section 3.5 lets a decoder
 * reject them). That makes every encoding canonical: a token or a refresh
 * token has exactly one spelling.
 *
 * SHA-256 and HMAC-SHA256 use OpenSSL's low-level SHA-256 (the same
 * assembly core as EVP, SHA-NI included), not EVP: every EVP call first
 * fetches an implementation from a provider, and the first one in a
 * process loads the provider set and reads openssl.cnf, which measured as
 * half of a whole CGI request (docs/PERFORMANCE.md). OpenSSL 3 marks
 * these functions deprecated but keeps them; this file opts out of the
 * warning for them alone.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "crypto.h"

static const char hex_digits[] = "0123456789abcdef";

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sg_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SG_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SG_OK;
}

int sg_hex_encode(const void *in, size_t len, char *out, size_t outlen)
{
    const unsigned char *p = in;

    if (len > (SIZE_MAX - 1) / 2 || outlen < 2 * len + 1)
        return SG_ETOOBIG;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 0x0f];
    }
    out[2 * len] = '\0';
    return SG_OK;
}

int sg_random_hex(char *out, size_t outlen, size_t len)
{
    unsigned char chunk[64];
    size_t done = 0;
    int rc;

    if (len > (SIZE_MAX - 1) / 2 || outlen < 2 * len + 1)
        return SG_ETOOBIG;
    /* Chunks keep this allocation-free for any len. */
    while (done < len) {
        size_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
        rc = sg_random_bytes(chunk, n);
        if (rc == SG_OK)
            rc = sg_hex_encode(chunk, n, out + 2 * done, outlen - 2 * done);
        if (rc != SG_OK) {
            sg_wipe(chunk, sizeof(chunk));
            return rc;
        }
        done += n;
    }
    sg_wipe(chunk, sizeof(chunk));
    out[2 * len] = '\0';
    return SG_OK;
}

size_t sg_base64url_len(size_t len)
{
    /* 4 characters per 3 bytes; a 1- or 2-byte tail takes 2 or 3. */
    return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

int sg_base64url_encode(const void *in, size_t len, char *out, size_t outlen)
{
    const unsigned char *p = in;
    size_t need, i, o = 0;

    if (len > (SIZE_MAX / 4) * 3 - 3)
        return SG_ETOOBIG;
    need = sg_base64url_len(len);
    if (outlen < need + 1)
        return SG_ETOOBIG;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        out[o++] = b64url_alphabet[p[i] >> 2];
        out[o++] = b64url_alphabet[(p[i] & 3) << 4];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
        out[o++] = b64url_alphabet[v >> 10];
        out[o++] = b64url_alphabet[(v >> 4) & 63];
        out[o++] = b64url_alphabet[(v & 15) << 2];
    }
    out[o] = '\0';
    return SG_OK;
}

/* The 6-bit value of a base64url character, or -1. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decode n (2..4) characters at in into 3, 1 or 2 bytes at out. The tail
 * forms must leave their unused low bits zero (canonical encoding). */
static int decode_quantum(const char *in, size_t n, unsigned char *out)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++) {
        int d = b64url_value((unsigned char)in[i]);
        if (d < 0)
            return SG_EINVAL;
        v = v << 6 | (uint32_t)d;
    }
    if (n == 4) {
        out[0] = (unsigned char)(v >> 16);
        out[1] = (unsigned char)(v >> 8);
        out[2] = (unsigned char)v;
    } else if (n == 3) {
        if (v & 3)
            return SG_EINVAL;
        out[0] = (unsigned char)(v >> 10);
        out[1] = (unsigned char)(v >> 2);
    } else {
        if (v & 15)
            return SG_EINVAL;
        out[0] = (unsigned char)(v >> 4);
    }
    return SG_OK;
}

int sg_base64url_decode(const char *in, size_t len, unsigned char *out,
                        size_t outcap, size_t *outlen)
{
    size_t need = len / 4 * 3, i, o = 0;
    int rc;

    /* One leftover character carries only 6 bits: no encoder emits it. */
    if (len % 4 == 1)
        return SG_EINVAL;
    if (len % 4)
        need += len % 4 - 1;
    for (i = 0; i < len; i++) {
        if (b64url_value((unsigned char)in[i]) < 0)
            return SG_EINVAL;
    }
    if (outcap < need)
        return SG_ETOOBIG;
    for (i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4;
        rc = decode_quantum(in + i, n, out + o);
        if (rc != SG_OK)
            return rc;
        o += n - 1;
    }
    *outlen = o;
    return SG_OK;
}

/* One more than the value of each lowercase hex digit, 0 for any other
 * byte: one load per character (a session id is checked on every
 * verify). */
static const unsigned char hex_value1[256] = {
    ['0'] = 1,   ['1'] = 2,   ['2'] = 3,   ['3'] = 4,   ['4'] = 5,
    ['5'] = 6,   ['6'] = 7,   ['7'] = 8,   ['8'] = 9,   ['9'] = 10,
    ['a'] = 11,  ['b'] = 12,  ['c'] = 13,  ['d'] = 14,  ['e'] = 15,
    ['f'] = 16,
};

bool sg_is_hex(const char *s, size_t len)
{
    bool ok = true;

    for (size_t i = 0; i < len; i++)
        ok &= hex_value1[(unsigned char)s[i]] != 0;
    return ok;
}

bool sg_hex_decode(const char *hex, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned hi = hex_value1[(unsigned char)hex[2 * i]];
        unsigned lo = hex_value1[(unsigned char)hex[2 * i + 1]];

        if (!hi || !lo)
            return false;
        out[i] = (unsigned char)((hi - 1) << 4 | (lo - 1));
    }
    return true;
}

/* Every byte is read whatever the contents; the lengths (a MAC's, a
 * hash's, a token's) are public. Eight bytes at a time (CRYPTO_memcmp
 * goes byte by byte: a cached token's compare was 3k instructions of a
 * verify). The differences are ORed together with no branch on them; the
 * empty asm makes the accumulator opaque so the compiler cannot end the
 * loop early. */
bool sg_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *p = a, *q = b;
    uint64_t d = 0;
    size_t i = 0;

    if (alen != blen)
        return false;
    for (; alen - i >= 8; i += 8) {
        uint64_t x, y;

        memcpy(&x, p + i, 8);
        memcpy(&y, q + i, 8);
        d |= x ^ y;
        __asm__("" : "+r"(d));
    }
    for (; i < alen; i++) {
        d |= (uint64_t)(p[i] ^ q[i]);
        __asm__("" : "+r"(d));
    }
    return d == 0;
}

int sg_sha256_hex(const void *in, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256(in, len, md);
    return sg_hex_encode(md, sizeof(md), out, 65);
}

/* RFC 2104 with the key's inner and outer pads hashed once, at load:
 * each MAC then costs two SHA-256 runs over the message and the digest,
 * and no allocation. */
struct sg_hmac {
    SHA256_CTX inner, outer;
};

struct sg_hmac *sg_hmac_sha256_new(const void *key, size_t len)
{
    unsigned char block[SHA256_CBLOCK], ipad[SHA256_CBLOCK];
    struct sg_hmac *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    memset(block, 0, sizeof(block));
    if (len > sizeof(block))
        SHA256(key, len, block); /* RFC 2104 section 2: hash long keys */
    else
        memcpy(block, key, len);
    for (size_t i = 0; i < sizeof(block); i++) {
        ipad[i] = block[i] ^ 0x36;
        block[i] ^= 0x5c;
    }
    SHA256_Init(&h->inner);
    SHA256_Update(&h->inner, ipad, sizeof(ipad));
    SHA256_Init(&h->outer);
    SHA256_Update(&h->outer, block, sizeof(block));
    sg_wipe(block, sizeof(block));
    sg_wipe(ipad, sizeof(ipad));
    return h;
}

void sg_hmac_sha256(const struct sg_hmac *h, const void *in, size_t len,
                    unsigned char out[32])
{
    SHA256_CTX c = h->inner;
    unsigned char inner[SHA256_DIGEST_LENGTH];

    SHA256_Update(&c, in, len);
    SHA256_Final(inner, &c);
    c = h->outer;
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);
    sg_wipe(&c, sizeof(c));
}

void sg_hmac_free(struct sg_hmac *h)
{
    if (h) {
        sg_wipe(h, sizeof(*h));
        free(h);
    }
}
