/* test_password.c -- password.c: policy, hash format, verify, rehash flag,
 * strict parsing of stored strings. Runs at 1000 iterations to stay fast.
 */
#include <stdlib.h>
#include <string.h>

#include "password.h"
#include "tap.h"

#define ITER 1000
#define PW   "correct horse battery staple"

static void test_policy(void)
{
    char big[SG_PASSWORD_MAX_BYTES + 1];

    memset(big, 'x', sizeof(big));
    TAP_IS_INT(sg_password_check_policy(big, 7, 0), SG_PASSWORD_TOO_SHORT,
               "7 bytes is too short by default");
    TAP_IS_INT(sg_password_check_policy(big, 8, 0), SG_PASSWORD_OK,
               "8 bytes is fine");
    TAP_IS_INT(sg_password_check_policy(big, 1024, 0), SG_PASSWORD_OK,
               "1024 bytes is fine");
    TAP_IS_INT(sg_password_check_policy(big, 1025, 0), SG_PASSWORD_TOO_LONG,
               "1025 bytes is too long");
    TAP_IS_INT(sg_password_check_policy(big, 11, 12), SG_PASSWORD_TOO_SHORT,
               "configured minimum 12 refuses 11");
    TAP_IS_INT(sg_password_check_policy(big, 12, 12), SG_PASSWORD_OK,
               "configured minimum 12 accepts 12");
    TAP_IS_INT(sg_password_check_policy("abcd\0efgh", 9, 0),
               SG_PASSWORD_HAS_NUL, "embedded NUL refused");
    TAP_OK(strcmp(sg_password_policy_str(SG_PASSWORD_TOO_SHORT),
                  sg_password_policy_str(SG_PASSWORD_TOO_LONG)) != 0,
           "distinct reasons for too short and too long");
}

static void test_hash_format(void)
{
    char out[SG_PASSWORD_HASH_SIZE], small[40];
    char *copy;

    TAP_IS_INT(sg_password_hash(PW, strlen(PW), ITER, out, sizeof(out)), SG_OK,
               "hash");
    TAP_OK(strncmp(out, "pbkdf2-sha256$1000$", 19) == 0,
           "stored string names scheme and iterations");
    /* 19 + 22 salt + '$' + 43 key */
    TAP_IS_INT(strlen(out), 19 + 22 + 1 + 43, "stored string length");
    TAP_IS_INT(sg_password_hash(PW, strlen(PW), ITER, small, sizeof(small)),
               SG_ETOOBIG, "hash refuses a small buffer");
    TAP_IS_INT(sg_password_hash(PW, strlen(PW), 999, out, sizeof(out)),
               SG_EINVAL, "hash refuses iterations under the bound");
    TAP_IS_INT(sg_password_hash(PW, strlen(PW), 10000001, out, sizeof(out)),
               SG_EINVAL, "hash refuses iterations over the bound");

    copy = sg_password_hash_new(PW, strlen(PW), ITER);
    TAP_OK(copy != NULL && strncmp(copy, "pbkdf2-sha256$1000$", 19) == 0,
           "hash_new");
    TAP_IS_INT(sg_password_hash(PW, strlen(PW), ITER, out, sizeof(out)), SG_OK,
               "sg_password_hash");
    TAP_OK(copy && strcmp(copy, out) != 0, "two hashes use different salts");
    free(copy);
}

