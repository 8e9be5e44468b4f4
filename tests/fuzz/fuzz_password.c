/* fuzz_password.c -- password.c: parsing stored hash strings.
 *
 * Input: a password, a newline, and a stored string
 * ("pbkdf2-sha256$<iterations>$<salt>$<hash>"), the latter copied
 * NUL-terminated into a buffer of exactly its size. A stored string may
 * name up to SG_PBKDF2_ITERATIONS_MAX (10 million) iterations, a few
 * seconds of work, so inputs naming more than MAX_ITERATIONS are skipped
 * to keep runs fast; the parser's bounds are checked by the unit tests.
 *
 * Checked: verify answers only with its documented codes and reports
 * needs_rehash only on a match; a password hashed here verifies against
 * its own string; and flipping the hash's last character makes it fail.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"

#define SCHEME         "pbkdf2-sha256$"
#define MAX_ITERATIONS 2000
#define CONFIGURED     1000 /* the pbkdf2_iterations of the test config */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The iterations a stored string names, as far as it can be read; 0 when
 * it names none. */
static long named_iterations(const char *stored)
{
    const char *p;
    long n;

    if (strncmp(stored, SCHEME, strlen(SCHEME)) != 0)
        return 0;
    p = stored + strlen(SCHEME);
    errno = 0;
    n = strtol(p, NULL, 10);
    return errno ? SG_PBKDF2_ITERATIONS_MAX : n;
}

/* Hash pw, verify it, then verify it against a damaged copy. */
static void round_trip(const char *pw, size_t len)
{
    char stored[SG_PASSWORD_HASH_SIZE];
    size_t n;
    bool rehash = true;

    if (sg_password_hash(pw, len, CONFIGURED, stored, sizeof(stored)) !=
        SG_OK) {
        if (len <= SG_PASSWORD_MAX_BYTES)
            abort();
        return;
    }
    if (sg_password_verify(pw, len, stored, CONFIGURED, &rehash) != SG_OK ||
        rehash)
        abort();
    n = strlen(stored);
    stored[n - 1] = stored[n - 1] == 'A' ? 'Q' : 'A';
    if (sg_password_verify(pw, len, stored, CONFIGURED, NULL) == SG_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *pw = (const char *)data;
    const char *nl = memchr(data, '\n', size);
    size_t pwlen = nl ? (size_t)(nl - pw) : size, slen;
    char *stored;
    bool rehash = true;
    int rc;

    if (!nl) {
        round_trip(pw, pwlen);
        return 0;
    }
    slen = size - pwlen - 1;
    if (!(stored = malloc(slen + 1)))
        abort();
    memcpy(stored, nl + 1, slen);
    stored[slen] = '\0';
    if (named_iterations(stored) <= MAX_ITERATIONS) {
        rc = sg_password_verify(pw, pwlen, stored, CONFIGURED, &rehash);
        if ((rc != SG_OK && rehash) ||
            (rc != SG_OK && rc != SG_EAUTH && rc != SG_EINVAL))
            abort();
    }
    free(stored);
    return 0;
}
