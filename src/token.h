/* token.h -- access tokens: JWTs signed and verified with libjwt.
 *
 * One algorithm is configured (jwt_algorithm: HS256, RS256 or ES256) and
 * it is the only one accepted; the token's own "alg" header never chooses.
 * Keys are read and parsed once per worker (sg_token_keys_load) and are
 * read-only afterwards. For RS256/ES256 the current key signs, and it and
 * every key in jwt_public_keys verify, chosen by the token's "kid", so
 * keys can be rotated without signing anyone out.
 *
 * Claims issued: iss, aud, sub (user id), sid (session id), jti (128
 * random bits), iat = nbf = now, exp = now + access_token_ttl, roles (JSON
 * array of strings). Verification checks all of them; revocation (jti)
 * and session liveness (sid) are the store's business, not this file's.
 *
 * Time is always the caller's `now` (Unix seconds) so tests fix the clock.
 */
#ifndef SG_TOKEN_H
#define SG_TOKEN_H

#include "config.h"
#include "sg.h"

#define SG_TOKEN_MAX_LEN   8192 /* longer tokens are refused unparsed */
#define SG_TOKEN_KID_MAX   64   /* kid: 1..64 of [A-Za-z0-9._-] */
#define SG_TOKEN_SUB_MAX   128  /* sub: 1..128 of [A-Za-z0-9._:@+-] */
#define SG_TOKEN_SID_LEN   64   /* sid: exactly 64 of [0-9a-f] */
#define SG_TOKEN_JTI_MAX   64   /* jti: 22..64 base64url chars (>= 128 bits) */
#define SG_TOKEN_ROLE_MAX  64   /* one role: 1..64 of [A-Za-z0-9._:-] */
#define SG_TOKEN_ROLES_MAX 255  /* all roles, comma separated */

/* The claims of a verified (or just issued) token. Fixed buffers: filling
 * this allocates nothing, and every field is NUL-terminated and already
 * checked against the limits above, so it is safe in headers and logs
 * (sub, sid) as is. */
struct sg_claims {
    char sub[SG_TOKEN_SUB_MAX + 1];
    char sid[SG_TOKEN_SID_LEN + 1];
    char jti[SG_TOKEN_JTI_MAX + 1];
    int64_t iat, nbf, exp;
    char roles[SG_TOKEN_ROLES_MAX + 1]; /* "admin,user"; "" for none */
};

/* Signing and verification keys of one worker. Opaque. */
struct sg_token_keys;

/* Read and check the keys cfg names: the HS256 secret (jwt_secret_file, at
 * least 32 bytes after trailing newlines are stripped), or the RS256/ES256
 * private key (jwt_private_key_file, unencrypted PEM: RSA of 2048 to 4096
 * bits, or EC P-256) with its jwt_kid, plus the public keys of
 * jwt_public_keys ("kid=path, kid=path"), which must be of the same kind.
 * On success *out owns everything (free with sg_token_keys_free) and the
 * JWKS document is built. On failure returns SG_EINVAL, SG_EIO, SG_ENOMEM
 * or SG_ECRYPTO and writes a one-line reason naming the config key and
 * file to err; the reason never contains key material. */
SG_MUST_CHECK int sg_token_keys_load(const struct sg_config *cfg,
                                     struct sg_token_keys **out, char *err,
                                     size_t errlen);

/* Wipe and free keys. NULL is fine. */
void sg_token_keys_free(struct sg_token_keys *k);

/* Issue an access token for user sub in session sid with the roles in
 * roles_csv ("admin,user"; NULL or "" for none), valid from now for
 * cfg->access_token_ttl seconds. k must come from the same cfg.
 * On success *token_out is a new string the caller frees with free(), and
 * claims_out (may be NULL) gets the claims issued. SG_EINVAL if sub, sid
 * or a role breaks the limits above (so verify would refuse the token);
 * SG_EIO if no randomness; SG_ENOMEM or SG_ECRYPTO if libjwt failed. */
SG_MUST_CHECK int sg_token_issue(const struct sg_token_keys *k,
                                 const struct sg_config *cfg, const char *sub,
                                 const char *sid, const char *roles_csv,
                                 int64_t now, char **token_out,
                                 struct sg_claims *claims_out);

/* Verify token[0..len) (need not be NUL-terminated) at time now and fill
 * *out. 0 when the token is good; SG_EINVAL when it is not a JWT at all
 * (over SG_TOKEN_MAX_LEN, not three non-empty base64url segments, a header
 * over 1 KiB or not a JSON object); SG_EAUTH when it is one but is refused
 * (algorithm, key, signature, any claim); SG_ENOMEM. *out is only
 * meaningful on 0. Nothing about the token is logged. */
SG_MUST_CHECK int sg_token_verify(const struct sg_token_keys *k,
                                  const struct sg_config *cfg,
                                  const char *token, size_t len, int64_t now,
                                  struct sg_claims *out);

/* True when role is one of the comma separated claims->roles. */
bool sg_token_has_role(const struct sg_claims *claims, const char *role);

/* The JWKS document (RFC 7517) of the verification keys as a new string
 * the caller frees with free(): {"keys":[...]} with the current key first,
 * then every jwt_public_keys entry; {"keys":[]} for HS256.
 * 0 or SG_ENOMEM. */
SG_MUST_CHECK int sg_token_jwks(const struct sg_token_keys *k, char **json_out);

#endif
