/* token_impl.h -- what token.c and token_keys.c share; nothing else
 * includes it (nor <jwt.h>). */
#ifndef SG_TOKEN_IMPL_H
#define SG_TOKEN_IMPL_H

#include <jwt.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "token.h"

/* Key files: the secret must be at least as long as the hash output (RFC
 * 7518 3.2); anything larger than these caps is a mistake, not a key. */
#define SECRET_MIN   32
#define SECRET_MAX   4096
#define PEM_MAX      (64 * 1024)
#define RSA_BITS_MAX 4096 /* bounds the signature buffer */

/* A key that verifies: the current one or a jwt_public_keys entry. */
struct verify_key {
    char kid[SG_TOKEN_KID_MAX + 1];
    EVP_PKEY *pkey; /* public part only */
};

struct sg_token_keys {
    jwt_alg_t alg;
    char kid[SG_TOKEN_KID_MAX + 1]; /* "" when none is configured */
    unsigned char *sign_key;        /* HS256 secret or PKCS#8 PEM */
    struct sg_hmac *hmac;           /* HS256: the secret, prepared */
    int sign_key_len;
    struct verify_key *verify; /* asymmetric only; [0] is the current key */
    size_t nverify;
    char *jwks;
};

/* True when s[0..len) is a well-formed kid: 1..SG_TOKEN_KID_MAX of
 * [A-Za-z0-9._-]. */
bool sg_token_kid_ok(const char *s, size_t len);

#endif
