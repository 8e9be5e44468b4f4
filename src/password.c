/* password.c -- PBKDF2-HMAC-SHA256 password hashes.
 *
 * The stored string carries its own parameters (see password.h); parsing
 * it is as strict as parsing client input, because a damaged record must
 * fail rather than pin a worker: the iteration count is bounded and the
 * salt and hash must decode to exactly their sizes.
 *
 * Timing: the derived key is compared with sg_ct_equal, and an unknown
 * email runs sg_password_dummy_verify, which is a real verify against a
 * fixed record at the configured cost, so both paths do the same work.
 * Passwords longer than SG_PASSWORD_MAX_BYTES are refused before any
 * hashing in both paths alike, so the cut-off reveals nothing about the
 * account.
 *
 * Derived keys are wiped (sg_wipe) before returning. The
 * password itself is never copied.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "password.h"

#define SCHEME     "pbkdf2-sha256$"
#define SALT_BYTES 16
#define KEY_BYTES  32

/* A parsed stored hash. */
struct stored_hash {
    int iterations;
    unsigned char salt[SALT_BYTES];
    unsigned char key[KEY_BYTES];
};

enum sg_password_policy sg_password_check_policy(const char *pw, size_t len,
                                                 int min_len)
{
    size_t min = min_len > 0 ? (size_t)min_len : SG_PASSWORD_MIN_DEFAULT;

    if (len > SG_PASSWORD_MAX_BYTES)
        return SG_PASSWORD_TOO_LONG;
    if (len < min)
        return SG_PASSWORD_TOO_SHORT;
    if (memchr(pw, '\0', len) != NULL)
        return SG_PASSWORD_HAS_NUL;
    return SG_PASSWORD_OK;
}

const char *sg_password_policy_str(enum sg_password_policy result)
{
    switch (result) {
    case SG_PASSWORD_OK:
        return "password accepted";
    case SG_PASSWORD_TOO_SHORT:
        return "password is too short";
    case SG_PASSWORD_TOO_LONG:
        return "password is longer than 1024 bytes";
    case SG_PASSWORD_HAS_NUL:
        return "password contains a NUL byte";
    }
    return "password rejected";
}

static bool iterations_ok(long iterations)
{
    return iterations >= SG_PBKDF2_ITERATIONS_MIN &&
           iterations <= SG_PBKDF2_ITERATIONS_MAX;
}

static int derive(const char *pw, size_t len, const unsigned char *salt,
                  int iterations, unsigned char key[KEY_BYTES])
{
    /* len <= SG_PASSWORD_MAX_BYTES was checked by every caller. */
    if (PKCS5_PBKDF2_HMAC(pw, (int)len, salt, SALT_BYTES, iterations,
                          EVP_sha256(), KEY_BYTES, key) != 1)
        return SG_ECRYPTO;
    return SG_OK;
}

int sg_password_hash(const char *pw, size_t len, int iterations, char *out,
                     size_t outlen)
{
    unsigned char salt[SALT_BYTES], key[KEY_BYTES];
    char salt64[32], key64[48];
    int rc, n;

    if (!iterations_ok(iterations) || len > SG_PASSWORD_MAX_BYTES)
        return SG_EINVAL;
    rc = sg_random_bytes(salt, sizeof(salt));
    if (rc != SG_OK)
        return rc;
    rc = derive(pw, len, salt, iterations, key);
    if (rc == SG_OK)
        rc = sg_base64url_encode(salt, sizeof(salt), salt64, sizeof(salt64));
    if (rc == SG_OK)
        rc = sg_base64url_encode(key, sizeof(key), key64, sizeof(key64));
    if (rc == SG_OK) {
        n = snprintf(out, outlen, SCHEME "%d$%s$%s", iterations, salt64, key64);
        if (n < 0 || (size_t)n >= outlen)
            rc = SG_ETOOBIG;
    }
    sg_wipe(key, sizeof(key));
    sg_wipe(key64, sizeof(key64));
    return rc;
}

char *sg_password_hash_new(const char *pw, size_t len, int iterations)
{
    char buf[SG_PASSWORD_HASH_SIZE];
    char *copy;

    if (sg_password_hash(pw, len, iterations, buf, sizeof(buf)) != SG_OK)
        return NULL;
    copy = strdup(buf);
    sg_wipe(buf, sizeof(buf));
    return copy;
}

/* Decode exactly size bytes of base64url from s[0..len). */
static int decode_exact(const char *s, size_t len, unsigned char *out,
                        size_t size)
{
    size_t n = 0;

    if (sg_base64url_decode(s, len, out, size, &n) != SG_OK || n != size)
        return SG_EINVAL;
    return SG_OK;
}

/* Parse "pbkdf2-sha256$<iterations>$<salt>$<hash>". Iterations are plain
 * decimal digits without a leading zero; nothing may follow the hash. */
static int parse_stored(const char *stored, struct stored_hash *h)
{
    const char *p, *salt, *key;
    char *end;
    long iterations;

    if (stored == NULL || strncmp(stored, SCHEME, strlen(SCHEME)) != 0)
        return SG_EINVAL;
    p = stored + strlen(SCHEME);
    if (*p < '1' || *p > '9')
        return SG_EINVAL;
    errno = 0;
    iterations = strtol(p, &end, 10);
    if (errno != 0 || *end != '$' || !iterations_ok(iterations))
        return SG_EINVAL;
    h->iterations = (int)iterations;
    salt = end + 1;
    key = strchr(salt, '$');
    if (key == NULL)
        return SG_EINVAL;
    if (decode_exact(salt, (size_t)(key - salt), h->salt, SALT_BYTES) != 0)
        return SG_EINVAL;
    key++;
    /* The decoder rejects '$' and anything else outside the alphabet. */
    return decode_exact(key, strlen(key), h->key, KEY_BYTES);
}

int sg_password_verify(const char *pw, size_t len, const char *stored,
                       int iterations, bool *needs_rehash)
{
    struct stored_hash h;
    unsigned char key[KEY_BYTES];
    int rc, stored_iterations;

    if (needs_rehash)
        *needs_rehash = false;
    rc = parse_stored(stored, &h);
    if (rc != SG_OK)
        return rc;
    if (len > SG_PASSWORD_MAX_BYTES)
        return SG_EAUTH;
    stored_iterations = h.iterations;
    rc = derive(pw, len, h.salt, h.iterations, key);
    if (rc == SG_OK)
        rc = sg_ct_equal(key, sizeof(key), h.key, sizeof(h.key)) ? SG_OK
                                                                 : SG_EAUTH;
    sg_wipe(key, sizeof(key));
    sg_wipe(&h, sizeof(h));
    if (rc == SG_OK && needs_rehash)
        *needs_rehash = stored_iterations != iterations;
    return rc;
}

int sg_password_dummy_verify(const char *pw, size_t len, int iterations)
{
    /* A well-formed record no password is known to match (salt and key are
     * arbitrary constants), verified at the configured cost. */
    static const char salt_key[] =
        "$c2Vzc2lvbmdhdGUtc2FsdA$" /* "sessiongate-salt" */
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE";
    char stored[SG_PASSWORD_HASH_SIZE];
    int rc, n;

    n = snprintf(stored, sizeof(stored), SCHEME "%d%s", iterations, salt_key);
    if (n < 0 || (size_t)n >= sizeof(stored))
        return SG_EINVAL;
    rc = sg_password_verify(pw, len, stored, iterations, NULL);
    return rc == SG_OK ? SG_EAUTH : rc;
}
