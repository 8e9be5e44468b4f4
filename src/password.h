/* password.h -- password policy, hashing and verification.
 *
 * Passwords are stored as a self-describing string so that the cost can
 * be raised later without a migration:
 *
 *     pbkdf2-sha256$<iterations>$<salt>$<hash>
 *
 * salt: 16 random bytes, hash: the 32-byte PBKDF2-HMAC-SHA256 key, both
 * unpadded base64url. A verify that succeeds against a string with other
 * iterations than the configured ones says so (needs_rehash), and sign-in
 * stores a fresh hash.
 *
 * Passwords are bytes with an explicit length; nothing here logs them or
 * keeps a copy.
 */
#ifndef SG_PASSWORD_H
#define SG_PASSWORD_H

#include "sg.h"

#define SG_PASSWORD_MAX_BYTES    1024 /* API.md: 8 to 1024 bytes */
#define SG_PASSWORD_MIN_DEFAULT  8    /* when password_min_length is not set */
#define SG_PBKDF2_ITERATIONS_MIN 1000
#define SG_PBKDF2_ITERATIONS_MAX 10000000 /* bound a corrupted record */

/* A stored hash string needs at most this many bytes, NUL included. */
#define SG_PASSWORD_HASH_SIZE 128

enum sg_password_policy {
    SG_PASSWORD_OK = 0,
    SG_PASSWORD_TOO_SHORT, /* fewer than the configured minimum */
    SG_PASSWORD_TOO_LONG,  /* over SG_PASSWORD_MAX_BYTES */
    SG_PASSWORD_HAS_NUL,   /* contains a NUL byte */
};

/* Check pw[0..len) against the policy: at least min_len bytes (min_len <= 0
 * means SG_PASSWORD_MIN_DEFAULT), at most SG_PASSWORD_MAX_BYTES, no NUL.
 * Length is counted in bytes, not characters. */
enum sg_password_policy sg_password_check_policy(const char *pw, size_t len,
                                                 int min_len);

/* A short English reason for a policy result, for the WEAK_PASSWORD
 * message. Static storage; never NULL. */
const char *sg_password_policy_str(enum sg_password_policy result);

/* Hash pw[0..len) with a fresh random salt and the given iterations into
 * out (outlen >= SG_PASSWORD_HASH_SIZE is always enough).
 * 0 on success; SG_EINVAL if iterations are outside
 * SG_PBKDF2_ITERATIONS_MIN..MAX or len is over SG_PASSWORD_MAX_BYTES;
 * SG_ETOOBIG if out is too small; SG_EIO/SG_ECRYPTO if randomness or
 * OpenSSL failed. The policy is not checked here. */
SG_MUST_CHECK int sg_password_hash(const char *pw, size_t len, int iterations,
                                   char *out, size_t outlen);

/* The same into a new string the caller frees with free(). NULL on any of
 * the failures above (or out of memory). */
char *sg_password_hash_new(const char *pw, size_t len, int iterations);

/* Verify pw[0..len) against a stored string.
 * 0 when it matches; SG_EAUTH when it does not (also for a password over
 * SG_PASSWORD_MAX_BYTES, which is refused before hashing); SG_EINVAL when
 * stored is not a well-formed hash string or its iterations are outside
 * the accepted bounds; SG_ECRYPTO if OpenSSL failed.
 * On a match *needs_rehash (may be NULL) is set to true when the stored
 * iterations differ from `iterations`, the configured count; it is false
 * in every other case. */
SG_MUST_CHECK int sg_password_verify(const char *pw, size_t len,
                                     const char *stored, int iterations,
                                     bool *needs_rehash);

/* Do the work of a failed sg_password_verify at the configured iterations
 * and return SG_EAUTH (or SG_EINVAL/SG_ECRYPTO as verify would), so that
 * an unknown email costs the same time as a wrong password. */
int sg_password_dummy_verify(const char *pw, size_t len, int iterations);

#endif