static void test_verify(void)
{
    char out[SG_PASSWORD_HASH_SIZE];
    bool rehash = true;

    TAP_IS_INT(sg_password_hash(PW, strlen(PW), ITER, out, sizeof(out)), SG_OK,
               "sg_password_hash");
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), out, ITER, &rehash), SG_OK,
               "right password verifies");
    TAP_OK(!rehash, "same iterations: no rehash");
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), out, 2000, &rehash), SG_OK,
               "verifies under other configured iterations");
    TAP_OK(rehash, "configured iterations differ: needs rehash");
    TAP_IS_INT(sg_password_verify("wrong", 5, out, 2000, &rehash), SG_EAUTH,
               "wrong password is SG_EAUTH");
    TAP_OK(!rehash, "no rehash on failure");
    TAP_IS_INT(sg_password_verify(PW, strlen(PW) - 1, out, ITER, NULL),
               SG_EAUTH, "prefix of the password is SG_EAUTH");
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), out, ITER, NULL), SG_OK,
               "needs_rehash may be NULL");

    char big[SG_PASSWORD_MAX_BYTES + 1];
    memset(big, 'x', sizeof(big));
    TAP_IS_INT(
        sg_password_hash(big, SG_PASSWORD_MAX_BYTES, ITER, out, sizeof(out)),
        SG_OK, "sg_password_hash");
    TAP_IS_INT(sg_password_verify(big, SG_PASSWORD_MAX_BYTES, out, ITER, NULL),
               SG_OK, "1024-byte password verifies");
    TAP_IS_INT(sg_password_verify(big, sizeof(big), out, ITER, NULL), SG_EAUTH,
               "1025-byte password refused");
}

/* Flip one character of field n (0-based, '$'-separated) of s. */
static void tamper(char *s, int field)
{
    char *p = s;

    for (int i = 0; i < field; i++)
        p = strchr(p, '$') + 1;
    p[1] = p[1] == 'A' ? 'B' : 'A';
}

static void test_tampered(void)
{
    char out[SG_PASSWORD_HASH_SIZE], t[SG_PASSWORD_HASH_SIZE];

    TAP_IS_INT(sg_password_hash(PW, strlen(PW), ITER, out, sizeof(out)), SG_OK,
               "sg_password_hash");
    memcpy(t, out, sizeof(t));
    tamper(t, 2);
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), t, ITER, NULL), SG_EAUTH,
               "tampered salt fails");
    memcpy(t, out, sizeof(t));
    tamper(t, 3);
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), t, ITER, NULL), SG_EAUTH,
               "tampered hash fails");
    memcpy(t, out, sizeof(t));
    t[17] = '1'; /* 1000 -> 1001 */
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), t, ITER, NULL), SG_EAUTH,
               "tampered iterations fail");
}

static void test_unparsable(void)
{
    static const char *bad[] = {
        "",
        "pbkdf2-sha256$",
        "pbkdf2-sha1$1000$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$999$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$10000001$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$99999999999999999999$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$01000$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$+1000$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$1000x$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2Fsd$" /* 15-byte salt */
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
        "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dA", /* 31-byte key */
        "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE$", /* trailing $ */
        "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2FsdA$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE=", /* padding */
        "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2FsdA",    /* no key */
        "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2FsdA$$"
        "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
    };

    for (size_t i = 0; i < SG_ARRAY_LEN(bad); i++)
        TAP_IS_INT(sg_password_verify(PW, strlen(PW), bad[i], ITER, NULL),
                   SG_EINVAL, "unparsable stored string is SG_EINVAL");
    TAP_IS_INT(sg_password_verify(PW, strlen(PW), NULL, ITER, NULL), SG_EINVAL,
               "NULL stored string is SG_EINVAL");
    TAP_IS_INT(sg_password_verify(PW, strlen(PW),
                                  "pbkdf2-sha256$1000$c2Vzc2lvbmdhdGUtc2FsdA$"
                                  "ZHVtbXkta2V5LXRoYXQtbWF0Y2hlcy1uby1pbnB1dCE",
                                  ITER, NULL),
               SG_EAUTH, "the well-formed control string parses");
}

static void test_dummy(void)
{
    TAP_IS_INT(sg_password_dummy_verify(PW, strlen(PW), ITER), SG_EAUTH,
               "dummy verify fails like a wrong password");
    TAP_IS_INT(sg_password_dummy_verify("", 0, ITER), SG_EAUTH,
               "dummy verify of an empty password");
}

int main(void)
{
    test_policy();
    test_hash_format();
    test_verify();
    test_tampered();
    test_unparsable();
    test_dummy();
    return tap_done();
}
